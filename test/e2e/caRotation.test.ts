// Staged rotation of the etcd CA, then of the peer CA, on a real three-member cluster: each stage is
// the next `pulumi up` of the same stack under the mocks (with the previous run's state), its node
// files written onto every member as node sync would, and members whose static pod changed
// restarted one at a time as the kubelet would. A client that writes continuously (kube-apiserver's
// credentials, a fresh TLS handshake per request, restarted where the runbook restarts
// kube-apiserver) must see no failed request; at the end the old CAs' certificates are refused.
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import { CaRotationStage, SecureEtcdClusterArgs } from "../../src";
import { NodeFile } from "../../src/manifests/nodeFiles";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { issueLeaf, Issued } from "../../agent/issue";
import { writeEntry } from "../../agent/sync/files";
import { LocalEtcdCluster, LocalMember } from "../../testing/etcdCluster";
import {
    ClientCreds,
    eventually,
    httpsRequest,
    Outcome,
    refusal,
    servedCertificate,
    untilHealthy,
} from "../../testing/probes";
import { CaPair, certificatesIn, RenderedCluster, renderCluster } from "../../testing/render";
import { startNetnsCluster } from "./localCluster";
import { HOST_IP } from "./netns";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const clientUrl = (m: { ip: string }) => `https://${m.ip}:2379`;
const peerUrl = (m: { ip: string }) => `https://${m.ip}:2380`;
/** A failure of trust rather than of reachability: what a rotation must never cause. */
const TLS_FAILURE = /alert|certificate|verify|self.signed|CERT_|unknown ca/i;
const APISERVER = "kube-apiserver-etcd-client";

/** kube-apiserver's credentials as its node has them after a render. */
function apiserverCreds(r: RenderedCluster): ClientCreds {
    const c = r.clientCredentials[APISERVER];
    return { certPem: c.certPem, keyPem: c.keyPem, ca: c.caCertPem };
}

/**
 * Writes key after key through etcd's v3 gateway, each request on a new TLS connection, trying the
 * members in turn like a client balancer (a member restarting refuses connections). A write that
 * no member acknowledges within a few passes is a failed request; a TLS failure on any attempt is
 * recorded too, because a rotation must never make trust fail, not even once.
 */
class ContinuousWriter {
    readonly acknowledged = new Map<string, string>();
    readonly failed: string[] = [];
    readonly tlsFailures: string[] = [];
    private running = true;
    private readonly loop: Promise<void>;

    constructor(
        private creds: ClientCreds,
        private readonly members: { ip: string }[],
    ) {
        this.loop = this.run();
    }

    /** What restarting kube-apiserver does: it reads its CA file, certificate and key again. */
    restartWith(creds: ClientCreds): void {
        this.creds = creds;
    }

    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
    }

    private async run(): Promise<void> {
        for (let i = 0; this.running; i++) {
            await this.write(i);
            await pause(20);
        }
    }

    private async write(i: number): Promise<void> {
        const key = `/rotation/${String(i).padStart(6, "0")}`;
        const value = `value ${i}`;
        const seen: string[] = [];
        for (let pass = 0; pass < 4; pass++) {
            for (let k = 0; k < this.members.length; k++) {
                const m = this.members[(i + k) % this.members.length];
                const o = await httpsRequest(`${clientUrl(m)}/v3/kv/put`, this.creds, {
                    json: { key: b64(key), value: b64(value) },
                });
                if (o.ok) {
                    this.acknowledged.set(key, value);
                    return;
                }
                const why = `${m.ip}: ${o.error ?? `HTTP ${o.status} ${o.body}`}`;
                seen.push(why);
                if (TLS_FAILURE.test(o.error ?? "")) {
                    this.tlsFailures.push(`${key} ${why}`);
                }
            }
            await pause(500);
        }
        this.failed.push(`${key}: ${seen.join("; ")}`);
    }
}

/** Whether `o` is a refused handshake or connection, not an HTTP answer. */
function assertRefused(o: Outcome, what: string): void {
    assert.equal(o.ok, false, `${what}: ${JSON.stringify(o)}`);
    assert.ok(o.error, `${what}: refused without an HTTP answer: ${JSON.stringify(o)}`);
}

describe("CA rotation on a real three-member cluster, stage by stage under a continuous writer", function () {
    this.timeout(900_000);
    let cluster: LocalEtcdCluster;
    let writer: ContinuousWriter | undefined;
    const renders: RenderedCluster[] = [];
    const last = () => renders[renders.length - 1];
    const restarts: string[] = [];

    before(async () => {
        cluster = await startNetnsCluster();
        renders.push(cluster.rendered);
        writer = new ContinuousWriter(apiserverCreds(cluster.rendered), cluster.members);
    });
    after(async () => {
        await writer?.stop();
        await cluster?.stop();
    });

    /** The next `pulumi up` of the same stack. */
    async function deploy(args: Partial<SecureEtcdClusterArgs>): Promise<RenderedCluster> {
        const next = await renderCluster(
            "e2e",
            {
                members: cluster.members.map((m) => ({ name: m.name, ip: m.ip })),
                vpcId: "vpc-0000000000000000a",
                etcdVersion: cluster.etcd.version,
                ...args,
            },
            { previous: last().mocks },
        );
        renders.push(next);
        return next;
    }

    /** Writes a member's files with node sync's own writer: mode and owner first, then an atomic rename. */
    function writeAtomically(member: string, files: NodeFile[]): void {
        for (const f of files) {
            writeEntry(cluster.onHost(member, "/"), f);
        }
    }

    const manifestOf = (r: RenderedCluster, member: string) =>
        r.nodeFiles[member].find((f) => f.path === NODE_PATHS.manifest)!.content;

    /**
     * Node sync and the kubelet: every member gets its files; the members whose static pod changed
     * restart one at a time, each once the cluster is healthy. `beforeRestart` runs before each.
     */
    async function sync(beforeRestart?: (m: LocalMember) => Promise<void>): Promise<string[]> {
        const [previous, next] = renders.slice(-2);
        for (const m of cluster.members) {
            writeAtomically(m.name, next.nodeFiles[m.name]);
        }
        const restarted: string[] = [];
        for (const m of [...cluster.members]) {
            if (manifestOf(next, m.name) !== manifestOf(previous, m.name)) {
                await healthy();
                await beforeRestart?.(m);
                await cluster.restartMember(m.name);
                restarted.push(m.name);
            }
        }
        restarts.push(restarted.join(","));
        await healthy();
        return restarted;
    }

    async function healthy(): Promise<void> {
        const target = cluster.probeTarget({ callerIp: HOST_IP, bindCaller: false, strangerIp: HOST_IP });
        for (const m of cluster.members) {
            await untilHealthy(target, m);
        }
    }

    /** kube-apiserver's current credentials write and read on every member. */
    async function clientWorks(creds: ClientCreds): Promise<void> {
        for (const m of cluster.members) {
            const key = b64(`/rotation-check/${m.name}`);
            const value = b64(`at ${Date.now()}`);
            await eventually(`put on ${m.name}`, async (seen) => {
                const o = await httpsRequest(`${clientUrl(m)}/v3/kv/put`, creds, { json: { key, value } });
                seen.last = JSON.stringify(o);
                return o.ok ? true : undefined;
            });
            const got = await httpsRequest(`${clientUrl(m)}/v3/kv/range`, creds, { json: { key } });
            assert.equal(got.ok, true, JSON.stringify(got));
            assert.equal((JSON.parse(got.body!) as { kvs: { value: string }[] }).kvs[0].value, value);
        }
    }

    /** Serials of the certificate each member serves on 2379 (or 2380) on a fresh connection. */
    async function served(port: number, creds: Issued & { ca: string }): Promise<string[]> {
        return Promise.all(cluster.members.map((m) => servedCertificate(m.ip, port, creds)));
    }

    const serial = (pem: string) => new X509Certificate(pem).serialNumber;
    const cn = (pem: string) => new X509Certificate(pem).subject.replace(/^CN=/, "");

    /** A request on `port` of `m` with a certificate from `ca` (a peer certificate for this caller on 2380). */
    async function withCertFrom(ca: CaPair, m: LocalMember, port: 2379 | 2380, trust: string): Promise<Outcome> {
        const leaf =
            port === 2379
                ? await issueLeaf({ ca, commonName: APISERVER })
                : await issueLeaf({ ca, commonName: m.name, ipAddresses: [HOST_IP], serverAuth: true });
        const url = port === 2379 ? `${clientUrl(m)}/version` : `${peerUrl(m)}/members`;
        return httpsRequest(url, { ...leaf, ca: trust });
    }

    it("stage 1 of the etcd CA: every member trusts both CAs after its restart (etcd reads its CA file only at start)", async () => {
        const r = await deploy({ etcdCaGeneration: 2, etcdCaRotationStage: CaRotationStage.TrustNew });
        assert.equal(r.etcdCas.length, 2);
        assert.equal(cn(r.etcdCas[1].certPem), "etcd-ca-2");
        const [, newCa] = r.etcdCas;
        const bundle = r.clientCredentials[APISERVER].caCertPem;
        const restarted = await sync(async (m) => {
            // The new bundle is on disk, yet the running member still refuses the new CA's clients.
            assertRefused(await withCertFrom(newCa, m, 2379, bundle), `${m.name} before its restart`);
        });
        assert.deepEqual(restarted, ["etcd-0", "etcd-1", "etcd-2"]);
        for (const m of cluster.members) {
            const after = await withCertFrom(newCa, m, 2379, bundle);
            assert.equal(after.ok, true, `${m.name} after its restart: ${JSON.stringify(after)}`);
        }
        await clientWorks(apiserverCreds(r));
        // The runbook: restart kube-apiserver now, so that it trusts the new CA before members serve it.
        writer!.restartWith(apiserverCreds(r));
    });

    it("stage 2 of the etcd CA: every certificate from the new CA, in effect without a restart", async () => {
        const r = await deploy({ etcdCaGeneration: 2, etcdCaRotationStage: CaRotationStage.IssueFromNew });
        assert.equal(cn(r.etcdCa.certPem), "etcd-ca-2");
        assert.deepEqual(await sync(), [], "no member restarts: the trust bundles did not change");
        const creds = apiserverCreds(r);
        const serverCerts = cluster.members.map(
            (m) => r.nodeFiles[m.name].find((f) => f.path === NODE_PATHS.serverCert)!.content,
        );
        await eventually("every member serves its certificate from the new CA", async (seen) => {
            const now = await served(2379, creds as Issued & { ca: string });
            seen.last = now.join(",");
            return now.every((s, i) => s === serial(serverCerts[i])) ? true : undefined;
        });
        await clientWorks(creds);
        // The runbook: restart kube-apiserver, so that its client certificate is the new CA's before stage 3.
        writer!.restartWith(creds);
    });

    it("stage 3 of the etcd CA: only the new CA; a certificate from the old one is refused on 2379", async () => {
        const oldCa = renders[0].etcdCa;
        const oldClient = apiserverCreds(renders[0]);
        const r = await deploy({ etcdCaGeneration: 2, etcdCaRotationStage: CaRotationStage.Complete });
        assert.equal(certificatesIn(r.clientCredentials[APISERVER].caCertPem).length, 1);
        assert.deepEqual(await sync(), ["etcd-0", "etcd-1", "etcd-2"]);
        const creds = apiserverCreds(r);
        await clientWorks(creds);
        writer!.restartWith(creds);
        for (const m of cluster.members) {
            // kube-apiserver's certificate of generation 1, and a fresh one from the old CA.
            const old = await httpsRequest(`${clientUrl(m)}/version`, { ...oldClient, ca: creds.ca });
            assertRefused(old, `${m.name}: kube-apiserver's old certificate`);
            const fresh = await withCertFrom(oldCa, m, 2379, creds.ca!);
            assertRefused(fresh, `${m.name}: a new certificate from the old CA`);
            const control = await httpsRequest(`${clientUrl(m)}/version`, creds);
            assert.equal(control.ok, true, `${m.name}: current certificate: ${JSON.stringify(control)}`);
            console.log(`      ${m.name}: old etcd CA ${refusal(old)}; current certificate answered`);
        }
    });

    it("stage 1 of the peer CA: every member trusts both peer CAs after its restart", async () => {
        const r = await deploy({
            etcdCaGeneration: 2,
            peerCaGeneration: 2,
            peerCaRotationStage: CaRotationStage.TrustNew,
        });
        assert.equal(cn(r.peerCas[1].certPem), "etcd-peer-ca-2");
        const [, newPeerCa] = r.peerCas;
        const peerBundle = r.peerCas.map((c) => c.certPem).join("");
        const restarted = await sync(async (m) => {
            assertRefused(await withCertFrom(newPeerCa, m, 2380, peerBundle), `${m.name} (peer) before its restart`);
        });
        assert.deepEqual(restarted, ["etcd-0", "etcd-1", "etcd-2"]);
        for (const m of cluster.members) {
            const after = await withCertFrom(newPeerCa, m, 2380, peerBundle);
            assert.equal(after.ok, true, `${m.name} (peer) after its restart: ${JSON.stringify(after)}`);
        }
        await clientWorks(apiserverCreds(r));
    });

    it("stage 2 of the peer CA: every peer certificate from the new CA, without a restart", async () => {
        const r = await deploy({
            etcdCaGeneration: 2,
            peerCaGeneration: 2,
            peerCaRotationStage: CaRotationStage.IssueFromNew,
        });
        assert.deepEqual(await sync(), []);
        const peerCerts = cluster.members.map(
            (m) => r.nodeFiles[m.name].find((f) => f.path === NODE_PATHS.peerCert)!.content,
        );
        const probe = await issueLeaf({ ca: r.peerCa, commonName: "etcd-0", ipAddresses: [HOST_IP], serverAuth: true });
        const trust = r.peerCas.map((c) => c.certPem).join("");
        await eventually("every member serves its peer certificate from the new peer CA", async (seen) => {
            const now = await served(2380, { ...probe, ca: trust });
            seen.last = now.join(",");
            return now.every((s, i) => s === serial(peerCerts[i])) ? true : undefined;
        });
        await clientWorks(apiserverCreds(r));
    });

    it("stage 3 of the peer CA: only the new peer CA; a peer certificate from the old one is refused on 2380", async () => {
        const oldPeerCa = renders[0].peerCa;
        const r = await deploy({
            etcdCaGeneration: 2,
            peerCaGeneration: 2,
            peerCaRotationStage: CaRotationStage.Complete,
        });
        assert.deepEqual(await sync(), ["etcd-0", "etcd-1", "etcd-2"]);
        await clientWorks(apiserverCreds(r));
        const trust = r.peerCa.certPem;
        for (const m of cluster.members) {
            const old = await withCertFrom(oldPeerCa, m, 2380, trust);
            assertRefused(old, `${m.name}: a peer certificate from the old peer CA`);
            const control = await withCertFrom(r.peerCa, m, 2380, trust);
            assert.equal(control.ok, true, `${m.name}: the same from the new peer CA: ${JSON.stringify(control)}`);
            console.log(`      ${m.name}: old peer CA ${refusal(old)}; new peer CA admitted`);
        }
    });

    it("the continuous writer saw no failed request, no TLS failure, and every acknowledged write is there", async () => {
        const w = writer!;
        await w.stop();
        writer = undefined;
        assert.deepEqual(w.failed, [], "failed requests");
        assert.deepEqual(w.tlsFailures, [], "TLS failures on any attempt");
        assert.ok(w.acknowledged.size > 50, `only ${w.acknowledged.size} writes`);
        const creds = apiserverCreds(last());
        const range = await httpsRequest(`${clientUrl(cluster.members[0])}/v3/kv/range`, creds, {
            json: { key: b64("/rotation/"), range_end: b64("/rotation0") },
        });
        assert.equal(range.ok, true, JSON.stringify(range));
        const stored = new Map(
            ((JSON.parse(range.body!) as { kvs?: { key: string; value: string }[] }).kvs ?? []).map((kv) => [
                Buffer.from(kv.key, "base64").toString(),
                Buffer.from(kv.value, "base64").toString(),
            ]),
        );
        for (const [key, value] of w.acknowledged) {
            assert.equal(stored.get(key), value, `acknowledged ${key} is lost`);
        }
        console.log(
            `      ${w.acknowledged.size} writes acknowledged, 0 failed, 0 lost; restarts per stage: ${restarts.map((r) => r || "none").join(" | ")}`,
        );
    });
});
