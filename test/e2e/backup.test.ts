// Backups on the conformance cluster, RBAC on: the agent (`secure-etcd backup`, the one-file artifact
// members install, run alone from an empty directory) with the backup client's certificate, a real S3-protocol server on loopback, and a raw keyring; then
// `secure-etcd restore-verify` into a fresh etcd, and every way a bad backup must be refused.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { Etcd3 } from "etcd3";
import { BackupManifest } from "../../agent/backup/objects";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { renderBootstrapScript } from "../../src/rbac/bootstrapScript";
import { resolveRbac } from "../../src/rbac/roles";
import { isolatedAgent } from "../harness/agentBundle";
import { LocalS3, startS3Server } from "../harness/s3Server";
import { startNetnsCluster } from "./localCluster";

/** The artifact, copied alone into the test's directory (before). */
let agent: string;
const BUCKET = "etcd-backups-e2e";
const CLUSTER = "e2e";
const KEY_COUNT = 10_000;
const FAKE_KMS_ARN = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000";

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(agent, args, { encoding: "utf8", env, timeout: 120_000 }, (error, stdout, stderr) =>
            resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
        );
    });
}

/** The agent's JSON log lines. */
function events(out: string): Record<string, unknown>[] {
    return out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The value written at key i: small mostly, 100 KiB now and then, so the snapshot spans several parts. */
function valueOf(i: number): Buffer {
    const seed = crypto.createHash("sha256").update(`value-${i}`).digest();
    const size = i % 500 === 0 ? 100 * 1024 : 64 + (i % 200);
    return Buffer.concat(Array.from({ length: Math.ceil(size / 32) }, () => seed)).subarray(0, size);
}

const keyOf = (i: number) => `/registry/test/${String(i).padStart(5, "0")}`;

/** The digest restore-verify reports, computed from what this test wrote (keys in byte order). */
function expectedDigest(): string {
    const hash = crypto.createHash("sha256");
    const length = Buffer.alloc(4);
    const keys = Array.from({ length: KEY_COUNT }, (_, i) => i).sort((a, b) =>
        Buffer.compare(Buffer.from(keyOf(a)), Buffer.from(keyOf(b))),
    );
    for (const i of keys) {
        for (const part of [Buffer.from(keyOf(i)), valueOf(i)]) {
            length.writeUInt32BE(part.length);
            hash.update(length);
            hash.update(part);
        }
    }
    return hash.digest("hex");
}

describe("backup and restore-verify on a real three-member cluster and a real S3-protocol server", function () {
    this.timeout(300_000);
    let cluster: LocalEtcdCluster;
    let s3: LocalS3;
    let dir: string;
    let rawKey: string;
    let wrongKey: string;
    let leader: string;
    let follower: string;
    let manifest: BackupManifest;
    const files = { ca: "", cert: "", key: "" };

    const connection = (endpoint: string) => [
        `--endpoints=${endpoint}`,
        `--cacert=${files.ca}`,
        `--cert=${files.cert}`,
        `--key=${files.key}`,
    ];
    const target = () => [
        `--cluster=${CLUSTER}`,
        `--bucket=${BUCKET}`,
        "--region=us-east-1",
        `--s3-endpoint=${s3.endpoint}`,
        "--json",
    ];
    const backup = (endpoint: string, extra: string[] = []) =>
        runCli(
            [
                "backup",
                ...connection(endpoint),
                ...target(),
                `--raw-key-file=${rawKey}`,
                `--sse-kms-key-arn=${FAKE_KMS_ARN}`,
                "--part-size-mib=5",
                ...extra,
            ],
            s3.env,
        );
    const restoreVerify = (extra: string[]) => runCli(["restore-verify", ...target(), ...extra], s3.env);

    async function listKeys(): Promise<string[]> {
        const page = await s3.client.send(
            new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `etcd-backups/${CLUSTER}/` }),
        );
        return (page.Contents ?? []).map((o) => o.Key!).sort();
    }

    async function getBytes(key: string): Promise<Buffer> {
        const out = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        return Buffer.from(await out.Body!.transformToByteArray());
    }

    /** Stores `body` as a backup beside the good one, with a manifest that describes it as good. */
    async function plant(name: string, body: Buffer): Promise<string> {
        const key = manifest.objectKey.replace(/\.db\.enc$/, `-${name}.db.enc`);
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        const planted = { ...manifest, objectKey: key, encryptedBytes: body.length };
        await s3.client.send(
            new PutObjectCommand({
                Bucket: BUCKET,
                Key: key.replace(/\.db\.enc$/, ".manifest.json"),
                Body: JSON.stringify(planted),
            }),
        );
        return key;
    }

    /**
     * Which member leads decides which one's timer backs up. Asked again right before each run that
     * depends on it: an election (a busy machine can cause one) may have moved leadership since.
     */
    async function findLeader(): Promise<void> {
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        for (const m of cluster.members) {
            const endpoint = `https://${m.ip}:2379`;
            const one = new Etcd3({
                hosts: [endpoint],
                credentials: {
                    rootCertificate: Buffer.from(creds.caCertPem),
                    certChain: Buffer.from(creds.certPem),
                    privateKey: Buffer.from(creds.keyPem),
                },
            });
            try {
                const status = await one.maintenance.status();
                if (String(status.leader) === String(status.header.member_id)) {
                    leader = endpoint;
                } else {
                    follower = endpoint;
                }
            } finally {
                one.close();
            }
        }
    }

    before(async () => {
        cluster = await startNetnsCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-backup-e2e-"));
        agent = isolatedAgent(dir);
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        files.ca = path.join(dir, "ca.crt");
        files.cert = path.join(dir, "backup-client.crt");
        files.key = path.join(dir, "backup-client.key");
        fs.writeFileSync(files.ca, creds.caCertPem);
        fs.writeFileSync(files.cert, creds.certPem);
        fs.writeFileSync(files.key, creds.keyPem, { mode: 0o600 });
        rawKey = path.join(dir, "backup.key");
        wrongKey = path.join(dir, "wrong.key");
        fs.writeFileSync(rawKey, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
        fs.writeFileSync(wrongKey, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });

        const endpoints = cluster.members.map((m) => `https://${m.ip}:2379`);
        // RBAC on, as on a real cluster: the backup user holds etcd's root role.
        const script = path.join(dir, "rbac.py");
        const password = path.join(dir, "root-password");
        fs.writeFileSync(script, renderBootstrapScript(resolveRbac({})));
        fs.writeFileSync(password, crypto.randomBytes(18).toString("base64"), { mode: 0o600 });
        const ran = await new Promise<Ran>((resolve) =>
            execFile(
                "python3",
                [script, ...connection(endpoints[0]), "--root-password-file", password],
                { encoding: "utf8" },
                (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
            ),
        );
        assert.equal(ran.code, 0, ran.stderr);

        const client = new Etcd3({
            hosts: endpoints,
            credentials: {
                rootCertificate: Buffer.from(creds.caCertPem),
                certChain: Buffer.from(creds.certPem),
                privateKey: Buffer.from(creds.keyPem),
            },
        });
        try {
            for (let start = 0; start < KEY_COUNT; start += 200) {
                await Promise.all(
                    Array.from({ length: Math.min(200, KEY_COUNT - start) }, (_, j) =>
                        client
                            .put(keyOf(start + j))
                            .value(valueOf(start + j))
                            .exec(),
                    ),
                );
            }
            await findLeader();
        } finally {
            client.close();
        }
        s3 = await startS3Server(BUCKET);
    });

    after(async () => {
        await s3?.stop();
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a follower's timer run does nothing and says why", async () => {
        await findLeader();
        const ran = await backup(follower, ["--only-if-leader"]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const skipped = events(ran.stdout).find((e) => e.event === "backup.skipped");
        assert.match(String(skipped?.reason), /is not the leader/);
        assert.deepEqual(await listKeys(), []);
    });

    it("the leader's run uploads the encrypted snapshot and then its manifest", async () => {
        await findLeader();
        const ran = await backup(leader, ["--only-if-leader"]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const done = events(ran.stdout).find((e) => e.event === "backup.completed")!;
        assert.ok(done, ran.stdout);
        const keys = await listKeys();
        assert.equal(keys.length, 2, keys.join(", "));
        const [snapshotKey, manifestKey] = keys;
        assert.match(snapshotKey, /^etcd-backups\/e2e\/\d{4}\/\d{2}\/\d{2}\/e2e-\d{8}T\d{6}Z-rev\d+\.db\.enc$/);
        assert.equal(manifestKey, snapshotKey.replace(/\.db\.enc$/, ".manifest.json"));
        manifest = JSON.parse((await getBytes(manifestKey)).toString()) as BackupManifest;
        assert.equal(manifest.cluster, CLUSTER);
        assert.equal(manifest.objectKey, snapshotKey);
        assert.match(manifest.sha256, /^[0-9a-f]{64}$/);
        assert.ok(manifest.plaintextBytes > 1_000_000, `snapshot of ${manifest.plaintextBytes} bytes`);
        assert.ok(manifest.revision >= KEY_COUNT, `revision ${manifest.revision}`);
        // Metadata: the snapshot names its cluster and revision; the manifest also its size and digest.
        const snapHead = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: snapshotKey }));
        assert.equal(snapHead.Metadata?.revision, String(manifest.revision));
        assert.equal(snapHead.Metadata?.cluster, CLUSTER);
        assert.equal(snapHead.ContentLength, manifest.encryptedBytes);
        const manifestHead = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
        assert.equal(manifestHead.Metadata?.["plaintext-sha256"], manifest.sha256);
        assert.equal(manifestHead.Metadata?.["plaintext-bytes"], String(manifest.plaintextBytes));
        // Encrypted client-side: no stretch of a written value appears in the object.
        const stored = await getBytes(snapshotKey);
        assert.equal(stored.indexOf(valueOf(500).subarray(0, 64)), -1);
        assert.equal(stored.indexOf(Buffer.from(keyOf(1234))), -1);
    });

    it("restore-verify restores it into a fresh etcd that serves every key with its exact value", async () => {
        const keep = path.join(dir, "restored");
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, "--restore", `--keep-dir=${keep}`]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const ok = events(ran.stdout).find((e) => e.event === "restore-verify.ok")!;
        assert.equal(ok.object, manifest.objectKey, "the newest backup by default");
        assert.equal(ok.keys, KEY_COUNT);
        assert.equal(ok.contentSha256, expectedDigest(), "every key and value identical to what was written");
        const status = events(ran.stdout).find((e) => e.event === "restore-verify.status")!;
        assert.ok(Number(status.revision) >= manifest.revision);
        assert.equal(fs.statSync(path.join(keep, "snapshot.db")).mode & 0o777, 0o600);
        assert.equal(
            crypto
                .createHash("sha256")
                .update(fs.readFileSync(path.join(keep, "snapshot.db")))
                .digest("hex"),
            manifest.sha256,
        );
    });

    it("refuses a tampered object", async () => {
        const body = await getBytes(manifest.objectKey);
        body[Math.floor(body.length / 2)] ^= 0x01;
        const key = await plant("tampered", body);
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${key}`]);
        assert.equal(ran.code, 1, ran.stdout);
        const failed = events(ran.stdout).find((e) => e.event === "restore-verify.failed")!;
        assert.match(
            String(failed.error),
            /does not decrypt to a whole snapshot: a frame failed authentication: the object was altered/,
        );
    });

    it("refuses a wrong key", async () => {
        const ran = await restoreVerify([`--raw-key-file=${wrongKey}`, `--object=${manifest.objectKey}`]);
        assert.equal(ran.code, 1, ran.stdout);
        const failed = events(ran.stdout).find((e) => e.event === "restore-verify.failed")!;
        assert.match(
            String(failed.error),
            /does not decrypt to a whole snapshot: no key in the keyring unwraps this backup.s data key: a wrong key/,
        );
    });

    it("refuses a truncated upload", async () => {
        const body = await getBytes(manifest.objectKey);
        const key = await plant("truncated", body.subarray(0, Math.floor(body.length * 0.6)));
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${key}`]);
        assert.equal(ran.code, 1, ran.stdout);
        const failed = events(ran.stdout).find((e) => e.event === "restore-verify.failed")!;
        assert.match(
            String(failed.error),
            /does not decrypt to a whole snapshot: the object ends before the message does: truncated/,
        );
    });

    it("refuses a snapshot whose manifest is missing: an upload that never completed", async () => {
        const key = manifest.objectKey.replace(/\.db\.enc$/, "-orphan.db.enc");
        await s3.client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await getBytes(manifest.objectKey) }),
        );
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${key}`]);
        assert.equal(ran.code, 1);
        assert.match(
            String(events(ran.stdout).find((e) => e.event === "restore-verify.failed")!.error),
            /without its manifest/,
        );
    });

    it("refuses another cluster's backup (the encryption context names the cluster)", async () => {
        const ran = await runCli(
            [
                "restore-verify",
                "--cluster=other",
                `--bucket=${BUCKET}`,
                "--region=us-east-1",
                `--s3-endpoint=${s3.endpoint}`,
                "--json",
                `--raw-key-file=${rawKey}`,
                `--object=${manifest.objectKey}`,
            ],
            s3.env,
        );
        assert.equal(ran.code, 1);
        assert.match(
            String(events(ran.stdout).find((e) => e.event === "restore-verify.failed")!.error),
            /backup is of cluster e2e, not other/,
        );
    });

    it("a backup that cannot finish fails non-zero, clearly, and leaves no backup", async () => {
        const before = await listKeys();
        // No such bucket: the upload fails after the snapshot has started streaming.
        const ran = await runCli(
            [
                "backup",
                ...connection(leader),
                "--cluster=e2e",
                "--bucket=no-such-bucket",
                "--region=us-east-1",
                `--s3-endpoint=${s3.endpoint}`,
                "--json",
                `--raw-key-file=${rawKey}`,
            ],
            s3.env,
        );
        assert.equal(ran.code, 1);
        const failed = events(ran.stdout).find((e) => e.event === "backup.failed")!;
        assert.match(String(failed.error), /backup failed: NoSuchBucket/);
        assert.deepEqual(await listKeys(), before);
        // A bad key file is refused before etcd or S3 is touched.
        fs.writeFileSync(path.join(dir, "short.key"), "c2hvcnQ=");
        const badKey = await backup(leader, [`--raw-key-file=${path.join(dir, "short.key")}`]);
        assert.equal(badKey.code, 1);
        assert.match(badKey.stdout, /must hold exactly 32 bytes, base64-encoded/);
    });
});
