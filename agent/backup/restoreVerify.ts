// `secure-etcd restore-verify`: proves a backup restores. Chooses it by S3's record, checks its
// manifest against S3's record and the cluster's identity, downloads and decrypts it (its
// authenticated encryption context must be what the manifest claims), checks its size and SHA-256
// against the manifest and etcd's own trailer, asks etcd's tooling for its status, and optionally
// restores it into a temporary data dir and serves it from a throwaway etcd to count and digest
// every key.
import { KeyringNode } from "@aws-crypto/client-node";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { pipeline } from "stream/promises";
import { backupPrefix } from "../../src/backup/agentConfig";
import {
    bindingOf,
    ClusterIdentity,
    manifestProblem,
    newestFirst,
    StoredBackup,
    StoredObject,
    storedProblem,
} from "./authenticity";
import { contentDigest, ContentDigest } from "./contentDigest";
import { buildKeyring, decryptingStream, KeyringChoice } from "./envelope";
import { AgentLog } from "./log";
import { MessageBounds } from "./messageBounds";
import { BackupManifest, manifestKeyOf, parseManifest } from "./objects";
import { s3Client, S3Target } from "./s3";
import { SnapshotIntegrity } from "./snapshot";
import { findSnapshotTool, restoreSnapshot, SnapshotStatus, snapshotStatus, SnapshotTool } from "./snapshotTool";
import { freePort, startThrowawayEtcd } from "./throwawayEtcd";

export interface RestoreVerifyOptions extends S3Target, ClusterIdentity {
    /** The snapshot object's key; else the newest authentic backup under `prefix`. */
    objectKey?: string;
    prefix?: string;
    keyring: KeyringChoice;
    /** Restore into a data dir and count the keys with a throwaway etcd. */
    restore: boolean;
    /** Keep the decrypted snapshot and restored data dir here (else a temporary dir, removed). */
    keepDir?: string;
    log: AgentLog;
}

export interface RestoreVerifyReport {
    objectKey: string;
    manifest: BackupManifest;
    status: SnapshotStatus;
    /** With `restore`: what the restored etcd serves. */
    restored?: ContentDigest;
    /** Backups S3 records as newer that were refused, newest first, each with why. */
    refused: { manifestKey: string; reason: string }[];
}

/** A backup that is not what it claims: the reason, for the operator; the next one may be good. */
class Refusal extends Error {}

function refuse(e: unknown): never {
    throw e instanceof Refusal ? e : new Refusal((e as Error).message);
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body!.transformToString();
}

/** Every object under the prefix as S3 records it: key, time written, size. */
async function listStored(s3: S3Client, bucket: string, prefix: string): Promise<StoredObject[]> {
    const listed: StoredObject[] = [];
    let token: string | undefined;
    do {
        const page = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
            if (o.Key && o.LastModified && o.Size !== undefined) {
                listed.push({ key: o.Key, lastModified: o.LastModified, size: o.Size });
            }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return listed;
}

/** One object as S3 records it, or undefined when it does not exist. */
async function headStored(s3: S3Client, bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { key, lastModified: head.LastModified!, size: head.ContentLength ?? 0 };
    } catch (e) {
        if ((e as Error).name === "NotFound" || (e as Error).name === "NoSuchKey") {
            return undefined;
        }
        throw e;
    }
}

/** The backup `--object` names, as S3 records it: its manifest is required. */
async function storedBackupOf(s3: S3Client, bucket: string, objectKey: string): Promise<StoredBackup> {
    const manifestKey = manifestKeyOf(objectKey);
    const manifest = await headStored(s3, bucket, manifestKey);
    if (manifest === undefined) {
        throw new Refusal(
            `s3://${bucket}/${manifestKey} does not exist: a snapshot without its manifest is an upload that never completed, not a backup`,
        );
    }
    return { manifest, snapshot: await headStored(s3, bucket, objectKey) };
}

/**
 * The candidate's manifest, checked against everything known before its snapshot is downloaded:
 * whose it is, its name, its date, and S3's record of both objects.
 */
async function readManifest(
    s3: S3Client,
    options: RestoreVerifyOptions,
    stored: StoredBackup,
    now: Date,
): Promise<BackupManifest> {
    const manifestKey = stored.manifest.key;
    const where = `s3://${options.bucket}/${manifestKey}`;
    let manifest: BackupManifest;
    try {
        manifest = parseManifest(await getText(s3, options.bucket, manifestKey), where);
    } catch (e) {
        refuse(e);
    }
    const problem =
        manifestProblem(manifest, { manifestKey, prefix: prefixOf(options) }, options, now) ??
        storedProblem(manifest, stored);
    if (problem !== undefined) {
        throw new Refusal(problem);
    }
    return manifest;
}

function prefixOf(options: RestoreVerifyOptions): string {
    return options.prefix ?? backupPrefix(options.cluster);
}

/**
 * Downloads and decrypts the snapshot to a root-only file (it holds every secret of the cluster),
 * checking on the way that the ciphertext is bound to what the manifest claims, that nothing
 * follows or is missing from its message, and the plaintext's size and SHA-256 against the
 * manifest and etcd's own trailer.
 */
async function decryptSnapshot(
    s3: S3Client,
    options: RestoreVerifyOptions,
    manifest: BackupManifest,
    snapshot: { file: string; keyring: KeyringNode },
): Promise<void> {
    const { log } = options;
    const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: manifest.objectKey }));
    const bounds = new MessageBounds();
    const integrity = new SnapshotIntegrity(() => manifest.plaintextBytes);
    let done = 0;
    integrity.on("data", (chunk: Buffer) => log.progress((done += chunk.length), manifest.plaintextBytes));
    try {
        await pipeline(
            object.Body as Readable,
            bounds,
            decryptingStream(snapshot.keyring, bindingOf(manifest), manifest.objectKey),
            integrity,
            fs.createWriteStream(snapshot.file, { mode: 0o600 }),
        );
    } catch (e) {
        throw new Refusal(
            `s3://${options.bucket}/${manifest.objectKey} does not decrypt to a whole snapshot: ${explainDecryptError(e as Error)}`,
        );
    } finally {
        log.close();
    }
    if (bounds.bytes !== manifest.encryptedBytes) {
        throw new Refusal(
            `s3://${options.bucket}/${manifest.objectKey} held ${bounds.bytes} encrypted bytes, the manifest records ${manifest.encryptedBytes}`,
        );
    }
    if (integrity.sha256 !== manifest.sha256) {
        throw new Refusal(
            `SHA-256 of the decrypted snapshot is ${integrity.sha256}, the manifest says ${manifest.sha256}`,
        );
    }
    log.info("restore-verify.decrypted", { bytes: integrity.bytes, sha256: integrity.sha256 });
}

/** etcd's own tooling reads the snapshot; it must be at least at the manifest's revision. */
async function checkSnapshotStatus(
    tool: SnapshotTool,
    snapshotFile: string,
    manifest: BackupManifest,
    log: AgentLog,
): Promise<SnapshotStatus> {
    const status = await snapshotStatus(tool, snapshotFile);
    log.info("restore-verify.status", {
        tool: path.basename(tool.command),
        // Whether this tool can restore with --bump-revision/--mark-compacted (the runbook's step 3).
        bumpRevision: tool.bumpsRevision,
        ...status,
    });
    if (status.revision < manifest.revision) {
        throw new Refusal(
            `the snapshot is at revision ${status.revision}, older than the manifest's ${manifest.revision}`,
        );
    }
    return status;
}

/** Restores the snapshot into a data dir and counts and digests every key a throwaway etcd serves from it. */
async function restoreAndCount(
    tool: SnapshotTool,
    snapshotFile: string,
    workDir: string,
    log: AgentLog,
): Promise<ContentDigest> {
    const dataDir = path.join(workDir, "data");
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    await restoreSnapshot(tool, snapshotFile, { dataDir, name: "restore-verify", peerUrl });
    const etcd = await startThrowawayEtcd({ dataDir, name: "restore-verify", peerUrl, workDir });
    let restored: ContentDigest;
    try {
        restored = await contentDigest(etcd.client);
    } finally {
        await etcd.stop();
    }
    log.info("restore-verify.restored", { keys: restored.keys, contentSha256: restored.sha256 });
    return restored;
}

/** One candidate, all the way to etcd's own tooling; throws a `Refusal` saying why it is not a backup. */
async function verifyCandidate(
    s3: S3Client,
    options: RestoreVerifyOptions,
    stored: StoredBackup,
    context: { keyring: KeyringNode; tool: SnapshotTool; snapshotFile: string; now: Date },
): Promise<{ manifest: BackupManifest; status: SnapshotStatus }> {
    const manifest = await readManifest(s3, options, stored, context.now);
    options.log.info("restore-verify.started", {
        object: manifest.objectKey,
        revision: manifest.revision,
        createdAt: manifest.createdAt,
        bytes: manifest.plaintextBytes,
    });
    await decryptSnapshot(s3, options, manifest, { file: context.snapshotFile, keyring: context.keyring });
    const status = await checkSnapshotStatus(context.tool, context.snapshotFile, manifest, options.log);
    return { manifest, status };
}

/**
 * With `objectKey`, that backup or a refusal. Otherwise the newest authentic backup: candidates in
 * the order S3 wrote their manifests, each refused one logged with its reason, the first that
 * passes every check chosen.
 */
export async function runRestoreVerify(options: RestoreVerifyOptions): Promise<RestoreVerifyReport> {
    const { log } = options;
    const s3 = s3Client(options);
    // Fail on a bad key file or a missing etcd tool before downloading anything.
    const keyring = buildKeyring(options.keyring);
    const tool = await findSnapshotTool();
    const prefix = prefixOf(options);
    const candidates =
        options.objectKey !== undefined
            ? [await storedBackupOf(s3, options.bucket, options.objectKey)]
            : newestFirst(await listStored(s3, options.bucket, prefix));
    if (candidates.length === 0) {
        throw new Error(`no backup manifest under s3://${options.bucket}/${prefix}`);
    }
    const workDir = options.keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-restore-"));
    fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
    const snapshotFile = path.join(workDir, "snapshot.db");
    const refused: RestoreVerifyReport["refused"] = [];
    const now = new Date();
    try {
        for (const stored of candidates) {
            let verified: { manifest: BackupManifest; status: SnapshotStatus };
            try {
                verified = await verifyCandidate(s3, options, stored, { keyring, tool, snapshotFile, now });
            } catch (e) {
                if (!(e instanceof Refusal)) {
                    throw e;
                }
                fs.rmSync(snapshotFile, { force: true });
                refused.push({ manifestKey: stored.manifest.key, reason: e.message });
                log.error("restore-verify.refused", e.message, { manifest: stored.manifest.key });
                continue;
            }
            const restored = options.restore ? await restoreAndCount(tool, snapshotFile, workDir, log) : undefined;
            return { objectKey: verified.manifest.objectKey, ...verified, restored, refused };
        }
    } finally {
        if (options.keepDir === undefined) {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    }
    if (options.objectKey !== undefined) {
        throw new Error(refused[0].reason);
    }
    throw new Error(
        `none of the ${candidates.length} backups under s3://${options.bucket}/${prefix} is authentic and whole; the newest, ${refused[0].manifestKey}, was refused: ${refused[0].reason}`,
    );
}

/** The Encryption SDK's messages, in terms of what the operator can do about them. */
function explainDecryptError(e: Error): string {
    if (/unencryptedDataKey has not been set/.test(e.message)) {
        return "no key in the keyring unwraps this backup's data key: a wrong key, or no kms:Decrypt on the backup key";
    }
    if (/unable to authenticate data/.test(e.message)) {
        return "a frame failed authentication: the object was altered after it was written";
    }
    if (/Incomplete message/.test(e.message)) {
        return "the object ends before the message does: truncated";
    }
    return e.message;
}
