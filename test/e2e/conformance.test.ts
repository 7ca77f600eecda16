// The rendered artifacts run a real etcd cluster; every security promise is probed from outside.
// The probes themselves live in testing/probes.ts, where the demo runs the same ones as a report.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import { X509Certificate } from "crypto";
import { Etcd3 } from "etcd3";
import { LocalEtcdCluster, LocalMember } from "../../testing/etcdCluster";
import { issueLeaf } from "../../agent/issue";
import {
    CONFORMANCE_PROBES,
    eventually,
    httpsGet,
    httpsRequest,
    ProbeTarget,
    runProbes,
    servedCertificate,
    untilHealthy,
} from "../../testing/probes";
import { installedEtcd } from "../../agent/etcdBinary";
import { HOST_IP, leftovers, SUBNET } from "./netns";
import { startNetnsCluster } from "./localCluster";

describe("conformance: the rendered configuration on a real etcd cluster", function () {
    this.timeout(90_000);
    let cluster: LocalEtcdCluster;
    let target: ProbeTarget;
    let m0: LocalMember;
    const clientUrl = (m: LocalMember) => `https://${m.ip}:2379`;

    before(async () => {
        cluster = await startNetnsCluster();
        // The test process calls from the bridge; a peer certificate for another address on it must not match.
        target = cluster.probeTarget({ callerIp: HOST_IP, bindCaller: false, strangerIp: `${SUBNET}.99` });
        m0 = cluster.members[0];
    });
    after(() => cluster?.stop());

    it("forms a healthy three-member cluster on which kube-apiserver's certificate writes and reads (gRPC)", async () => {
        const client = new Etcd3({
            hosts: cluster.members.map(clientUrl),
            credentials: {
                rootCertificate: Buffer.from(target.apiserver.ca),
                certChain: Buffer.from(target.apiserver.certPem),
                privateKey: Buffer.from(target.apiserver.keyPem),
            },
        });
        try {
            await client.put("/registry/conformance/probe").value("written");
            assert.equal(await client.get("/registry/conformance/probe").string(), "written");
            const members = await client.cluster.memberList({});
            assert.equal(members.members.length, 3);
        } finally {
            client.close();
        }
        for (const m of cluster.members) {
            await untilHealthy(target, m);
        }
    });

    it("runs the etcd on PATH, the release the component rendered for", async () => {
        const etcd = installedEtcd();
        assert.equal(cluster.etcd.path, etcd.path);
        assert.equal(cluster.rendered.etcdVersion, etcd.version);
        const digest = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
        for (const m of cluster.members) {
            // `ip netns exec` and setpriv each exec the next: the member's pid is etcd itself, started
            // from the binary on PATH (or its copy in the cluster's root, where the etcd user cannot reach it).
            const exe = fs.realpathSync(`/proc/${m.process.pid}/exe`);
            assert.equal(exe, fs.realpathSync(m.executable), m.name);
            assert.ok(
                exe === fs.realpathSync(etcd.path) || digest(exe) === digest(etcd.path),
                `${m.name} runs ${exe}, not ${etcd.path}`,
            );
            const served = await httpsGet(`${clientUrl(m)}/version`, target.apiserver);
            assert.equal((JSON.parse(served.body!) as { etcdserver: string }).etcdserver, etcd.version, m.name);
        }
    });

    for (const probe of CONFORMANCE_PROBES) {
        it(probe.title, async () => {
            await probe.run(target);
        });
    }

    it("serves a server certificate replaced in place on new connections, without a restart", async () => {
        const before = await servedCertificate(m0.ip, 2379, target.apiserver);
        const serverKeyPath = cluster.onHost(m0.name, "/etc/kubernetes/pki/etcd/server.key");
        const renewed = await issueLeaf({
            ca: target.etcdCa,
            commonName: m0.name,
            keyPem: fs.readFileSync(serverKeyPath, "utf8"),
            ipAddresses: [m0.ip, "127.0.0.1"],
            dnsNames: [m0.name, "localhost"],
            serverAuth: true,
        });
        const certPath = cluster.onHost(m0.name, "/etc/kubernetes/pki/etcd/server.crt");
        fs.writeFileSync(certPath + ".new", renewed.certPem, { mode: 0o644 });
        fs.renameSync(certPath + ".new", certPath);
        const after = await servedCertificate(m0.ip, 2379, target.apiserver);
        assert.notEqual(after, before);
        assert.equal(after, new X509Certificate(renewed.certPem).serialNumber);
        assert.equal(m0.exitReason, undefined, "no restart");
    });

    /** What a member's maintenance status says: its own id and its leader's. */
    async function statusOf(m: LocalMember): Promise<{ id: string; leader: string }> {
        const o = await httpsRequest(`${clientUrl(m)}/v3/maintenance/status`, target.apiserver, { json: {} });
        assert.equal(o.ok, true, `status of ${m.name}: ${JSON.stringify(o)}`);
        const status = JSON.parse(o.body!) as { header: { member_id: string }; leader: string };
        return { id: status.header.member_id, leader: status.leader };
    }

    it("the probes pass through a leader election (as a busy machine causes): the leader paused until another leads", async () => {
        // A machine too busy to schedule the leader within the election timeout looks like this to the
        // cluster; the probes wait for the states etcd reaches by itself instead of sampling them once.
        // Most probes start at etcd-0: lead from another member, so the probes find etcd-0 answering.
        const leader = cluster.members[cluster.members.length - 1];
        const { id: leaderId } = await statusOf(leader);
        await eventually(`${leader.name} leads`, async (seen) => {
            const statuses = await Promise.all(cluster.members.map(statusOf));
            seen.last = JSON.stringify(statuses);
            const current = cluster.members[statuses.findIndex((s) => s.id === s.leader)];
            if (current === leader) {
                return true;
            }
            if (current) {
                // etcd moves leadership only when the leader is asked.
                await httpsRequest(`${clientUrl(current)}/v3/maintenance/transfer-leadership`, target.apiserver, {
                    json: { targetID: leaderId },
                });
            }
            return undefined;
        });
        const others = cluster.members.filter((m) => m !== leader);
        process.kill(leader.process.pid!, "SIGSTOP");
        let resumed = false;
        const resume = () => {
            if (!resumed) {
                resumed = true;
                process.kill(leader.process.pid!, "SIGCONT");
            }
        };
        try {
            const probing = runProbes(target);
            await eventually("another member leads", async () => {
                const seen = await Promise.all(others.map(statusOf));
                return seen.some((s) => s.id === s.leader) ? true : undefined;
            });
            resume();
            const report = await probing;
            assert.deepEqual(
                report.filter((r) => !r.pass),
                [],
                `leader ${leader.name} paused; ${report.map((r) => `${r.pass ? "PASS" : "FAIL"} ${r.title}: ${r.detail}`).join("\n")}`,
            );
        } finally {
            resume();
        }
        assert.equal(leader.exitReason, undefined, "the paused leader runs on");
    });
});

describe("conformance: cleanup", function () {
    it("leaves no process, namespace, link or temporary directory behind", () => {
        assert.deepEqual(leftovers(), []);
        const stray = fs.readdirSync("/tmp").filter((d) => d.startsWith("secure-etcd-e2e-"));
        assert.deepEqual(stray, []);
    });
});
