// A whole cluster restored from its encrypted backup, as the component's `restoreFromBackup` asks:
// the conformance cluster (real etcd, one network namespace per member), a real backup by the
// agent into a real S3-protocol server on the members' bridge, a watch started before the
// disaster, every member's data dir wiped, and then the next `pulumi up` with `restoreFromBackup`:
// the restore request it renders, written on every member's host, and `secure-etcd restore-member`
// (the one-file artifact) run there as the request's apply and the restore service run it: each
// restores, and its quarantine (a table of its own in nftables) refuses clients from outside until
// every member is back.
// Every key is back, the revision is past anything the lost cluster served (where etcd's tool can
// bump it), the old watch is told its revision was compacted, and a second run does nothing. A
// restore is refused over a running cluster, and a corrupt backup stops it with no member serving.
import { strict as assert } from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Etcd3 } from "etcd3";
import { BackupManifest, manifestKeyOf, objectBase, snapshotKey } from "../../agent/backup/objects";
import { BACKUP_CONFIG_PATH, BackupAgentConfig } from "../../src/backup/agentConfig";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { RESTORE_BUMP_REVISION, RESTORE_CONFIG_PATH } from "../../src/restore/restoreConfig";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { isolatedAgent } from "../harness/agentBundle";
import { LocalS3, startS3Server } from "../harness/s3Server";
import { startNetnsCluster } from "./localCluster";
import { HOST_IP, namespaceOf } from "./netns";

const KEY_COUNT = 2000;
const FAKE_KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000";
const keyOf = (i: number) => `/registry/test/${String(i).padStart(5, "0")}`;
const valueOf = (i: number) =>
    crypto
        .createHash("sha256")
        .update(`value-${i}`)
        .digest("hex")
        .repeat(1 + (i % 4));

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(argv[0], argv.slice(1), { encoding: "utf8", env, timeout: 600_000 }, (error, stdout, stderr) =>
            resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
        );
    });
}

function events(out: string): Record<string, unknown>[] {
    return out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Whether a TCP connection to host:port is refused (nothing listens there for this caller). */
function refused(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port, timeout: 10_000 });
        socket.once("connect", () => {
            socket.destroy();
            resolve(false);
        });
        socket.once("timeout", () => {
            socket.destroy();
            resolve(false);
        });
        socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
    });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("restore the whole cluster from an encrypted backup (restore-member on every member)", function () {
    this.timeout(900_000);
    let cluster: LocalEtcdCluster;
    let s3: LocalS3;
    let dir: string;
    let agent: string;
    let rawKey: string;
    let backupConfig: BackupAgentConfig;
    let watch: ChildProcess | undefined;
    let watchOutput = "";
    /** The revision the lost cluster had served when disaster struck. */
    let revisionBefore = 0;
    let backedUpRevision = 0;
    /** What each member's first restore run printed. */
    let firstRestoreOutputs: string[] = [];
    let snapshotObject = "";
    let secondBackup = "";
    const files = { ca: "", cert: "", key: "" };

    const memberRoot = (name: string) => path.join(cluster.root, name);
    const endpoints = () => cluster.members.map((m) => `https://${m.ip}:2379`);

    function client(hosts = endpoints()): Etcd3 {
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        return new Etcd3({
            hosts,
            credentials: {
                rootCertificate: Buffer.from(creds.caCertPem),
                certChain: Buffer.from(creds.certPem),
                privateKey: Buffer.from(creds.keyPem),
            },
        });
    }

    const target = () => [
        `--project=${backupConfig.project}`,
        `--stack=${backupConfig.stack}`,
        `--cluster=${backupConfig.cluster}`,
        `--bucket=${backupConfig.bucket}`,
        "--region=us-east-1",
        `--s3-endpoint=${s3.endpoint}`,
        "--json",
    ];

    async function takeBackup(): Promise<string> {
        const ran = await run(
            [
                agent,
                "backup",
                `--endpoints=${endpoints()[0]}`,
                `--cacert=${files.ca}`,
                `--cert=${files.cert}`,
                `--key=${files.key}`,
                ...target(),
                `--raw-key-file=${rawKey}`,
                `--sse-kms-key-arn=${FAKE_KMS_ARN}`,
            ],
            s3.env,
        );
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const done = events(ran.stdout).find((e) => e.event === "backup.completed")!;
        return String(done.object);
    }

    /**
     * The next `pulumi up` with `restoreFromBackup: backup`: the restore request each member's
     * rendered node files carry, written onto its host (what its boot, or node sync, writes).
     */
    async function requestRestore(backup: string, restoreOverRunningCluster?: boolean): Promise<void> {
        const rendered = await cluster.renderNext({ restoreFromBackup: backup, restoreOverRunningCluster });
        for (const m of cluster.members) {
            const request = rendered.nodeFiles[m.name].find((f) => f.path === RESTORE_CONFIG_PATH)!;
            assert.deepEqual(request.apply?.slice(1), ["restore-member", "--config", RESTORE_CONFIG_PATH, "--no-wait"]);
            const backupFile = rendered.nodeFiles[m.name].find((f) => f.path === BACKUP_CONFIG_PATH)!;
            assert.deepEqual(
                JSON.parse(backupFile.content),
                JSON.parse(fs.readFileSync(cluster.onHost(m.name, BACKUP_CONFIG_PATH), "utf8")),
            );
            cluster.writeMemberFiles(m.name, [request]);
        }
    }

    /** `secure-etcd restore-member` on a member's host (in its network namespace), as its boot runs it. */
    function restoreMember(index: number, extra: string[] = []): Promise<Ran> {
        const name = cluster.members[index].name;
        return run(
            [
                "ip",
                "netns",
                "exec",
                namespaceOf(index),
                agent,
                "restore-member",
                `--config=${cluster.onHost(name, RESTORE_CONFIG_PATH)}`,
                `--root=${memberRoot(name)}`,
                `--s3-endpoint=${s3.endpoint}`,
                `--raw-key-file=${rawKey}`,
                "--json",
                ...extra,
            ],
            s3.env,
        );
    }

    const onEvery = (fn: (i: number) => Promise<Ran>) => Promise.all(cluster.members.map((_, i) => fn(i)));

    /** The disaster: every member stopped, every data dir emptied. */
    async function disaster(): Promise<void> {
        for (const m of cluster.members) {
            await cluster.stopMember(m);
        }
        for (const m of cluster.members) {
            const dataDir = cluster.onHost(m.name, NODE_PATHS.dataDir);
            for (const entry of fs.readdirSync(dataDir)) {
                fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
            }
        }
    }

    before(async () => {
        cluster = await startNetnsCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-restore-e2e-"));
        agent = isolatedAgent(dir);
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        files.ca = path.join(dir, "ca.crt");
        files.cert = path.join(dir, "backup-client.crt");
        files.key = path.join(dir, "backup-client.key");
        fs.writeFileSync(files.ca, creds.caCertPem);
        fs.writeFileSync(files.cert, creds.certPem);
        fs.writeFileSync(files.key, creds.keyPem, { mode: 0o600 });
        rawKey = path.join(dir, "backup.key");
        fs.writeFileSync(rawKey, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
        backupConfig = JSON.parse(
            fs.readFileSync(cluster.onHost("etcd-0", BACKUP_CONFIG_PATH), "utf8"),
        ) as BackupAgentConfig;
        // On the members' bridge, so the agent in a member's namespace reaches it.
        s3 = await startS3Server(backupConfig.bucket, HOST_IP);
        const c = client();
        try {
            for (let start = 0; start < KEY_COUNT; start += 200) {
                await Promise.all(
                    Array.from({ length: Math.min(200, KEY_COUNT - start) }, (_, j) =>
                        c
                            .put(keyOf(start + j))
                            .value(valueOf(start + j))
                            .exec(),
                    ),
                );
            }
        } finally {
            c.close();
        }
    });

    after(async () => {
        watch?.kill("SIGKILL");
        await s3?.stop();
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a backup by the agent; writes after it; a watch from the current revision; then every data dir wiped", async () => {
        snapshotObject = await takeBackup();
        assert.match(snapshotObject, /\.db\.enc$/);
        const manifest = JSON.parse(
            await (
                await s3.client.send(
                    new GetObjectCommand({
                        Bucket: backupConfig.bucket,
                        Key: snapshotObject.replace(/\.db\.enc$/, ".manifest.json"),
                    }),
                )
            ).Body!.transformToString(),
        ) as { revision: number };
        backedUpRevision = manifest.revision;
        const c = client();
        try {
            // Lost with the cluster: written after the last backup.
            await c.put("/registry/after-backup").value("lost").exec();
            revisionBefore = Number((await c.maintenance.status()).header.revision);
        } finally {
            c.close();
        }
        assert.ok(revisionBefore > backedUpRevision);
        // What a kube-apiserver's watch cache holds: a watch that resumes after the last revision it saw.
        watch = spawnWatch(revisionBefore + 1);
        watch.stdout!.on("data", (d: Buffer) => (watchOutput += d.toString()));
        watch.stderr!.on("data", (d: Buffer) => (watchOutput += d.toString()));
        await delay(1000);
        await disaster();
        for (const m of cluster.members) {
            assert.ok(await refused(m.ip, 2379), `${m.name} still serves`);
        }
    });

    it("every member restores, and clients are refused from outside until every member is back", async () => {
        const manifests = cluster.members.map((m) =>
            fs.readFileSync(cluster.onHost(m.name, NODE_PATHS.manifest), "utf8"),
        );
        await requestRestore("latest");
        const ran = await onEvery((i) => restoreMember(i, ["--no-wait"]));
        firstRestoreOutputs = ran.map((r) => r.stdout);
        for (const r of ran) {
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const restored = events(r.stdout).find((e) => e.event === "restore-member.restored")!;
            assert.equal(restored.object, snapshotObject);
        }
        for (const [i, m] of cluster.members.entries()) {
            // Held during the restore, and back as it was.
            assert.equal(fs.readFileSync(cluster.onHost(m.name, NODE_PATHS.manifest), "utf8"), manifests[i]);
            const dataDir = cluster.onHost(m.name, NODE_PATHS.dataDir);
            const stat = fs.statSync(dataDir);
            assert.equal(stat.mode & 0o777, 0o700);
            assert.equal(stat.uid, m.uid);
        }
        // The kubelet starts each member from its manifest; together they have quorum.
        await Promise.all(cluster.members.map((m) => cluster.restartMember(m.name, 180_000)));
        for (const m of cluster.members) {
            assert.ok(await refused(m.ip, 2379), `${m.name} serves clients from outside during the quarantine`);
        }
        assert.doesNotMatch(watchOutput, /compacted/);
    });

    it("once every member runs, each releases: clients are served, without a restart", async () => {
        const ran = await onEvery((i) => restoreMember(i, ["--wait-minutes=5"]));
        for (const r of ran) {
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.ok(events(r.stdout).some((e) => e.event === "restore-member.released"));
        }
        for (const m of cluster.members) {
            assert.equal(await refused(m.ip, 2379), false, `${m.name} does not serve clients after the release`);
        }
    });

    it("every key is back as it was backed up, and the revision is past anything the lost cluster served", async () => {
        const c = client();
        try {
            const all = await c.getAll().prefix("/registry/test/").strings();
            assert.equal(Object.keys(all).length, KEY_COUNT);
            for (let i = 0; i < KEY_COUNT; i++) {
                assert.equal(all[keyOf(i)], valueOf(i), keyOf(i));
            }
            assert.equal(await c.get("/registry/after-backup").string(), null);
            const revision = Number((await c.maintenance.status()).header.revision);
            if (await bumps()) {
                assert.ok(revision > revisionBefore, `revision ${revision} after, ${revisionBefore} before`);
                assert.ok(revision >= backedUpRevision + RESTORE_BUMP_REVISION);
            } else {
                // etcd 3.4's tool cannot bump the revision: it restarts at the snapshot's.
                assert.equal(revision, backedUpRevision);
            }
        } finally {
            c.close();
        }
    });

    it("the watch from before the disaster, resumed from its revision as a reflector does, is told it was compacted (3.4: every member says to restart kube-apiservers instead)", async function () {
        if (!(await bumps())) {
            // 3.4's tool cannot bump the revision, so a watch resumed past the snapshot's revision
            // would wait, silently, for revisions far away: every member's run says so and says
            // what to do (restart every kube-apiserver; docs/runbooks.md).
            assert.equal(firstRestoreOutputs.length, cluster.members.length);
            for (const out of firstRestoreOutputs) {
                const said = events(out).find((e) => e.event === "restore-member.no-bump-revision");
                assert.match(String(said?.consequence), /restart every kube-apiserver/);
            }
            return;
        }
        // The watch started before the disaster ended when its cluster went away (etcd cancels
        // watches that lose their leader); a kube-apiserver's reflector then watches again from the
        // last revision it saw. That resumed watch must hear "compacted" (and relist), not wait.
        const resumed = await resumeWatch(revisionBefore + 1);
        assert.match(resumed, /required revision has been compacted/);
    });

    it("a second run under the same restore id (a reboot, the next pulumi up) does nothing", async () => {
        const ran = await restoreMember(0);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        assert.ok(events(ran.stdout).some((e) => e.event === "restore-member.already-restored"));
    });

    it("a restore of another backup is refused while the cluster runs", async () => {
        secondBackup = await takeBackup();
        await requestRestore(secondBackup);
        const ran = await restoreMember(1);
        assert.equal(ran.code, 1, ran.stdout + ran.stderr);
        assert.match(ran.stderr, /a member of this cluster answers at .*refusing to restore over a running cluster/);
        assert.ok(fs.existsSync(cluster.onHost("etcd-1", NODE_PATHS.manifest)), "the manifest was left alone");
    });

    it("told to restore over the running cluster, every member stops, keeps its old data aside and restores", async () => {
        const c = client();
        try {
            await c.put("/registry/after-second-backup").value("lost too").exec();
        } finally {
            c.close();
        }
        await requestRestore(secondBackup, true);
        const runs = onEvery((i) => restoreMember(i, ["--no-wait"]));
        // The kubelet: a member whose manifest was taken away is stopped.
        const deadline = Date.now() + 120_000;
        const stopped = new Set<string>();
        while (stopped.size < cluster.members.length && Date.now() < deadline) {
            for (const m of cluster.members) {
                if (!stopped.has(m.name) && !fs.existsSync(cluster.onHost(m.name, NODE_PATHS.manifest))) {
                    await cluster.stopMember(m);
                    stopped.add(m.name);
                }
            }
            await delay(200);
        }
        const ran = await runs;
        for (const r of ran) {
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.ok(
                events(r.stdout).some((e) => e.event === "restore-member.moved-aside"),
                r.stdout,
            );
        }
        await Promise.all(cluster.members.map((m) => cluster.restartMember(m.name, 180_000)));
        for (const m of cluster.members) {
            assert.ok(await refused(m.ip, 2379), `${m.name} serves clients from outside during the quarantine`);
            const aside = fs
                .readdirSync(path.dirname(cluster.onHost(m.name, NODE_PATHS.dataDir)))
                .filter((n) => n.startsWith("etcd.before-restore-"));
            assert.equal(aside.length, 1, `${m.name}: ${aside.join(", ")}`);
        }
        for (const r of await onEvery((i) => restoreMember(i, ["--wait-minutes=5"]))) {
            assert.equal(r.code, 0, r.stdout + r.stderr);
        }
        const after = client();
        try {
            assert.equal(Object.keys(await after.getAll().prefix("/registry/test/").strings()).length, KEY_COUNT);
            assert.equal(await after.get("/registry/after-second-backup").string(), null);
        } finally {
            after.close();
        }
    });

    it("a corrupt backup stops the restore at first boot with a clear error and no member serving", async () => {
        const corrupt = await takeBackup();
        const got = await s3.client.send(new GetObjectCommand({ Bucket: backupConfig.bucket, Key: corrupt }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        bytes[Math.floor(bytes.length / 2)] ^= 0x01;
        await s3.client.send(new PutObjectCommand({ Bucket: backupConfig.bucket, Key: corrupt, Body: bytes }));
        await disaster();
        // First boot: the boot script writes the manifest only after the restore succeeded.
        for (const m of cluster.members) {
            fs.rmSync(cluster.onHost(m.name, NODE_PATHS.manifest));
        }
        await requestRestore(corrupt);
        const ran = await onEvery((i) => restoreMember(i, ["--no-wait"]));
        for (const [i, r] of ran.entries()) {
            const m = cluster.members[i];
            assert.equal(r.code, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /a frame failed authentication|does not decrypt to a whole snapshot/);
            assert.ok(!fs.existsSync(cluster.onHost(m.name, NODE_PATHS.manifest)), "no manifest: etcd does not run");
            assert.deepEqual(fs.readdirSync(cluster.onHost(m.name, NODE_PATHS.dataDir)), []);
            assert.ok(await refused(m.ip, 2379));
        }
    });

    it("a forged backup (an authentic one replayed under a later key, its manifest moved with it) stops the restore the same way", async () => {
        // The cluster is down from the test before: nothing answers, every data dir is empty.
        const original = JSON.parse((await bytesOf(manifestKeyOf(secondBackup))).toString()) as BackupManifest;
        const later = new Date(Date.now() + 60_000);
        // Beside the original, in its tier's folder, named as if taken a minute from now.
        const folder = /^(.*?)\d{4}\/\d{2}\/\d{2}\//.exec(secondBackup)![1];
        const replayKey = snapshotKey(objectBase(folder, backupConfig.cluster, later), original.revision);
        await s3.client.send(
            new PutObjectCommand({ Bucket: backupConfig.bucket, Key: replayKey, Body: await bytesOf(secondBackup) }),
        );
        await s3.client.send(
            new PutObjectCommand({
                Bucket: backupConfig.bucket,
                Key: manifestKeyOf(replayKey),
                Body: JSON.stringify({ ...original, objectKey: replayKey, createdAt: later.toISOString() }),
            }),
        );
        await requestRestore(replayKey);
        const ran = await onEvery((i) => restoreMember(i, ["--no-wait"]));
        for (const [i, r] of ran.entries()) {
            const m = cluster.members[i];
            assert.equal(r.code, 1, r.stdout + r.stderr);
            assert.match(r.stderr, /moved or replayed under another key/);
            assert.ok(!fs.existsSync(cluster.onHost(m.name, NODE_PATHS.manifest)), "no manifest: etcd does not run");
            assert.deepEqual(fs.readdirSync(cluster.onHost(m.name, NODE_PATHS.dataDir)), []);
            assert.ok(await refused(m.ip, 2379));
        }
    });

    async function bytesOf(key: string): Promise<Buffer> {
        const got = await s3.client.send(new GetObjectCommand({ Bucket: backupConfig.bucket, Key: key }));
        return Buffer.from(await got.Body!.transformToByteArray());
    }

    /** `etcdctl watch --prefix /registry/ --rev=<revision>` as the backup client, its output piped. */
    function spawnWatch(revision: number): ChildProcess & { stdout: Readable; stderr: Readable } {
        return spawn(
            "etcdctl",
            [
                `--endpoints=${endpoints().join(",")}`,
                `--cacert=${files.ca}`,
                `--cert=${files.cert}`,
                `--key=${files.key}`,
                "watch",
                "--prefix",
                "/registry/",
                `--rev=${revision}`,
            ],
            { env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["ignore", "pipe", "pipe"] },
        );
    }

    /** `etcdctl watch --rev` against the restored cluster until it ends (at most two minutes): its output. */
    function resumeWatch(revision: number): Promise<string> {
        return new Promise((resolve) => {
            let out = "";
            const resumed = spawnWatch(revision);
            resumed.stdout.on("data", (d: Buffer) => (out += d.toString()));
            resumed.stderr.on("data", (d: Buffer) => (out += d.toString()));
            const timer = setTimeout(() => resumed.kill("SIGKILL"), 120_000);
            resumed.once("exit", () => {
                clearTimeout(timer);
                resolve(out);
            });
        });
    }

    async function bumps(): Promise<boolean> {
        const ran = await run(["etcdutl", "snapshot", "restore", "--help"], process.env).catch(() => undefined);
        return ran !== undefined && ran.code === 0 && ran.stdout.includes("--bump-revision");
    }
});
