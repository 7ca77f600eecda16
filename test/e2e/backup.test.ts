// Backups on the conformance cluster, RBAC on: the agent (`secure-etcd backup`, the one-file artifact
// members install, run alone from an empty directory) with the backup client's certificate, a real S3-protocol server on loopback, and a raw keyring; then
// `secure-etcd restore-verify` into a fresh etcd, and every way a bad backup must be refused: altered,
// truncated, with bytes appended, swapped in from another cluster, replayed under a newer key, dated
// in the future or in the past — and then the newest authentic backup restored all the same.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { Etcd3 } from "etcd3";
import { uploadSnapshot } from "../../agent/backup/backup";
import { structuredLog } from "../../agent/backup/log";
import { BackupManifest, manifestKeyOf, objectBase, snapshotKey } from "../../agent/backup/objects";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { renderBackupAgentConfig } from "../../src/backup/backupNodeFiles";
import { renderBootstrapScript } from "../../src/rbac/bootstrapScript";
import { resolveRbac } from "../../src/rbac/roles";
import { isolatedAgent } from "../harness/agentBundle";
import { LocalS3, RecordedRequest, startS3Server } from "../harness/s3Server";
import { decide, Decision } from "../harness/iam";
import { asPolicyRequest, policyQuestions } from "../harness/s3Policy";
import { backupBucketPolicy, backupWriterPolicy } from "../../src/backup/backupPolicies";
import { startNetnsCluster } from "./localCluster";

/** The artifact, copied alone into the test's directory (before). */
let agent: string;
const BUCKET = "etcd-backups-e2e";
const PROJECT = "e2e-project";
const STACK = "e2e";
const CLUSTER = "e2e";
const PREFIX = `etcd-backups/${CLUSTER}/`;
const DAY = 24 * 3600 * 1000;
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
    /** What the leader's agent sent to the S3 server for its backup. */
    let agentRequests: RecordedRequest[] = [];
    const files = { ca: "", cert: "", key: "" };

    const connection = (endpoint: string) => [
        `--endpoints=${endpoint}`,
        `--cacert=${files.ca}`,
        `--cert=${files.cert}`,
        `--key=${files.key}`,
    ];
    const target = () => [
        `--project=${PROJECT}`,
        `--stack=${STACK}`,
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
    /** The reason a run refused a backup: the one it failed with, or the refusal logged for `manifestKey`. */
    const failure = (ran: Ran) => String(events(ran.stdout).find((e) => e.event === "restore-verify.failed")?.error);

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

    async function putJson(key: string, value: unknown): Promise<void> {
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(value) }));
    }

    async function readManifestAt(key: string): Promise<BackupManifest> {
        return JSON.parse((await getBytes(key)).toString()) as BackupManifest;
    }

    /** A write between backups, so each is at a revision (and so a key) of its own. */
    async function bumpRevision(): Promise<void> {
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        const client = new Etcd3({
            hosts: cluster.members.map((m) => `https://${m.ip}:2379`),
            credentials: {
                rootCertificate: Buffer.from(creds.caCertPem),
                certChain: Buffer.from(creds.certPem),
                privateKey: Buffer.from(creds.keyPem),
            },
        });
        try {
            await client.put(`/e2e-marker/${Date.now()}`).value("x").exec();
        } finally {
            client.close();
        }
    }

    /** Another backup by the agent (of stack `stack`), after the good one: its manifest. */
    async function anotherBackup(stack = STACK): Promise<BackupManifest> {
        await bumpRevision();
        await findLeader();
        const ran = await backup(leader, [`--stack=${stack}`]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const done = events(ran.stdout).find((e) => e.event === "backup.completed")!;
        return readManifestAt(String(done.manifest));
    }

    /**
     * A backup encrypted with the cluster's key by someone who holds it (what a member's writer
     * role can do), of the verified snapshot, with the time given: the agent's own upload code.
     */
    async function keyHoldersBackup(createdAt: Date): Promise<BackupManifest> {
        const snapshot = path.join(dir, "restored", "snapshot.db");
        const result = await uploadSnapshot(
            {
                stream: fs.createReadStream(snapshot),
                revision: manifest.revision,
                totalBytes: fs.statSync(snapshot).size,
                etcdVersion: manifest.etcdVersion,
                createdAt,
            },
            {
                project: PROJECT,
                stack: STACK,
                cluster: CLUSTER,
                prefix: PREFIX,
                bucket: BUCKET,
                region: "us-east-1",
                endpoint: s3.endpoint,
                keyring: { rawKeyFile: rawKey },
                partSize: 5 * 1024 * 1024,
                log: structuredLog(() => undefined),
            },
        );
        return result.manifest!;
    }

    /** Replaces a backup's object in place, and with `manifest` its manifest too (a forger's edits). */
    async function replace(m: BackupManifest, body: Buffer, edits?: Partial<BackupManifest>): Promise<void> {
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: m.objectKey, Body: body }));
        if (edits) {
            await putJson(manifestKeyOf(m.objectKey), { ...m, ...edits });
        }
    }

    /** What each forgery below was refused for, by manifest key: the default run must refuse each again. */
    const expectedRefusals = new Map<string, RegExp>();

    /**
     * Which member leads decides which one's timer backs up. Asked again right before each run that
     * depends on it: an election (a busy machine can cause one) may have moved leadership since.
     */
    async function findLeader(): Promise<void> {
        const creds = cluster.rendered.clientCredentials["etcd-backup"];
        // Until every member names the same leader (mid-election they do not; mocha's timeout bounds it).
        for (;;) {
            const seen: { endpoint: string; leads: boolean; leader: string }[] = [];
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
                    const leads = String(status.leader) === String(status.header.member_id);
                    seen.push({ endpoint, leads, leader: String(status.leader) });
                } catch {
                    // Not answering right now: asked again below.
                } finally {
                    one.close();
                }
            }
            const leaders = seen.filter((s) => s.leads);
            if (
                seen.length === cluster.members.length &&
                leaders.length === 1 &&
                new Set(seen.map((s) => s.leader)).size === 1
            ) {
                leader = leaders[0].endpoint;
                follower = seen.find((s) => !s.leads)!.endpoint;
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 200));
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
        const before = s3.requests.length;
        const ran = await backup(leader, ["--only-if-leader"]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        agentRequests = s3.requests.slice(before);
        const done = events(ran.stdout).find((e) => e.event === "backup.completed")!;
        assert.ok(done, ran.stdout);
        const keys = await listKeys();
        assert.equal(keys.length, 2, keys.join(", "));
        const [snapshotKey, manifestKey] = keys;
        assert.match(snapshotKey, /^etcd-backups\/e2e\/\d{4}\/\d{2}\/\d{2}\/e2e-\d{8}T\d{6}Z-rev\d+\.db\.enc$/);
        assert.equal(manifestKey, snapshotKey.replace(/\.db\.enc$/, ".manifest.json"));
        manifest = JSON.parse((await getBytes(manifestKey)).toString()) as BackupManifest;
        assert.deepEqual(
            { project: manifest.project, stack: manifest.stack, cluster: manifest.cluster },
            { project: PROJECT, stack: STACK, cluster: CLUSTER },
        );
        assert.equal(manifest.objectKey, snapshotKey);
        assert.match(manifest.sha256, /^[0-9a-f]{64}$/);
        assert.ok(manifest.plaintextBytes > 1_000_000, `snapshot of ${manifest.plaintextBytes} bytes`);
        assert.ok(manifest.revision >= KEY_COUNT, `revision ${manifest.revision}`);
        // Metadata: the snapshot names its cluster and revision; the manifest also its size and digest.
        const snapHead = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: snapshotKey }));
        assert.equal(snapHead.Metadata?.revision, String(manifest.revision));
        assert.equal(snapHead.Metadata?.cluster, CLUSTER);
        assert.equal(snapHead.Metadata?.stack, STACK);
        assert.equal(snapHead.Metadata?.project, PROJECT);
        assert.equal(snapHead.ContentLength, manifest.encryptedBytes);
        const manifestHead = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
        assert.equal(manifestHead.Metadata?.["plaintext-sha256"], manifest.sha256);
        assert.equal(manifestHead.Metadata?.["plaintext-bytes"], String(manifest.plaintextBytes));
        // Encrypted client-side: no stretch of a written value appears in the object.
        const stored = await getBytes(snapshotKey);
        assert.equal(stored.indexOf(valueOf(500).subarray(0, 64)), -1);
        assert.equal(stored.indexOf(Buffer.from(keyOf(1234))), -1);
    });

    it("the agent's own requests pass the rendered bucket and writer policies (IAM simulator); without If-None-Match its object writes would not", async () => {
        const bucketArn = `arn:aws:s3:::${BUCKET}`;
        const policyInput = {
            bucketArn,
            // One writer policy over both prefixes used here.
            prefix: "etcd-backups/",
            kmsKeyArn: FAKE_KMS_ARN,
            region: "us-east-1",
            project: PROJECT,
            stack: STACK,
            cluster: CLUSTER,
            administratorArns: [],
        };
        const writer = {
            name: "writer",
            principal: "arn:aws:iam::123456789012:role/etcd-0",
            policies: [backupWriterPolicy(policyInput)],
        };
        const bucketPolicy = backupBucketPolicy(policyInput);
        // A snapshot above the part size goes up in parts: the agent's upload code, in this
        // process, of a synthetic 11 MiB snapshot (random bytes and their SHA-256 trailer, as
        // etcd writes), under a prefix of its own so that it is not among this cluster's backups.
        const body = crypto.randomBytes(11 * 1024 * 1024);
        const synthetic = Buffer.concat([body, crypto.createHash("sha256").update(body).digest()]);
        const before = s3.requests.length;
        await uploadSnapshot(
            {
                stream: Readable.from([synthetic]),
                revision: 1,
                totalBytes: synthetic.length,
                etcdVersion: manifest.etcdVersion,
                createdAt: new Date(),
            },
            {
                project: PROJECT,
                stack: STACK,
                cluster: `${CLUSTER}-multipart`,
                prefix: `etcd-backups/${CLUSTER}-multipart/`,
                bucket: BUCKET,
                region: "us-east-1",
                endpoint: s3.endpoint,
                keyring: { rawKeyFile: rawKey },
                sseKmsKeyArn: FAKE_KMS_ARN,
                partSize: 5 * 1024 * 1024,
                log: structuredLog(() => undefined),
            },
        );
        const multipart = s3.requests.slice(before);
        const decisions = async (withIfNoneMatch: boolean) => {
            const out: string[] = [];
            for (const recorded of [...agentRequests, ...multipart]) {
                const request = asPolicyRequest(recorded, withIfNoneMatch ? [] : ["if-none-match"]);
                const decision: Decision = await decide(
                    writer,
                    { ...request, resourcePolicy: bucketPolicy },
                    "123456789012",
                );
                out.push(`${request.operation} ${decision}`);
            }
            return [...new Set(out)].sort();
        };
        // The cluster's snapshot and manifest in one PUT each; the synthetic one in parts.
        assert.deepEqual(await decisions(true), [
            "CompleteMultipartUpload Allowed",
            "CreateMultipartUpload Allowed",
            "PutObject Allowed",
            "UploadPart Allowed",
        ]);
        assert.ok(
            agentRequests.every((r) => r.method === "PUT" || r.method === "POST"),
            "the writer only writes",
        );
        // The same requests without the header: the two that create an object are refused.
        assert.deepEqual(await decisions(false), [
            "CompleteMultipartUpload ExplicitlyDenied",
            "CreateMultipartUpload Allowed",
            "PutObject ExplicitlyDenied",
            "UploadPart Allowed",
        ]);
    });

    it("restore-verify restores it into a fresh etcd that serves every key with its exact value", async () => {
        const keep = path.join(dir, "restored");
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, "--restore", `--keep-dir=${keep}`]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const ok = events(ran.stdout).find((e) => e.event === "restore-verify.ok")!;
        assert.equal(ok.object, manifest.objectKey, "the newest backup by default");
        assert.equal(ok.refused, 0);
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

    /** restore-verify --object for a backup: refused (exit 1) with `reason`, remembered for the default run. */
    async function refused(m: BackupManifest, reason: RegExp, key = m.objectKey): Promise<void> {
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${key}`]);
        assert.equal(ran.code, 1, ran.stdout + ran.stderr);
        assert.match(failure(ran), reason);
        expectedRefusals.set(manifestKeyOf(key), reason);
    }

    it("refuses a backup altered in place", async () => {
        const m = await anotherBackup();
        const body = await getBytes(m.objectKey);
        body[Math.floor(body.length / 2)] ^= 0x01;
        await replace(m, body);
        await refused(m, /does not decrypt to a whole snapshot: a frame failed authentication: the object was altered/);
    });

    it("refuses a wrong key", async () => {
        const ran = await restoreVerify([`--raw-key-file=${wrongKey}`, `--object=${manifest.objectKey}`]);
        assert.equal(ran.code, 1, ran.stdout);
        assert.match(
            failure(ran),
            /does not decrypt to a whole snapshot: no key in the keyring unwraps this backup.s data key: a wrong key/,
        );
    });

    it("refuses a truncated object, whether or not its manifest was edited to match", async () => {
        const m = await anotherBackup();
        const body = await getBytes(m.objectKey);
        const cut = body.subarray(0, Math.floor(body.length * 0.6));
        await replace(m, cut);
        await refused(
            m,
            new RegExp(
                `the object ${m.objectKey} is ${cut.length} bytes, the manifest records ${m.encryptedBytes}: it was truncated`,
            ),
        );
        // The manifest is a claim a forger can edit: the message's own structure says where it ends.
        const edited = await anotherBackup();
        const bytes = await getBytes(edited.objectKey);
        await replace(edited, bytes.subarray(0, bytes.length - 10), { encryptedBytes: bytes.length - 10 });
        await refused(
            edited,
            new RegExp(
                `does not decrypt to a whole snapshot: the object ends after ${bytes.length - 10} bytes, before its encrypted message does: truncated`,
            ),
        );
    });

    it("refuses bytes appended to an object, whether or not its manifest was edited to match", async () => {
        const m = await anotherBackup();
        const body = Buffer.concat([await getBytes(m.objectKey), crypto.randomBytes(4096)]);
        await replace(m, body);
        await refused(
            m,
            new RegExp(`is ${body.length} bytes, the manifest records ${m.encryptedBytes}: bytes were appended to it`),
        );
        const edited = await anotherBackup();
        const original = await getBytes(edited.objectKey);
        const appended = Buffer.concat([original, crypto.randomBytes(4096)]);
        await replace(edited, appended, { encryptedBytes: appended.length });
        await refused(
            edited,
            new RegExp(
                `does not decrypt to a whole snapshot: 4096 bytes follow the end of its encrypted message \\(which ends at byte ${original.length} of ${appended.length}\\): appended after it was written`,
            ),
        );
    });

    it("refuses a snapshot whose manifest is missing: an upload that never completed", async () => {
        const key = manifest.objectKey.replace(/\.db\.enc$/, "-orphan.db.enc");
        await s3.client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await getBytes(manifest.objectKey) }),
        );
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${key}`]);
        assert.equal(ran.code, 1);
        assert.match(failure(ran), /does not exist: a snapshot without its manifest is an upload that never completed/);
    });

    it("refuses a backup of the previous format, saying to re-run a backup", async () => {
        // What the first agent wrote: a manifest bound to the component name alone.
        const key = snapshotKey(objectBase(PREFIX, CLUSTER, new Date(Date.now() - 30_000)), manifest.revision);
        await s3.client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await getBytes(manifest.objectKey) }),
        );
        const v1: Partial<BackupManifest> = { ...manifest, objectKey: key, format: "secure-etcd-backup/v1" };
        delete v1.project;
        delete v1.stack;
        await putJson(manifestKeyOf(key), v1);
        await refused(
            manifest,
            /was written in the previous format \(secure-etcd-backup\/v1\), which binds a backup to the component name alone, not to its stack, object key and time: it is refused\. Re-run a backup \(secure-etcd backup\) with this agent to have one that restores/,
            key,
        );
    });

    it("refuses this backup to a restore of another cluster: project, stack and name are its identity", async () => {
        for (const [option, other] of [
            ["--cluster", `${PROJECT}/${STACK}/other`],
            ["--stack", `${PROJECT}/other/${CLUSTER}`],
            ["--project", `other/${STACK}/${CLUSTER}`],
        ]) {
            const ran = await runCli(
                [
                    "restore-verify",
                    ...target(),
                    `${option}=other`,
                    `--prefix=${PREFIX}`,
                    `--raw-key-file=${rawKey}`,
                    `--object=${manifest.objectKey}`,
                ],
                s3.env,
            );
            assert.equal(ran.code, 1);
            assert.equal(
                failure(ran),
                `the manifest is of cluster ${PROJECT}/${STACK}/${CLUSTER} (project/stack/name), not ${other}: a backup of another cluster`,
            );
        }
    });

    it("refuses another stack's backup under the same prefix, and its object swapped in for one of ours", async () => {
        // Two stacks that share the bucket, the key and the component name share the prefix too.
        const theirs = await anotherBackup("other-stack");
        assert.ok(theirs.objectKey.startsWith(PREFIX));
        await refused(
            theirs,
            /the manifest is of cluster e2e-project\/other-stack\/e2e \(project\/stack\/name\), not e2e-project\/e2e\/e2e/,
        );
        // Their authentic ciphertext in place of ours, our manifest edited to match its sizes and digest.
        const ours = await anotherBackup();
        await replace(ours, await getBytes(theirs.objectKey), {
            encryptedBytes: theirs.encryptedBytes,
            plaintextBytes: theirs.plaintextBytes,
            sha256: theirs.sha256,
        });
        await refused(
            ours,
            /authenticated encryption context names stack "other-stack", not "e2e": a backup of another cluster, swapped in/,
        );
    });

    it("refuses a forged newer manifest: the good backup replayed under a later key, or named to sort last", async () => {
        // A later time and so a later name, the same authentic ciphertext: S3 and the name agree, the ciphertext does not.
        const later = new Date();
        const replayKey = snapshotKey(objectBase(PREFIX, CLUSTER, later), manifest.revision);
        await s3.client.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: replayKey, Body: await getBytes(manifest.objectKey) }),
        );
        await putJson(manifestKeyOf(replayKey), { ...manifest, objectKey: replayKey, createdAt: later.toISOString() });
        await refused(
            manifest,
            new RegExp(
                `authenticated encryption context names object key ${manifest.objectKey}, but it was read from ${replayKey}: moved or replayed under another key`,
            ),
            replayKey,
        );
        // A name chosen to sort after every backup, whose manifest describes the good one.
        const lastKey = `${PREFIX}9999/12/31/${CLUSTER}-99991231T235959Z-rev${manifest.revision}.db.enc`;
        await putJson(manifestKeyOf(lastKey), manifest);
        await refused(manifest, /describes .*: moved or replayed under another key/, lastKey);
    });

    it("refuses a backup a key holder dated in the future, or in the past (S3 says when it was written)", async () => {
        const future = await keyHoldersBackup(new Date(Date.now() + DAY + 3600 * 1000));
        await refused(future, /, 1 day after now \(.*; clocks may differ by 5 minutes\): dated in the future/);
        const past = await keyHoldersBackup(new Date(Date.now() - 3 * DAY - 3600 * 1000));
        await refused(
            past,
            /S3 stored the snapshot at .*, 3 days after the time the backup claims .*, longer than a backup takes \(1 day\): written later, not by the backup that took the snapshot/,
        );
    });

    it("with every forgery newer by S3's record, restores the newest authentic backup, saying what it refused", async () => {
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, "--restore"]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const logged = events(ran.stdout);
        const ok = logged.find((e) => e.event === "restore-verify.ok")!;
        assert.equal(ok.object, manifest.objectKey, "the first backup, the newest authentic one");
        assert.equal(ok.keys, KEY_COUNT);
        assert.equal(ok.contentSha256, expectedDigest(), "every key and value identical to what was written");
        const refusals = new Map(
            logged
                .filter((e) => e.event === "restore-verify.refused")
                .map((e) => [String(e.manifest), String(e.error)]),
        );
        assert.equal(ok.refused, refusals.size);
        // Every forgery was a candidate before the good backup (S3 wrote it later), and each was refused for its own reason.
        assert.ok(expectedRefusals.size >= 12, `${expectedRefusals.size} forgeries`);
        for (const [key, reason] of expectedRefusals) {
            assert.ok(refusals.has(key), `${key} was not a candidate: ${[...refusals.keys()].join(", ")}`);
            assert.match(refusals.get(key)!, reason, key);
        }
        assert.equal(refusals.size, expectedRefusals.size, [...refusals.keys()].join("\n"));
    });

    it("runs from the configuration the component renders, and refuses one rendered before backups named their stack", async () => {
        await bumpRevision();
        await findLeader();
        const config = renderBackupAgentConfig({
            project: PROJECT,
            stack: STACK,
            cluster: CLUSTER,
            bucket: BUCKET,
            region: "us-east-1",
            kmsKeyArn: FAKE_KMS_ARN,
            memberIp: new URL(leader).hostname,
        });
        const file = path.join(dir, "backup.json");
        // The rendered credentials' paths are a member's; the options name this test's files (options win).
        const run = () =>
            runCli(
                [
                    "backup",
                    `--config=${file}`,
                    `--cacert=${files.ca}`,
                    `--cert=${files.cert}`,
                    `--key=${files.key}`,
                    `--s3-endpoint=${s3.endpoint}`,
                    `--raw-key-file=${rawKey}`,
                    "--json",
                ],
                s3.env,
            );
        fs.writeFileSync(file, JSON.stringify(config));
        const ran = await run();
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const done = events(ran.stdout).find((e) => e.event === "backup.completed")!;
        const written = await readManifestAt(String(done.manifest));
        assert.deepEqual([written.project, written.stack, written.cluster], [PROJECT, STACK, CLUSTER]);
        const older: Partial<typeof config> = { ...config };
        delete older.project;
        delete older.stack;
        fs.writeFileSync(file, JSON.stringify(older));
        const refusedRun = await run();
        assert.equal(refusedRun.code, 2);
        assert.match(
            refusedRun.stderr,
            /project: missing; an earlier secure-etcd rendered this configuration: run `pulumi up` with the release of this agent\n {2}stack: missing/,
        );
    });

    it("with retention tiers from the rendered configuration: the day's first backup is daily, the next frequent; their requests pass the policies; restore-verify restores the newest across tiers", async () => {
        const dailyLock = { mode: "GOVERNANCE", days: 30 };
        const file = path.join(dir, "backup-tiers.json");
        const requests: RecordedRequest[] = [];
        const tieredBackup = async (): Promise<Record<string, unknown>> => {
            await bumpRevision();
            await findLeader();
            const config = renderBackupAgentConfig({
                project: PROJECT,
                stack: STACK,
                cluster: CLUSTER,
                bucket: BUCKET,
                region: "us-east-1",
                kmsKeyArn: FAKE_KMS_ARN,
                memberIp: new URL(leader).hostname,
                tiers: { dailyLock },
            });
            fs.writeFileSync(file, JSON.stringify(config));
            const before = s3.requests.length;
            const ran = await runCli(
                [
                    "backup",
                    `--config=${file}`,
                    `--cacert=${files.ca}`,
                    `--cert=${files.cert}`,
                    `--key=${files.key}`,
                    `--s3-endpoint=${s3.endpoint}`,
                    `--raw-key-file=${rawKey}`,
                    "--part-size-mib=5",
                    "--json",
                ],
                s3.env,
            );
            assert.equal(ran.code, 0, ran.stdout + ran.stderr);
            requests.push(...s3.requests.slice(before));
            return events(ran.stdout).find((e) => e.event === "backup.completed")!;
        };
        const first = await tieredBackup();
        const second = await tieredBackup();
        assert.deepEqual([first.tier, second.tier], ["daily", "frequent"]);
        assert.match(String(first.object), /^etcd-backups\/e2e\/daily\/\d{4}\/\d{2}\/\d{2}\//);
        assert.match(String(second.object), /^etcd-backups\/e2e\/frequent\/\d{4}\/\d{2}\/\d{2}\//);
        const daily = (
            await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}daily/` }))
        ).Contents!.map((o) => o.Key);
        assert.deepEqual(daily, [String(first.object), String(first.manifest)].sort(), "one daily backup today");

        // The artifact's own requests, as the IAM simulator decides them under the rendered policies.
        const policyInput = {
            bucketArn: `arn:aws:s3:::${BUCKET}`,
            prefix: PREFIX,
            kmsKeyArn: FAKE_KMS_ARN,
            region: "us-east-1",
            project: PROJECT,
            stack: STACK,
            cluster: CLUSTER,
            administratorArns: [],
            dailyLock,
        };
        const writer = {
            name: "writer",
            principal: "arn:aws:iam::123456789012:role/etcd-0",
            policies: [backupWriterPolicy(policyInput)],
        };
        const decisions = new Set<string>();
        for (const r of requests) {
            for (const q of policyQuestions(r)) {
                const decision = await decide(
                    writer,
                    { ...q, resourcePolicy: backupBucketPolicy(policyInput) },
                    "123456789012",
                );
                decisions.add(`${q.operation} ${q.action} ${decision}`);
            }
        }
        assert.ok(
            [...decisions].every((d) => d.endsWith(" Allowed")),
            [...decisions].join("\n"),
        );
        // The daily backup's lock was among them (the manifest's at least; the snapshot's too, on its
        // PutObject or CreateMultipartUpload depending on its size).
        assert.ok(decisions.has("PutObject s3:PutObjectRetention Allowed"), [...decisions].join("\n"));
        assert.ok(decisions.has("ListObjectsV2 s3:ListBucket Allowed"), [...decisions].join("\n"));

        // Newest by S3's record, whichever tier: the frequent one, restored whole.
        const ran = await restoreVerify([`--raw-key-file=${rawKey}`, "--restore"]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const ok = events(ran.stdout).find((e) => e.event === "restore-verify.ok")!;
        assert.equal(ok.object, second.object);
        assert.equal(ok.refused, 0);
        assert.ok(Number(ok.keys) > KEY_COUNT, `${String(ok.keys)} keys: the test's and the revision markers`);
        // And the daily one by name.
        const dailyRun = await restoreVerify([`--raw-key-file=${rawKey}`, `--object=${String(first.object)}`]);
        assert.equal(dailyRun.code, 0, dailyRun.stdout + dailyRun.stderr);
    });

    it("a backup that cannot finish fails non-zero, clearly, and leaves no backup", async () => {
        const before = await listKeys();
        // No such bucket: the upload fails after the snapshot has started streaming.
        const ran = await runCli(
            [
                "backup",
                ...connection(leader),
                `--project=${PROJECT}`,
                `--stack=${STACK}`,
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
