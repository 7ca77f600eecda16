// `secure-etcd restore-verify`: proves a backup restores. Downloads it, decrypts it (the
// encryption context must name the cluster), checks its size and SHA-256 against the manifest and
// etcd's own trailer, asks etcd's tooling for its status, and optionally restores it into a
// temporary data dir and serves it from a throwaway etcd to count and digest every key.
import { KeyringNode } from "@aws-crypto/client-node";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { pipeline } from "stream/promises";
import { contentDigest, ContentDigest } from "./contentDigest";
import { buildKeyring, decryptingStream, KeyringChoice } from "./envelope";
import { AgentLog } from "./log";
import { BackupManifest, isManifestKey, manifestKeyOf, parseManifest } from "./objects";
import { s3Client, S3Target } from "./s3";
import { SnapshotIntegrity } from "./snapshot";
import { findSnapshotTool, restoreSnapshot, SnapshotStatus, snapshotStatus, SnapshotTool } from "./snapshotTool";
import { freePort, startThrowawayEtcd } from "./throwawayEtcd";

export interface RestoreVerifyOptions extends S3Target {
    cluster: string;
    /** The snapshot object's key; else the newest backup under `prefix`. */
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
}

async function getText(s3: S3Client, bucket: string, key: string): Promise<string> {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body!.transformToString();
}

/** The newest manifest under the prefix (names sort by time). */
async function latestSnapshotKey(s3: S3Client, bucket: string, prefix: string): Promise<string> {
    let newest: string | undefined;
    let token: string | undefined;
    do {
        const page = await s3.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
            if (object.Key && isManifestKey(object.Key) && (newest === undefined || object.Key > newest)) {
                newest = object.Key;
            }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (newest === undefined) {
        throw new Error(`no backup manifest under s3://${bucket}/${prefix}`);
    }
    const manifest = parseManifest(await getText(s3, bucket, newest), `s3://${bucket}/${newest}`);
    return manifest.objectKey;
}

/** The backup's manifest, required: it must describe this object of this cluster. */
async function readManifest(s3: S3Client, options: RestoreVerifyOptions, objectKey: string): Promise<BackupManifest> {
    const manifestKey = manifestKeyOf(objectKey);
    let manifestText: string;
    try {
        manifestText = await getText(s3, options.bucket, manifestKey);
    } catch (e) {
        throw new Error(
            `s3://${options.bucket}/${manifestKey} cannot be read (${(e as Error).name}): a snapshot without its manifest is an upload that never completed, not a backup`,
        );
    }
    const manifest = parseManifest(manifestText, `s3://${options.bucket}/${manifestKey}`);
    if (manifest.cluster !== options.cluster) {
        throw new Error(`the backup is of cluster ${manifest.cluster}, not ${options.cluster}`);
    }
    if (manifest.objectKey !== objectKey) {
        throw new Error(`the manifest describes ${manifest.objectKey}, not ${objectKey}`);
    }
    return manifest;
}

/**
 * Downloads and decrypts the snapshot to a root-only file (it holds every secret of the cluster),
 * checking its size and SHA-256 against the manifest and etcd's own trailer on the way.
 */
async function decryptSnapshot(
    s3: S3Client,
    options: RestoreVerifyOptions,
    manifest: BackupManifest,
    snapshot: { file: string; keyring: KeyringNode },
): Promise<void> {
    const { log } = options;
    const object = await s3.send(new GetObjectCommand({ Bucket: options.bucket, Key: manifest.objectKey }));
    const integrity = new SnapshotIntegrity(() => manifest.plaintextBytes);
    let done = 0;
    integrity.on("data", (chunk: Buffer) => log.progress((done += chunk.length), manifest.plaintextBytes));
    try {
        await pipeline(
            object.Body as Readable,
            decryptingStream(snapshot.keyring, options.cluster),
            integrity,
            fs.createWriteStream(snapshot.file, { mode: 0o600 }),
        );
    } catch (e) {
        throw new Error(
            `s3://${options.bucket}/${manifest.objectKey} does not decrypt to a whole snapshot: ${explainDecryptError(e as Error)}`,
        );
    } finally {
        log.close();
    }
    if (integrity.sha256 !== manifest.sha256) {
        throw new Error(
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
        throw new Error(
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

export async function runRestoreVerify(options: RestoreVerifyOptions): Promise<RestoreVerifyReport> {
    const { log } = options;
    const s3 = s3Client(options);
    // Fail on a bad key file before downloading anything.
    const keyring = buildKeyring(options.keyring);
    const objectKey =
        options.objectKey ??
        (await latestSnapshotKey(s3, options.bucket, options.prefix ?? `etcd-backups/${options.cluster}/`));
    const manifest = await readManifest(s3, options, objectKey);
    log.info("restore-verify.started", {
        object: objectKey,
        revision: manifest.revision,
        bytes: manifest.plaintextBytes,
    });
    const workDir = options.keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-restore-"));
    fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
    try {
        const snapshotFile = path.join(workDir, "snapshot.db");
        await decryptSnapshot(s3, options, manifest, { file: snapshotFile, keyring });
        const tool = await findSnapshotTool();
        const status = await checkSnapshotStatus(tool, snapshotFile, manifest, log);
        const restored = options.restore ? await restoreAndCount(tool, snapshotFile, workDir, log) : undefined;
        return { objectKey, manifest, status, restored };
    } finally {
        if (options.keepDir === undefined) {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    }
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
