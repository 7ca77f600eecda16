// Node sync on real etcd, three members in network namespaces, under a client that writes all
// along: renewed certificates reach running members before the old ones expire (no restart, no
// failed request), and a changed static-pod manifest restarts members one at a time, never while
// another member is down. The agent is the one-file artifact members run; it reads each member's
// bundle through the real AWS SDK client from a Secrets Manager stand-in, exactly as `pulumi up`
// stored it (the SecretVersion's secretString). A kubelet stand-in restarts a member whose
// manifest changed on its host. Certificates are issued by the tls stand-in with a compressed clock
// (an "hour" of validity lasts HOUR_MS), so a renewal cycle fits in minutes; nothing else changes.
import { strict as assert } from "assert";
import { Etcd3 } from "etcd3";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import { CaRotationStage, SecureEtcdClusterArgs } from "../../src";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { issueLeaf } from "../../agent/issue";
import { BUNDLE_SOURCE_PATH, NODE_SYNC_STATE } from "../../src/nodes/nodeSync";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { httpsGet, plainGet, refusal, servedCertificate } from "../../testing/probes";
import { RenderedCluster } from "../../testing/render";
import { setEmulatedHourMs } from "../../testing/tlsEmulator";
import { ClientCredentials, ContinuousWriter } from "../harness/continuousWriter";
import { LocalSecretsManager, startSecretsManager } from "../harness/secretsManagerServer";
import { startNetnsCluster } from "./localCluster";
import { runNodeSyncAgent, SyncRun } from "./nodeSyncAgent";
import { HOST_IP, namespaceOf } from "./netns";

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One emulated hour: leaves valid 48 "hours" last two minutes, renewal opens a minute before. */
const HOUR_MS = 2500;

/** The program's arguments; each test's `pulumi up` adds to them. */
let programArgs: Partial<SecureEtcdClusterArgs> = {
    certificateValidityHours: 48,
    certificateRenewalHours: 24,
    clients: [{ name: "app" }],
};

/** The next `pulumi up` with `changes` added to the program's arguments (kept for the next ones). */
function nextArgs(changes: Partial<SecureEtcdClusterArgs>): Partial<SecureEtcdClusterArgs> {
    programArgs = { ...programArgs, ...changes };
    return programArgs;
}

function apiServerCredentials(rendered: RenderedCluster): ClientCredentials {
    return rendered.clientCredentials["kube-apiserver-etcd-client"];
}

function fileOf(rendered: RenderedCluster, member: string, path: string): string {
    return rendered.nodeFiles[member].find((f) => f.path === path)!.content;
}

/** Restarts a member whose manifest changed on its host, and records when each was down. */
class KubeletStandIn {
    readonly downtimes: { member: string; from: number; to: number }[] = [];
    private readonly seen = new Map<string, string>();
    private stopped = false;
    private loop?: Promise<void>;
    readonly errors: string[] = [];

    constructor(private readonly cluster: LocalEtcdCluster) {
        for (const m of cluster.members) {
            this.seen.set(m.name, this.manifest(m.name));
        }
    }

    private manifest(member: string): string {
        return fs.readFileSync(this.cluster.onHost(member, NODE_PATHS.manifest), "utf8");
    }

    /** Watches every member on its own, as each node's kubelet does: nothing here orders restarts. */
    start(): void {
        this.loop = Promise.all(
            this.cluster.members.map(async ({ name }) => {
                while (!this.stopped) {
                    const now = this.manifest(name);
                    if (now !== this.seen.get(name)) {
                        this.seen.set(name, now);
                        const from = Date.now();
                        try {
                            await this.cluster.restartMember(name, 120_000);
                        } catch (e) {
                            this.errors.push(`${name}: ${(e as Error).message}`);
                        }
                        this.downtimes.push({ member: name, from, to: Date.now() });
                    }
                    await delay(200);
                }
            }),
        ).then(() => undefined);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.loop;
    }
}

describe("node sync: renewals and restarts reach running members (real etcd, one-file agent)", function () {
    this.timeout(20 * 60_000);
    let cluster: LocalEtcdCluster | undefined;
    let secrets: LocalSecretsManager | undefined;
    let writer: ContinuousWriter | undefined;
    let kubelet: KubeletStandIn | undefined;

    const endpoints = () => cluster!.members.map((m) => `https://${m.ip}:2379`);

    /** What `pulumi up` stored in each member's secret, served by the stand-in. */
    function publish(rendered: RenderedCluster): void {
        for (const [, secret] of Object.entries(rendered.memberSecrets)) {
            secrets!.put(secret.arn, secret.secretString);
        }
    }

    /** Runs the agent on a member's host (its namespace, its root), as the timer would. */
    function nodeSync(member: string): Promise<SyncRun> {
        const index = cluster!.members.findIndex((m) => m.name === member);
        return runNodeSyncAgent(cluster!, member, namespaceOf(index), secrets!);
    }

    before(async function () {
        setEmulatedHourMs(HOUR_MS);
        cluster = await startNetnsCluster(programArgs);
        secrets = await startSecretsManager(HOST_IP);
        publish(cluster.rendered);
        for (const [member, secret] of Object.entries(cluster.rendered.memberSecrets)) {
            // What the boot script leaves for node sync.
            const file = cluster.onHost(member, BUNDLE_SOURCE_PATH);
            fs.mkdirSync(file.replace(/\/[^/]+$/, ""), { recursive: true });
            fs.writeFileSync(file, JSON.stringify({ secretArn: secret.arn, region: "eu-west-1" }));
        }
    });

    after(async function () {
        setEmulatedHourMs(3_600_000);
        await kubelet?.stop();
        await writer?.stop().catch(() => undefined);
        await secrets?.stop();
        await cluster?.stop();
    });

    it("a run with nothing to change writes nothing and restarts nothing", async function () {
        for (const m of cluster!.members) {
            const result = await nodeSync(m.name);
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, /nothing changed/);
        }
        // Through the SDK: every request signed for Secrets Manager, one GetSecretValue per member.
        assert.deepEqual(
            secrets!.requests.map((r) => `${r.service} ${r.target}`),
            cluster!.members.map(() => "secretsmanager secretsmanager.GetSecretValue"),
        );
        const state = JSON.parse(fs.readFileSync(cluster!.onHost("etcd-0", NODE_SYNC_STATE.statePath), "utf8")) as {
            consecutiveFailures: number;
            lastChanged: string[];
        };
        assert.deepEqual([state.consecutiveFailures, state.lastChanged], [0, []]);
    });

    it("renewed leaves reach every member before the old ones expire: no restart, no failed write, old certificates refused after expiry", async function () {
        const before = cluster!.rendered;
        const oldServer = new X509Certificate(fileOf(before, "etcd-0", NODE_PATHS.serverCert));
        const oldClient = apiServerCredentials(before);
        writer = new ContinuousWriter(endpoints(), oldClient);
        await writer.start();
        const pids = cluster!.members.map((m) => m.process.pid);

        // The next `pulumi up` inside the renewal window (24 "hours" before the end).
        const windowOpens = Date.parse(oldServer.validTo) - 24 * HOUR_MS;
        await delay(Math.max(0, windowOpens - Date.now() + 1000));
        const after = await cluster!.renderNext(nextArgs({}));
        const newServer = new X509Certificate(fileOf(after, "etcd-0", NODE_PATHS.serverCert));
        assert.notEqual(newServer.serialNumber, oldServer.serialNumber, "pulumi up re-issued the server certificate");
        assert.equal(fileOf(after, "etcd-0", NODE_PATHS.serverKey), fileOf(before, "etcd-0", NODE_PATHS.serverKey));
        assert.equal(after.etcdCa.certPem, before.etcdCa.certPem, "the CA is not renewed behind the operator's back");
        publish(after);

        for (const m of cluster!.members) {
            const result = await nodeSync(m.name);
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, /wrote \/etc\/kubernetes\/pki\/etcd\/server\.crt \(content\)/);
            assert.doesNotMatch(result.stdout, /restart/);
        }
        assert.ok(Date.now() < Date.parse(oldServer.validTo), "renewed and synced before the old leaves expired");
        // What the monitoring rules read: the expiry of the certificate now on the node.
        const metrics = fs.readFileSync(cluster!.onHost("etcd-0", NODE_SYNC_STATE.metricsPath), "utf8");
        assert.match(
            metrics,
            new RegExp(
                `^secure_etcd_node_certificate_expiry_timestamp_seconds\\{etcd_cluster="e2e",member="etcd-0",path="/etc/kubernetes/pki/etcd/server.crt",subject="etcd-0"\\} ${Math.floor(Date.parse(newServer.validTo) / 1000)}$`,
                "m",
            ),
        );
        // kube-apiserver restarts onto its renewed certificate (it does not reload it by itself).
        writer.useCredentials(apiServerCredentials(after));

        // Past the old leaves' end, still writing.
        await delay(Math.max(0, Date.parse(oldServer.validTo) - Date.now() + 3000));
        assert.deepEqual(
            cluster!.members.map((m) => m.process.pid),
            pids,
            "no member restarted for a renewal",
        );
        for (const m of cluster!.members) {
            const served = await servedCertificate(m.ip, 2379, {
                ...apiServerCredentials(after),
                ca: after.etcdCa.certPem,
            });
            assert.equal(served, new X509Certificate(fileOf(after, m.name, NODE_PATHS.serverCert)).serialNumber);
            const old = await httpsGet(`https://${m.ip}:2379/version`, { ...oldClient, ca: before.etcdCa.certPem });
            assert.ok(!old.ok, `${m.name} still accepts the expired client certificate`);
            assert.match(refusal(old), /TLS handshake refused|connection closed/);
        }
        const { lost } = await writer.stop(apiServerCredentials(after));
        const written = writer.acknowledged.size;
        const failures = writer.failures;
        writer = undefined;
        assert.deepEqual(failures, [], "no request failed");
        assert.deepEqual(lost, [], "every acknowledged write is there");
        assert.ok(written > 100, `the writer kept writing (${written} acknowledged)`);
    });

    it("a changed manifest waits while another member is down, then restarts members one at a time under a writing client", async function () {
        // Real time again: the next `pulumi up` re-issues every leaf (inside its window by now) for
        // 48 real hours, and node sync delivers them, so nothing expires during this test.
        setEmulatedHourMs(3_600_000);
        const settled = await cluster!.renderNext(nextArgs({}));
        publish(settled);
        for (const m of cluster!.members) {
            const result = await nodeSync(m.name);
            assert.equal(result.code, 0, result.stderr);
            assert.doesNotMatch(result.stdout, /restart/);
        }
        const rendered = cluster!.rendered;
        writer = new ContinuousWriter(endpoints(), apiServerCredentials(rendered));
        await writer.start();
        kubelet = new KubeletStandIn(cluster!);
        kubelet.start();
        // The next `pulumi up` changes every member's flags: metrics on the member's address too.
        const after = await cluster!.renderNext(
            nextArgs({
                metricsSecurityGroupIds: ["sg-0123456789abcdef0"],
                hostFirewallMetricsCidrs: [`${HOST_IP}/32`],
            }),
        );
        const manifest = (m: string) => fileOf(after, m, NODE_PATHS.manifest);
        assert.notEqual(manifest("etcd-0"), fileOf(rendered, "etcd-0", NODE_PATHS.manifest));
        publish(after);
        const onDisk = (m: string) => fs.readFileSync(cluster!.onHost(m, NODE_PATHS.manifest), "utf8");

        // etcd-2 down: etcd-0's run writes its other files but leaves its manifest, and says why.
        await cluster!.stopMember(cluster!.members[2]);
        const deferred = await nodeSync("etcd-0");
        assert.equal(deferred.code, 1, deferred.stdout);
        assert.match(
            deferred.stderr,
            /the cluster is not healthy, not restarting etcd now.*10\.213\.47\.3:2379 does not answer/,
        );
        assert.notEqual(onDisk("etcd-0"), manifest("etcd-0"), "the manifest stayed as it was");
        assert.equal(kubelet.downtimes.length, 0, "nothing restarted");
        await cluster!.restartMember("etcd-2");

        // All three at once, as timers may fire together: the lock puts them in a row.
        const runs = await Promise.all(cluster!.members.map((m) => nodeSync(m.name)));
        runs.forEach((r, i) => assert.equal(r.code, 0, `etcd-${i}: ${r.stderr}`));
        await delay(1000);
        await kubelet.stop();
        assert.deepEqual(kubelet.errors, []);
        assert.deepEqual(kubelet.downtimes.map((d) => d.member).sort(), ["etcd-0", "etcd-1", "etcd-2"]);
        const spans = [...kubelet.downtimes].sort((a, b) => a.from - b.from);
        for (let i = 1; i < spans.length; i++) {
            assert.ok(
                spans[i].from >= spans[i - 1].to,
                `${spans[i].member} went down before ${spans[i - 1].member} was back: never two members down at once`,
            );
        }
        assert.ok(
            runs.some((r) => /waiting for the restart lock/.test(r.stdout)),
            "a member waited for the lock",
        );
        for (const m of cluster!.members) {
            assert.equal(onDisk(m.name), manifest(m.name));
            // The new flag is in effect: metrics answer on the member's own address now.
            const health = await plainGet(`http://${m.ip}:2381/health`);
            assert.ok(
                health.ok && /"health":"true"/.test(health.body ?? ""),
                `${m.name}: ${health.error ?? health.body}`,
            );
        }
        const failures = writer.failures;
        const { lost } = await writer.stop(apiServerCredentials(after));
        writer = undefined;
        assert.deepEqual(failures, [], "no request failed while members restarted");
        assert.deepEqual(lost, [], "every acknowledged write is there");
    });

    /** Every member's node sync at once, as timers may fire; the kubelet stand-in restarts members. */
    async function syncAll(): Promise<{ restarted: string[] }> {
        kubelet = new KubeletStandIn(cluster!);
        kubelet.start();
        const runs = await Promise.all(cluster!.members.map((m) => nodeSync(m.name)));
        await delay(1000);
        await kubelet.stop();
        runs.forEach((r, i) => assert.equal(r.code, 0, `etcd-${i}: ${r.stderr}`));
        assert.deepEqual(kubelet.errors, []);
        const spans = [...kubelet.downtimes].sort((a, b) => a.from - b.from);
        for (let i = 1; i < spans.length; i++) {
            assert.ok(spans[i].from >= spans[i - 1].to, "never two members down at once");
        }
        return { restarted: spans.map((d) => d.member).sort() };
    }

    it("revocation: after node sync every member refuses the revoked client, even on a connection opened before, and serves its re-issued certificate", async function () {
        const before = cluster!.rendered;
        const revoked = before.clientCredentials.app;
        writer = new ContinuousWriter(endpoints(), apiServerCredentials(before));
        await writer.start();
        // A client connected before the revocation.
        const early = new Etcd3({
            hosts: endpoints(),
            credentials: {
                rootCertificate: Buffer.from(revoked.caCertPem),
                certChain: Buffer.from(revoked.certPem),
                privateKey: Buffer.from(revoked.keyPem),
            },
        });
        try {
            await early.get("/registry/probe").string();
            const after = await cluster!.renderNext(
                nextArgs({
                    clients: [{ name: "app", generation: 2 }],
                    revokedCertificates: [
                        {
                            serialNumber: new X509Certificate(revoked.certPem).serialNumber,
                            revokedAt: "2026-11-30T09:00:00Z",
                        },
                    ],
                }),
            );
            publish(after);
            const { restarted } = await syncAll();
            assert.deepEqual(restarted, ["etcd-0", "etcd-1", "etcd-2"], "the CRL annotation restarts each member once");
            const reissued = after.clientCredentials.app;
            assert.notEqual(reissued.certPem, revoked.certPem);
            for (const m of cluster!.members) {
                const refused = await httpsGet(`https://${m.ip}:2379/version`, { ...revoked, ca: revoked.caCertPem });
                assert.ok(!refused.ok, `${m.name} serves the revoked certificate`);
                const served = await httpsGet(`https://${m.ip}:2379/version`, { ...reissued, ca: reissued.caCertPem });
                assert.ok(served.ok, `${m.name} refuses the re-issued certificate: ${served.error ?? served.status}`);
            }
            await assert.rejects(early.get("/registry/probe").string(), "the connection opened before is gone");
        } finally {
            early.close();
        }
        const failures = writer.failures;
        const { lost } = await writer.stop(apiServerCredentials(cluster!.rendered));
        writer = undefined;
        assert.deepEqual([failures, lost], [[], []], "no failed or lost write while members restarted");
    });

    it("etcd CA rotation, stage by stage through node sync under a writing client; the old CA refused at the end", async function () {
        const first = cluster!.rendered;
        writer = new ContinuousWriter(endpoints(), apiServerCredentials(first));
        await writer.start();
        const stage = async (etcdCaRotationStage: CaRotationStage) => {
            const r = await cluster!.renderNext(nextArgs({ etcdCaGeneration: 2, etcdCaRotationStage }));
            publish(r);
            const { restarted } = await syncAll();
            // The runbook: kube-apiserver restarts onto its new credentials after each stage.
            writer!.useCredentials(apiServerCredentials(r));
            return { r, restarted };
        };
        const trust = await stage(CaRotationStage.TrustNew);
        assert.deepEqual(trust.restarted, ["etcd-0", "etcd-1", "etcd-2"], "etcd reads its CA file only at start");
        assert.equal(trust.r.etcdCas.length, 2);
        const issue = await stage(CaRotationStage.IssueFromNew);
        assert.deepEqual(issue.restarted, [], "certificates alone need no restart");
        const done = await stage(CaRotationStage.Complete);
        assert.deepEqual(done.restarted, ["etcd-0", "etcd-1", "etcd-2"]);
        const current = apiServerCredentials(done.r);
        const oldLeaf = await issueLeaf({ ca: first.etcdCa, commonName: "kube-apiserver-etcd-client" });
        for (const m of cluster!.members) {
            for (const [what, creds] of [
                ["kube-apiserver's generation-1 certificate", apiServerCredentials(first)],
                ["a new certificate from the old CA", { ...oldLeaf, caCertPem: current.caCertPem }],
            ] as const) {
                const o = await httpsGet(`https://${m.ip}:2379/version`, { ...creds, ca: current.caCertPem });
                assert.ok(!o.ok && o.error, `${m.name} accepts ${what}`);
            }
            const ok = await httpsGet(`https://${m.ip}:2379/version`, { ...current, ca: current.caCertPem });
            assert.ok(ok.ok, `${m.name}: ${ok.error ?? ok.status}`);
        }
        const failures = writer.failures;
        const { lost } = await writer.stop(current);
        writer = undefined;
        assert.deepEqual([failures, lost], [[], []], "no failed or lost write through the rotation");
    });

    it("peer CA rotation, stage by stage through node sync under a writing client; the old peer CA refused on 2380 at the end", async function () {
        const first = cluster!.rendered;
        writer = new ContinuousWriter(endpoints(), apiServerCredentials(first));
        await writer.start();
        const stage = async (peerCaRotationStage: CaRotationStage) => {
            const r = await cluster!.renderNext(nextArgs({ peerCaGeneration: 2, peerCaRotationStage }));
            publish(r);
            return { r, ...(await syncAll()) };
        };
        const trust = await stage(CaRotationStage.TrustNew);
        assert.deepEqual(trust.restarted, ["etcd-0", "etcd-1", "etcd-2"], "etcd reads its peer CA file only at start");
        assert.equal(trust.r.peerCas.length, 2);
        const issue = await stage(CaRotationStage.IssueFromNew);
        assert.deepEqual(issue.restarted, [], "peer certificates alone need no restart");
        const done = await stage(CaRotationStage.Complete);
        assert.deepEqual(done.restarted, ["etcd-0", "etcd-1", "etcd-2"]);
        const peerBundle = done.r.peerCa.certPem;
        for (const m of cluster!.members) {
            // A peer certificate for this host from the old peer CA, and one from the current (control).
            const fromOld = await issueLeaf({
                ca: first.peerCa,
                commonName: m.name,
                ipAddresses: [HOST_IP],
                serverAuth: true,
            });
            const refused = await httpsGet(`https://${m.ip}:2380/members`, { ...fromOld, ca: peerBundle });
            assert.ok(!refused.ok && refused.error, `${m.name} accepts a peer certificate from the old peer CA`);
            const fromCurrent = await issueLeaf({
                ca: done.r.peerCa,
                commonName: m.name,
                ipAddresses: [HOST_IP],
                serverAuth: true,
            });
            const served = await httpsGet(`https://${m.ip}:2380/members`, { ...fromCurrent, ca: peerBundle });
            assert.ok(served.ok, `${m.name} refuses the current peer CA: ${served.error ?? served.status}`);
        }
        const failures = writer.failures;
        const { lost } = await writer.stop(apiServerCredentials(done.r));
        writer = undefined;
        assert.deepEqual([failures, lost], [[], []], "no failed or lost write through the rotation");
    });
});
