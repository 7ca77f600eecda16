// `secure-etcd backup`: snapshot -> integrity check -> envelope encryption -> multipart upload
// (SSE-KMS on top), streamed end to end so memory stays flat whatever the snapshot's size; then
// the manifest that makes the snapshot a backup.
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Duplex, PassThrough, Readable, Transform, TransformCallback } from "stream";
import { pipeline } from "stream/promises";
import { BackupBinding, ClusterIdentity } from "./authenticity";
import { buildKeyring, encryptingStream, FRAME_LENGTH, KeyringChoice } from "./envelope";
import { AgentLog } from "./log";
import { BackupManifest, manifestKeyOf, manifestMetadata, MANIFEST_FORMAT, objectBase, snapshotKey } from "./objects";
import { s3Client, S3Target } from "./s3";
import { BackupTiers } from "../../src/backup/agentConfig";
import { chooseTier, lockParams, TierChoice, TierName } from "./tiers";
import {
    connect,
    EtcdConnection,
    memberStatus,
    Rechunk,
    SnapshotBytes,
    snapshotStream,
    SnapshotIntegrity,
} from "./snapshot";

export interface BackupOptions extends EtcdConnection, UploadTarget {
    onlyIfLeader: boolean;
}

export interface BackupResult {
    /** Why nothing was uploaded (not the leader), else undefined. */
    skipped?: string;
    manifest?: BackupManifest;
    manifestKey?: string;
    /** The retention tier it went to ("untiered" without tiers). */
    tier?: TierName;
    seconds: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/** Counts bytes as they pass: the encrypted size, and progress. */
class Meter extends Transform {
    bytes = 0;
    constructor(private readonly onBytes: (n: number) => void = () => undefined) {
        super();
    }
    override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
        this.bytes += chunk.length;
        this.onBytes(this.bytes);
        done(null, chunk);
    }
}

export interface UploadTarget extends S3Target, ClusterIdentity {
    prefix: string;
    keyring: KeyringChoice;
    /** The KMS key S3 encrypts the object with (SSE-KMS); the bucket policy refuses any other. */
    sseKmsKeyArn?: string;
    /** Multipart part size in bytes (S3's minimum is 5 MiB). */
    partSize?: number;
    /** Retention tiers (absent: every backup directly under `prefix`, as before tiers). */
    tiers?: BackupTiers;
    log: AgentLog;
}

export interface SnapshotSource {
    /** The snapshot's bytes, exactly as `etcdctl snapshot save` would write them (etcd's SHA-256 trailer last). */
    stream: Readable;
    revision: number;
    /** Expected size in bytes (0 when unknown); a stream that ends short of it fails. */
    totalBytes: number;
    etcdVersion: string;
    createdAt: Date;
}

/**
 * `before` -> encrypt -> `after`, failing as a whole if any stage fails, without ever destroying
 * the encrypting stream: the Encryption SDK's encrypt stream pipes its inner stages with a
 * callback that throws, so destroying it mid-message crashes the process. On failure it is
 * detached and left unfinished (never ended: an ended message would be a valid ciphertext of a
 * partial snapshot), and the output is destroyed with the error, which aborts the upload.
 */
async function encryptInto(
    source: Readable,
    before: Transform[],
    encrypt: Duplex,
    after: [Transform, PassThrough],
): Promise<void> {
    const [meter, body] = after;
    const feed = new PassThrough();
    const fail = (e: Error) => {
        feed.unpipe(encrypt);
        encrypt.unpipe(meter);
        body.destroy(e);
    };
    encrypt.on("error", fail);
    feed.pipe(encrypt);
    const downstream = pipeline(encrypt.pipe(meter), body).catch(fail);
    try {
        await pipeline([source, ...before, feed]);
    } catch (e) {
        fail(e as Error);
        throw e;
    }
    await downstream;
    if (body.destroyed && body.errored) {
        throw body.errored;
    }
}

/** S3's own encryption of every object: SSE-KMS under the backup key, with bucket keys. */
function sseKms(target: UploadTarget) {
    return {
        ServerSideEncryption: "aws:kms" as const,
        ...(target.sseKmsKeyArn ? { SSEKMSKeyId: target.sseKmsKeyArn } : {}),
        BucketKeyEnabled: true,
    };
}

/** The multipart upload of the encrypted snapshot, named by its revision, aborted if it fails. */
function snapshotUpload(s3: S3Client, target: UploadTarget, binding: BackupBinding, body: Readable, tier: TierChoice) {
    return new Upload({
        client: s3,
        params: {
            Bucket: target.bucket,
            Key: binding.objectKey,
            Body: body,
            ContentType: "application/octet-stream",
            // Write-once: S3 refuses the upload's completion if the key exists, and the bucket
            // policy refuses a completion without it. (lib-storage passes it to PutObject and
            // CompleteMultipartUpload; the part uploads, which cannot carry it, leave it out.)
            IfNoneMatch: "*",
            // Native SHA-256 per part: the SDK's default CRC32 is computed in JavaScript, several times
            // slower, and Object Lock buckets require some checksum on every upload.
            ChecksumAlgorithm: "SHA256",
            ...sseKms(target),
            // A daily backup's own lock (on CreateMultipartUpload, or the PutObject of a small one).
            ...lockParams(tier.lock),
            Metadata: {
                project: binding.project,
                stack: binding.stack,
                cluster: binding.cluster,
                revision: String(binding.revision),
                "created-at": binding.createdAt,
                format: MANIFEST_FORMAT,
            },
        },
        partSize: target.partSize ?? DEFAULT_PART_SIZE,
        queueSize: 2,
        // A failed upload is aborted: its parts never become an object.
        leavePartsOnError: false,
    });
}

/** Streams the snapshot through its checks and encryption into the upload; fails if either side fails. */
async function streamAndUpload(
    source: SnapshotSource,
    target: UploadTarget,
    binding: BackupBinding,
    upload: Upload,
    stages: { integrity: SnapshotIntegrity; encrypted: Meter; body: PassThrough },
): Promise<void> {
    const progress = new Meter((n) => target.log.progress(n, source.totalBytes));
    const flowing = encryptInto(
        source.stream,
        [new Rechunk(FRAME_LENGTH), stages.integrity, progress],
        encryptingStream(buildKeyring(target.keyring), binding),
        [stages.encrypted, stages.body],
    );
    const uploading = upload.done().catch((e: Error) => {
        // The upload gave up: stop reading etcd too.
        source.stream.destroy(e);
        throw e;
    });
    const [streamed, uploaded] = await Promise.allSettled([flowing, uploading]);
    target.log.close();
    if (streamed.status === "rejected") {
        throw streamed.reason as Error;
    }
    if (uploaded.status === "rejected") {
        throw uploaded.reason as Error;
    }
}

/** Writes the manifest that makes an uploaded snapshot a backup; returns its key. */
async function writeManifest(
    s3: S3Client,
    target: UploadTarget,
    manifest: BackupManifest,
    tier: TierChoice,
): Promise<string> {
    const manifestKey = manifestKeyOf(manifest.objectKey);
    await s3.send(
        new PutObjectCommand({
            Bucket: target.bucket,
            Key: manifestKey,
            Body: JSON.stringify(manifest, null, 2) + "\n",
            ContentType: "application/json",
            IfNoneMatch: "*",
            ...sseKms(target),
            // Computed now, not when the snapshot's upload began: the bucket policy counts the days left.
            ...lockParams(tier.lock),
            Metadata: manifestMetadata(manifest),
        }),
    );
    return manifestKey;
}

/**
 * Integrity check, envelope encryption and multipart upload of one snapshot stream, then its
 * manifest. Fails, leaving no object and no manifest, if any stage fails.
 */
export async function uploadSnapshot(source: SnapshotSource, target: UploadTarget): Promise<BackupResult> {
    const started = Date.now();
    const s3 = s3Client(target);
    const tier = await chooseTier(s3, target, source.createdAt);
    const key = snapshotKey(objectBase(tier.prefix, target.cluster, source.createdAt), source.revision);
    // Known before the first byte is encrypted, so the ciphertext itself carries it.
    const binding: BackupBinding = {
        project: target.project,
        stack: target.stack,
        cluster: target.cluster,
        objectKey: key,
        revision: source.revision,
        createdAt: source.createdAt.toISOString(),
        etcdVersion: source.etcdVersion,
    };
    const stages = {
        integrity: new SnapshotIntegrity(() => source.totalBytes),
        encrypted: new Meter(),
        body: new PassThrough(),
    };
    await streamAndUpload(source, target, binding, snapshotUpload(s3, target, binding, stages.body, tier), stages);
    const manifest: BackupManifest = {
        format: MANIFEST_FORMAT,
        ...binding,
        plaintextBytes: stages.integrity.bytes,
        sha256: stages.integrity.sha256,
        encryptedBytes: stages.encrypted.bytes,
        keyring: target.keyring.kmsKeyArn ?? "raw:secure-etcd/backup-raw-key",
    };
    const manifestKey = await writeManifest(s3, target, manifest, tier);
    const seconds = (Date.now() - started) / 1000;
    target.log.info("backup.completed", {
        object: key,
        manifest: manifestKey,
        tier: tier.tier,
        revision: source.revision,
        bytes: manifest.plaintextBytes,
        sha256: manifest.sha256,
        seconds,
    });
    return { manifest, manifestKey, tier: tier.tier, seconds };
}

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
    const { log } = options;
    // Fail on a bad key file before touching etcd.
    buildKeyring(options.keyring);
    // The first endpoint that answers; with onlyIfLeader, the configured (local) member must lead.
    let lastError: Error | undefined;
    for (const endpoint of options.endpoints) {
        const client = connect(options, endpoint);
        try {
            const status = await memberStatus(client);
            if (options.onlyIfLeader && status.memberId !== status.leaderId) {
                const reason = `member ${status.memberId} at ${endpoint} is not the leader (${status.leaderId}); the leader's node takes this period's backup`;
                log.info("backup.skipped", { reason });
                return { skipped: reason, seconds: 0 };
            }
            log.info("backup.started", {
                project: options.project,
                stack: options.stack,
                cluster: options.cluster,
                endpoint,
                revision: status.revision,
                dbSize: status.dbSize,
            });
            const createdAt = new Date();
            const bytes = new SnapshotBytes();
            const raw = await snapshotStream(client);
            raw.once("error", (e: Error) => bytes.destroy(e));
            raw.pipe(bytes);
            // The object is named by its revision, known from the stream's first message.
            const first = await new Promise<{ revision: number; totalBytes: number }>((resolve, reject) => {
                bytes.once("started", resolve);
                bytes.once("error", reject);
            });
            return await uploadSnapshot(
                {
                    stream: bytes,
                    revision: first.revision || status.revision,
                    totalBytes: first.totalBytes,
                    etcdVersion: status.version,
                    createdAt,
                },
                options,
            );
        } catch (e) {
            lastError = e as Error;
            log.close();
            log.error("backup.attempt-failed", describeError(lastError), { endpoint });
        } finally {
            client.close();
        }
    }
    throw new Error(`backup failed: ${describeError(lastError!)}`);
}
/** The SDK's errors carry their meaning in name and code as much as in message. */
export function describeError(e: Error): string {
    const name = e.name && e.name !== "Error" ? `${e.name}: ` : "";
    return `${name}${e.message}`;
}
