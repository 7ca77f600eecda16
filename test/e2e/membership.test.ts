// Membership as code on real etcd: members in network namespaces, auth on (the component's RBAC
// bootstrap ran), the one-file agent running node sync on each member's host, a Secrets Manager
// stand-in serving what each `pulumi up` stored, and a kubelet stand-in that starts or restarts a
// member whose static-pod manifest appeared or changed. Under a client that writes all along, the
// cluster grows 3 to 5 one member at a time, replaces a member on a new address and one with a new
// name, and shrinks 5 to 3. After each step etcd's member list is `members` (no learner left), the
// cluster is healthy and no acknowledged write is lost; a learner is shown to count toward no quorum.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Etcd3, IMember } from "etcd3";
import { MemberArgs, SecureEtcdClusterArgs } from "../../src";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { MEMBERSHIP_USER } from "../../src/nodes/membership";
import { BUNDLE_SOURCE_PATH } from "../../src/nodes/nodeSync";
import { RBAC_SCRIPT_PATH } from "../../src/rbac/rbacNodeFiles";
import { LocalEtcdCluster, MemberHost } from "../../testing/etcdCluster";
import { RenderedCluster } from "../../testing/render";
import { ClientCredentials, ContinuousWriter } from "../harness/continuousWriter";
import { LocalSecretsManager, startSecretsManager } from "../harness/secretsManagerServer";
import { startNetnsCluster } from "./localCluster";
import { runNodeSyncAgent, SyncRun } from "./nodeSyncAgent";
import { HOST_IP, memberIp, namespaceOf } from "./netns";

const run = promisify(execFile);
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Hosts 0-2 run the first members; 3-6 are the instances later members boot on. */
const HOST_COUNT = 7;
const hostOf = (index: number): MemberHost => ({
    ip: memberIp(index),
    exec: ["ip", "netns", "exec", namespaceOf(index)],
});

interface Placed {
    name: string;
    host: number;
}

const args = (placed: Placed[]): Partial<SecureEtcdClusterArgs> => ({
    members: placed.map((p): MemberArgs => ({ name: p.name, ip: memberIp(p.host) })),
});

/** Starts etcd on a node whose manifest appeared, restarts one whose manifest changed (each node on its own). */
class KubeletStandIn {
    private readonly seen = new Map<string, string>();
    private stopped = false;
    private loop?: Promise<void>;
    readonly errors: string[] = [];

    constructor(
        private readonly cluster: LocalEtcdCluster,
        private readonly nodes: () => Placed[],
    ) {}

    private manifest(member: string): string | undefined {
        try {
            return fs.readFileSync(this.cluster.onHost(member, NODE_PATHS.manifest), "utf8");
        } catch {
            return undefined;
        }
    }

    start(): void {
        for (const m of this.cluster.members) {
            this.seen.set(m.name, this.manifest(m.name)!);
        }
        this.loop = (async () => {
            while (!this.stopped) {
                await Promise.all(this.nodes().map((node) => this.tend(node)));
                await delay(200);
            }
        })();
    }

    private async tend(node: Placed): Promise<void> {
        const now = this.manifest(node.name);
        if (now === undefined || now === this.seen.get(node.name)) {
            return;
        }
        this.seen.set(node.name, now);
        try {
            const running = this.cluster.members.find((m) => m.name === node.name && m.exitReason === undefined);
            if (running) {
                await this.cluster.restartMember(node.name, 120_000);
            } else {
                const files = this.cluster.rendered.nodeFiles[node.name];
                this.cluster.startMemberOnHost(node.name, hostOf(node.host), files);
            }
        } catch (e) {
            this.errors.push(`${node.name}: ${(e as Error).message}`);
        }
    }

    /** A retired node: forget its manifest. */
    forget(member: string): void {
        this.seen.delete(member);
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.loop;
    }
}

describe("membership as code: grow, replace and shrink by editing members (real etcd, auth on, one-file agent)", function () {
    this.timeout(40 * 60_000);
    let cluster: LocalEtcdCluster | undefined;
    let secrets: LocalSecretsManager | undefined;
    let kubelet: KubeletStandIn | undefined;
    let writer: ContinuousWriter | undefined;
    let dir: string;
    let placed: Placed[] = [0, 1, 2].map((i) => ({ name: `etcd-${i}`, host: i }));

    const apiserver = (): ClientCredentials => cluster!.rendered.clientCredentials["kube-apiserver-etcd-client"];
    const clientUrl = (p: Placed) => `https://${memberIp(p.host)}:2379`;
    const peerUrl = (p: Placed) => `https://${memberIp(p.host)}:2380`;

    function publish(rendered: RenderedCluster): void {
        for (const secret of Object.values(rendered.memberSecrets)) {
            secrets!.put(secret.arn, secret.secretString);
        }
    }

    function client(endpoints: string[], creds: { certPem: string; keyPem: string }): Etcd3 {
        return new Etcd3({
            hosts: endpoints,
            credentials: {
                rootCertificate: Buffer.from(cluster!.rendered.etcdCa.certPem),
                certChain: Buffer.from(creds.certPem),
                privateKey: Buffer.from(creds.keyPem),
            },
            dialTimeout: 5000,
        });
    }

    async function memberList(): Promise<IMember[]> {
        const c = client(placed.map(clientUrl), apiserver());
        try {
            return (await c.cluster.memberList({ linearizable: true })).members;
        } finally {
            c.close();
        }
    }

    /** Runs the agent on a member's host, as its timer would. */
    function nodeSync(p: Placed): Promise<SyncRun> {
        return runNodeSyncAgent(cluster!, p.name, namespaceOf(p.host), secrets!);
    }

    async function syncOrFail(p: Placed): Promise<string> {
        const result = await nodeSync(p);
        assert.equal(result.code, 0, `node sync on ${p.name}:\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
    }

    /** What the boot script leaves on a new instance: every file but the deferred manifest, and the bundle's source. */
    function bootInstance(p: Placed): void {
        const rendered = cluster!.rendered;
        cluster!.writeMemberFiles(
            p.name,
            rendered.nodeFiles[p.name].filter((f) => f.path !== NODE_PATHS.manifest),
        );
        const source = cluster!.onHost(p.name, BUNDLE_SOURCE_PATH);
        fs.mkdirSync(path.dirname(source), { recursive: true });
        fs.writeFileSync(
            source,
            JSON.stringify({ secretArn: rendered.memberSecrets[p.name].arn, region: "eu-west-1" }),
        );
    }

    /** The next `pulumi up` with `next` as members; published for node sync. */
    async function up(next: Placed[]): Promise<RenderedCluster> {
        const rendered = await cluster!.renderNext(args(next));
        publish(rendered);
        return rendered;
    }

    /** etcd agrees with `members`: the same peer URLs and names, no learner. */
    async function assertConverged(expected: Placed[]): Promise<void> {
        const deadline = Date.now() + 120_000;
        for (;;) {
            const members = await memberList().catch(() => [] as IMember[]);
            const seen = members.map((m) => `${m.name} ${m.peerURLs.join(",")}${m.isLearner ? " learner" : ""}`).sort();
            const wanted = expected.map((p) => `${p.name} ${peerUrl(p)}`).sort();
            if (JSON.stringify(seen) === JSON.stringify(wanted)) {
                break;
            }
            if (Date.now() > deadline) {
                assert.deepEqual(seen, wanted, "member list equals members");
            }
            await delay(1000);
        }
        // Healthy: every member answers a linearizable read.
        for (const p of expected) {
            const c = client([clientUrl(p)], apiserver());
            try {
                await c.get("/registry/secure-etcd-e2e/health").string();
            } finally {
                c.close();
            }
        }
    }

    async function startWriter(endpoints: Placed[]): Promise<void> {
        writer = new ContinuousWriter(
            endpoints.map(clientUrl),
            apiserver(),
            `/registry/secure-etcd-e2e/writer-${Date.now()}/`,
        );
        await writer.start();
    }

    async function stopWriter(): Promise<number> {
        const { lost } = await writer!.stop(apiserver());
        const acknowledged = writer!.acknowledged.size;
        writer = undefined;
        assert.deepEqual(lost, [], "every acknowledged write is there");
        assert.ok(acknowledged > 10, `the writer kept writing (${acknowledged} acknowledged)`);
        return acknowledged;
    }

    before(async function () {
        cluster = await startNetnsCluster(args(placed), undefined, HOST_COUNT);
        secrets = await startSecretsManager(HOST_IP);
        publish(cluster.rendered);
        for (const p of placed) {
            const source = cluster.onHost(p.name, BUNDLE_SOURCE_PATH);
            fs.mkdirSync(path.dirname(source), { recursive: true });
            fs.writeFileSync(
                source,
                JSON.stringify({ secretArn: cluster.rendered.memberSecrets[p.name].arn, region: "eu-west-1" }),
            );
        }
        // The RBAC bootstrap, as the first member's unit runs it: auth on from here.
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-membership-"));
        const backup = cluster.rendered.clientCredentials["etcd-backup"];
        for (const [file, content] of [
            ["ca.crt", backup.caCertPem],
            ["backup.crt", backup.certPem],
            ["backup.key", backup.keyPem],
            ["root-password", `${crypto.randomBytes(24).toString("base64")}\n`],
        ]) {
            fs.writeFileSync(path.join(dir, file), content, { mode: 0o600 });
        }
        const script = cluster.rendered.nodeFiles["etcd-0"].find((f) => f.path === RBAC_SCRIPT_PATH)!.content;
        fs.writeFileSync(path.join(dir, "rbac.py"), script, { mode: 0o700 });
        const ran = await run("python3", [
            path.join(dir, "rbac.py"),
            `--endpoints=${clientUrl(placed[0])}`,
            `--cacert=${path.join(dir, "ca.crt")}`,
            `--cert=${path.join(dir, "backup.crt")}`,
            `--key=${path.join(dir, "backup.key")}`,
            "--root-password-file",
            path.join(dir, "root-password"),
        ]);
        assert.match(ran.stdout, new RegExp(`${MEMBERSHIP_USER}.*root`));
        kubelet = new KubeletStandIn(cluster, () => placed);
        kubelet.start();
    });

    after(async function () {
        await writer?.stop().catch(() => undefined);
        await kubelet?.stop();
        await secrets?.stop();
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    afterEach(function () {
        assert.deepEqual(kubelet?.errors ?? [], [], "the kubelet stand-in started and restarted every member");
    });

    /** One member joins: the others take the new member set (rolling restarts), then it boots and joins. */
    async function join(next: Placed[], joiner: Placed): Promise<string> {
        await up(next);
        for (const p of placed) {
            await syncOrFail(p);
        }
        placed = next;
        bootInstance(joiner);
        return syncOrFail(joiner);
    }

    it("grows 3 to 4: the new member registers as a learner (which counts toward no quorum), catches up and is promoted", async function () {
        await startWriter(placed);
        const joiner = { name: "etcd-3", host: 3 };
        const next = [...placed, joiner];
        const rendered = await up(next);
        // Only the joiner's bundle carries the membership credential (the others' never).
        const bundles = Object.fromEntries(
            Object.entries(rendered.memberSecrets).map(([m, s]) => [
                m,
                JSON.parse(s.secretString) as { membershipCredential?: { certPem: string; keyPem: string } },
            ]),
        );
        assert.deepEqual(
            Object.entries(bundles)
                .filter(([, b]) => b.membershipCredential)
                .map(([m]) => m),
            ["etcd-3"],
        );
        for (const p of placed) {
            await syncOrFail(p);
        }
        // Least privilege: no member's own identity may change membership (a founder's user holds
        // the node-sync role only; the joiner's has no user yet); the credential may.
        for (const who of ["etcd-0", "etcd-3"]) {
            const files = rendered.nodeFiles[who];
            const cert = {
                certPem: files.find((f) => f.path === NODE_PATHS.serverCert)!.content,
                keyPem: files.find((f) => f.path === NODE_PATHS.serverKey)!.content,
            };
            const asMember = client(placed.map(clientUrl), cert);
            await assert.rejects(
                asMember.cluster.memberAdd({ peerURLs: [peerUrl(joiner)], isLearner: true }),
                who === "etcd-0" ? /permission denied/ : /user name not found/,
            );
            asMember.close();
        }
        // The learner, registered with the credential before its etcd runs (the agent's first step).

        // Retried while a member restarted a moment ago (etcd's strict reconfiguration check).
        for (let tries = 0; ; tries++) {
            try {
                // A client per try: a refusal opens the etcd client's circuit breaker for that host.
                const asChanger = client(placed.map(clientUrl), bundles["etcd-3"].membershipCredential!);
                try {
                    await asChanger.cluster.memberAdd({ peerURLs: [peerUrl(joiner)], isLearner: true });
                } finally {
                    asChanger.close();
                }
                break;
            } catch (e) {
                if (!/unhealthy cluster/.test((e as Error).message) || tries > 60) {
                    throw e;
                }
                await delay(2000);
            }
        }
        assert.ok((await memberList()).some((m) => m.peerURLs.includes(peerUrl(joiner)) && m.isLearner));
        // A voter down beside a learner that is not running: 2 of 3 voters answer, so the cluster
        // still writes. Were the learner a voter, 2 of 4 would be no quorum.
        const stopped = cluster!.members.find((m) => m.name === "etcd-1")!;
        await cluster!.stopMember(stopped);
        // (If the stopped member led, an election comes first: a few tries, each with a client of its own.)
        let written = false;
        for (let tries = 0; !written && tries < 30; tries++) {
            const probe = client([clientUrl(placed[0])], apiserver());
            try {
                await probe.put("/registry/secure-etcd-e2e/quorum").value("with a learner and a voter down");
                written =
                    (await probe.get("/registry/secure-etcd-e2e/quorum").string()) ===
                    "with a learner and a voter down";
            } catch {
                await delay(1000);
            } finally {
                probe.close();
            }
        }
        assert.ok(written, "the cluster took a write with one of three voters down and a learner registered");
        await cluster!.restartMember("etcd-1", 120_000);
        // The instance boots: node sync finds it a learner, starts etcd, promotes it once in sync.
        placed = next;
        bootInstance(joiner);
        const out = await syncOrFail(joiner);
        assert.match(out, /wrote \/etc\/kubernetes\/manifests\/etcd\.yaml for this learner/);
        assert.match(out, /promoted etcd-3/);
        await assertConverged(placed);
        await stopWriter();
    });

    it("grows 4 to 5: the agent registers the learner itself from the bundle's credential", async function () {
        await startWriter(placed);
        const out = await join([...placed, { name: "etcd-4", host: 4 }], { name: "etcd-4", host: 4 });
        assert.match(out, /registered etcd-4 .* as a learner/);
        assert.match(out, /promoted etcd-4/);
        await assertConverged(placed);
        await stopWriter();
    });

    /** A replacement: the remover (the first member) removes the old one, the rest take the set, then the new one joins. */
    async function replace(old: Placed, replacement: Placed): Promise<void> {
        const stays = placed.filter((p) => p.name !== old.name);
        await startWriter(stays);
        const next = placed.map((p) => (p.name === old.name ? replacement : p));
        await up(next);
        const removerOut = await syncOrFail(stays[0]);
        assert.match(
            removerOut,
            new RegExp(`removed ${old.name} https://${memberIp(old.host).replace(/\./g, "\\.")}:2380`),
        );
        kubelet!.forget(old.name);
        await cluster!.retireMember(old.name);
        for (const p of stays.slice(1)) {
            await syncOrFail(p);
        }
        placed = next;
        bootInstance(replacement);
        const out = await syncOrFail(replacement);
        assert.match(out, new RegExp(`promoted ${replacement.name}`));
        await assertConverged(placed);
        await stopWriter();
    }

    it("replaces a member on a new address (same name): removed first, then the new one joins", async function () {
        await replace({ name: "etcd-2", host: 2 }, { name: "etcd-2", host: 5 });
    });

    it("replaces a member with a new name", async function () {
        await replace({ name: "etcd-1", host: 1 }, { name: "etcd-5", host: 6 });
    });

    /** One member leaves: the first member removes it, the others take the set, its node retires. */
    async function shrink(leaver: string): Promise<void> {
        const next = placed.filter((p) => p.name !== leaver);
        await startWriter(next);
        await up(next);
        const out = await syncOrFail(next[0]);
        assert.match(out, new RegExp(`removed ${leaver} `));
        kubelet!.forget(leaver);
        await cluster!.retireMember(leaver);
        placed = next;
        for (const p of next.slice(1)) {
            await syncOrFail(p);
        }
        await assertConverged(placed);
        await stopWriter();
    }

    it("shrinks 5 to 3 one member at a time", async function () {
        await shrink("etcd-3");
        await shrink("etcd-4");
        assert.deepEqual(placed.map((p) => p.name).sort(), ["etcd-0", "etcd-2", "etcd-5"]);
    });
});
