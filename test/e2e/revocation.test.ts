// Revocation on a real three-member cluster: the component's CRLs, written as rendered, refuse a
// revoked client certificate on every member (gRPC with etcdctl, and HTTPS) while an unrevoked one
// from the same CA is served; a new CRL written on the running cluster (atomically, as node sync
// writes it) takes effect without a restart, because etcd reads the file for every new connection
// (checkCRL in pkg/transport/listener_tls.go); and the peer CRL refuses a revoked peer certificate
// on 2380 while the members stay healthy.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import { issueLeaf, Issued } from "../../agent/issue";
import { installedEtcd } from "../../agent/etcdBinary";
import { ClientArgs, RevokedCertificateArgs, SecureEtcdClusterArgs } from "../../src";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { eventually, httpsGet, httpsRequest, refusal } from "../../testing/probes";
import { renderCluster, RenderedCluster } from "../../testing/render";
import { startNetnsCluster } from "./localCluster";
import { HOST_IP, memberIp } from "./netns";

const serialOf = (pem: string) => BigInt(`0x${new crypto.X509Certificate(pem).serialNumber}`).toString(16);
const revoke = (pem: string, revokedAt: string): RevokedCertificateArgs => ({ serialNumber: serialOf(pem), revokedAt });

interface Creds {
    cert: string;
    key: string;
    ca: string;
    certPem: string;
    keyPem: string;
    caPem: string;
}

interface Ran {
    code: number;
    stderr: string;
}

describe("revocation: CRLs on a real three-member cluster", function () {
    this.timeout(180_000);
    let cluster: LocalEtcdCluster;
    let dir: string;
    /** The last render, as the stack's state after its `pulumi up`. */
    let latest: RenderedCluster;
    const etcd = installedEtcd();
    const base: SecureEtcdClusterArgs = {
        members: [0, 1, 2].map((i) => ({ name: `etcd-${i}`, ip: memberIp(i) })),
        vpcId: "vpc-0000000000000000a",
        etcdVersion: etcd.version,
    };
    const clients: ClientArgs[] = [{ name: "alice" }, { name: "bob" }];
    /** alice's first certificate, revoked from the start. */
    let aliceGen1: Creds;

    /** Credentials of a client as files, for etcdctl. */
    function saved(name: string, c: { certPem: string; keyPem: string; caCertPem: string }): Creds {
        const at = (ext: string) => path.join(dir, `${name}.${ext}`);
        fs.writeFileSync(at("crt"), c.certPem);
        fs.writeFileSync(at("key"), c.keyPem, { mode: 0o600 });
        fs.writeFileSync(at("ca"), c.caCertPem);
        return {
            cert: at("crt"),
            key: at("key"),
            ca: at("ca"),
            certPem: c.certPem,
            keyPem: c.keyPem,
            caPem: c.caCertPem,
        };
    }

    /** `etcdctl get` over gRPC against one member with a client's credentials. */
    function etcdctlGet(ip: string, creds: Creds): Promise<Ran> {
        const args = [
            `--endpoints=https://${ip}:2379`,
            `--cacert=${creds.ca}`,
            `--cert=${creds.cert}`,
            `--key=${creds.key}`,
            "--dial-timeout=3s",
            "--command-timeout=5s",
            "get",
            "/revocation-probe",
        ];
        return new Promise((resolve) => {
            execFile("etcdctl", args, { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 30_000 }, (e, _o, stderr) =>
                resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stderr }),
            );
        });
    }

    /** Served on every member over gRPC and HTTPS; waits out a leader election, never a refusal. */
    async function servedEverywhere(who: string, creds: Creds): Promise<void> {
        for (const m of cluster.members) {
            await eventually(`${who} is not served by ${m.name}`, async (seen) => {
                const ran = await etcdctlGet(m.ip, creds);
                seen.last = ran.stderr;
                return ran.code === 0 ? true : undefined;
            });
            const https = await httpsGet(`https://${m.ip}:2379/version`, {
                certPem: creds.certPem,
                keyPem: creds.keyPem,
                ca: creds.caPem,
            });
            assert.equal(https.ok, true, `${who} on ${m.name} (HTTPS): ${JSON.stringify(https)}`);
        }
    }

    /** Refused by every member: etcdctl cannot connect, and HTTPS gets no answer. */
    async function refusedEverywhere(who: string, creds: Creds): Promise<string[]> {
        const seen: string[] = [];
        for (const m of cluster.members) {
            const ran = await etcdctlGet(m.ip, creds);
            assert.notEqual(ran.code, 0, `${who} was served by ${m.name} over gRPC`);
            const https = await httpsGet(`https://${m.ip}:2379/version`, {
                certPem: creds.certPem,
                keyPem: creds.keyPem,
                ca: creds.caPem,
            });
            assert.equal(https.ok, false, `${who} on ${m.name} (HTTPS): ${JSON.stringify(https)}`);
            assert.ok(https.error, `${who} on ${m.name}: no HTTP answer at all: ${JSON.stringify(https)}`);
            seen.push(`${m.name}: ${refusal(https)}`);
            // etcd's own reason: its CRL check, not anything else about the certificate.
            // Go prints the serial's bytes (%x): an even number of digits.
            const hex = serialOf(creds.certPem);
            const serial = hex.length % 2 === 1 ? `0${hex}` : hex;
            await eventually(`${m.name} logged no revocation of ${serial}`, (last) => {
                last.last = cluster.logTail(m, 20_000);
                return Promise.resolve(last.last.includes(`certificate serial ${serial} revoked`) ? true : undefined);
            });
        }
        return seen;
    }

    /** Writes a member's file as node sync does: a temporary file in the same directory, renamed over. */
    function syncFile(member: string, nodePath: string, content: Buffer): void {
        const target = cluster.onHost(member, nodePath);
        const tmp = path.join(path.dirname(target), `.sync-${process.pid}`);
        fs.writeFileSync(tmp, content, { mode: 0o644 });
        fs.renameSync(tmp, target);
    }

    /** Renders the next `pulumi up` and delivers both CRLs to every running member. */
    async function upAndSync(args: Partial<SecureEtcdClusterArgs>): Promise<void> {
        latest = await renderCluster("e2e", { ...base, ...args }, { previous: latest.mocks });
        for (const m of cluster.members) {
            for (const p of [NODE_PATHS.clientCrl, NODE_PATHS.peerCrl]) {
                const file = latest.nodeFiles[m.name].find((f) => f.path === p)!;
                assert.equal(file.encoding, "base64");
                syncFile(m.name, p, Buffer.from(file.content, "base64"));
            }
        }
    }

    /** GET /version through `agent`; whether it answered 200 and whether it reused an open connection. */
    function getOn(agent: https.Agent, ip: string): Promise<{ ok: boolean; reused: boolean; error?: string }> {
        return new Promise((resolve) => {
            const req = https.get(`https://${ip}:2379/version`, { agent, timeout: 5000 }, (res) => {
                res.resume();
                res.on("end", () => resolve({ ok: res.statusCode === 200, reused: req.reusedSocket }));
            });
            req.on("error", (e) => resolve({ ok: false, reused: req.reusedSocket, error: e.message }));
            req.on("timeout", () => req.destroy(new Error("timeout")));
        });
    }

    const pids = () => cluster.members.map((m) => `${m.name}:${m.process.pid}:${m.exitReason ?? "running"}`);

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-revocation-"));
        // A first `pulumi up` to learn alice's serial; the cluster starts from the second, which revokes it.
        const first = await renderCluster("e2e", { ...base, clients });
        const aliceRevoked = revoke(first.clientCredentials.alice.certPem, "2026-11-30T10:00:00Z");
        cluster = await startNetnsCluster({ clients, revokedCertificates: [aliceRevoked] }, first.mocks);
        latest = cluster.rendered;
        assert.equal(latest.clientCredentials.alice.certPem, first.clientCredentials.alice.certPem, "same certificate");
    });

    after(async () => {
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("renders both CRL flags and files; every member starts and stays healthy with them", () => {
        for (const m of cluster.members) {
            assert.ok(
                m.command.some((f) => f.startsWith("--client-crl-file=")),
                m.name,
            );
            assert.ok(
                m.command.some((f) => f.startsWith("--peer-crl-file=")),
                m.name,
            );
            const der = fs.readFileSync(cluster.onHost(m.name, NODE_PATHS.peerCrl));
            assert.equal(der[0], 0x30, "DER");
        }
    });

    it("refuses the revoked client on every member and serves an unrevoked one from the same CA", async () => {
        aliceGen1 = saved("alice", latest.clientCredentials.alice);
        const bob = saved("bob", latest.clientCredentials.bob);
        await servedEverywhere("bob", bob);
        const seen = await refusedEverywhere("alice (revoked)", aliceGen1);
        console.log(`      alice: ${seen.join("; ")}`);
    });

    it("a CRL delivered to the running members refuses the next client without a restart; the re-issued one is served", async () => {
        const before = pids();
        const bobPem = latest.clientCredentials.bob.certPem;
        // A connection bob opened before the revocation, kept alive across it.
        const bobCreds = latest.clientCredentials.bob;
        const open = new https.Agent({
            keepAlive: true,
            maxSockets: 1,
            cert: bobCreds.certPem,
            key: bobCreds.keyPem,
            ca: bobCreds.caCertPem,
        });
        const m0 = cluster.members[0];
        assert.equal((await getOn(open, m0.ip)).ok, true, "bob's kept-alive connection, before");
        // The runbook: revoke bob too, and re-issue alice (generation 2) from the same CA.
        await upAndSync({
            clients: [{ name: "alice", generation: 2 }, { name: "bob" }],
            revokedCertificates: [
                revoke(aliceGen1.certPem, "2026-11-30T10:00:00Z"),
                revoke(bobPem, "2026-11-30T11:00:00Z"),
            ],
        });
        assert.notEqual(latest.clientCredentials.alice.certPem, aliceGen1.certPem, "alice has a new certificate");
        assert.equal(latest.clientCredentials.bob.certPem, bobPem, "bob's certificate is unchanged");
        const seen = await refusedEverywhere(
            "bob (revoked on the running cluster)",
            saved("bob", latest.clientCredentials.bob),
        );
        console.log(`      bob: ${seen.join("; ")}`);
        await servedEverywhere("alice (generation 2)", saved("alice2", latest.clientCredentials.alice));
        await refusedEverywhere("alice (generation 1)", aliceGen1);
        assert.deepEqual(pids(), before, "no member restarted");
        // etcd checks the CRL when it accepts a connection, never again on it: one already open is
        // still served (docs/runbooks.md: restart the members to cut such connections).
        const kept = await getOn(open, m0.ip);
        open.destroy();
        assert.deepEqual(kept, { ok: true, reused: true }, "a connection opened before the revocation");
    });

    it("the peer CRL refuses a revoked peer certificate on 2380; the members stay healthy", async () => {
        const peerCa: Issued = latest.peerCa;
        // A member's name and this host's address: admitted on 2380 until revoked.
        const intruder = await issueLeaf({
            ca: peerCa,
            commonName: "etcd-0",
            ipAddresses: [HOST_IP],
            serverAuth: true,
        });
        const onPeerPort = (ip: string) =>
            httpsRequest(`https://${ip}:2380/members`, { ...intruder, ca: peerCa.certPem });
        for (const m of cluster.members) {
            const admitted = await onPeerPort(m.ip);
            assert.equal(admitted.ok, true, `${m.name} before revocation: ${JSON.stringify(admitted)}`);
        }
        await upAndSync({
            clients: [{ name: "alice", generation: 2 }, { name: "bob" }],
            revokedCertificates: [
                revoke(aliceGen1.certPem, "2026-11-30T10:00:00Z"),
                revoke(latest.clientCredentials.bob.certPem, "2026-11-30T11:00:00Z"),
                revoke(intruder.certPem, "2026-11-30T12:00:00Z"),
            ],
        });
        for (const m of cluster.members) {
            const refused = await onPeerPort(m.ip);
            assert.equal(refused.ok, false, `${m.name} after revocation: ${JSON.stringify(refused)}`);
            assert.ok(refused.error, `${m.name}: no HTTP answer: ${JSON.stringify(refused)}`);
            await eventually(`${m.name} is not healthy with the peer CRL`, async (seen) => {
                seen.last = await cluster.metricsGet(m, "/health");
                return seen.last.includes('"health":"true"') ? true : undefined;
            });
        }
        // The members' own peer certificates are not revoked: the cluster still replicates.
        await servedEverywhere("alice (generation 2)", saved("alice2", latest.clientCredentials.alice));
    });
});
