// How backups are laid out in the bucket. A backup is two objects: the encrypted snapshot, and a
// manifest written only after the snapshot's upload completed. S3 fixes an object's metadata when
// its (multipart) upload starts, before a streamed snapshot's digest exists; rewriting it later
// would need CopyObject, i.e. read access the writer must not have. So the digest and size live in
// the manifest (as its JSON and as its metadata), and a snapshot without one is not a backup.
//
// The manifest is a claim, not a proof: restore checks each of its fields against the encrypted
// snapshot's authenticated encryption context, the decrypted bytes, or S3's own record
// (authenticity.ts).

/** v2: every backup is bound to its cluster's identity, object key, revision and time. */
export const MANIFEST_FORMAT = "secure-etcd-backup/v2";
/** The first format: bound to the component name alone. Refused (see `parseManifest`). */
export const MANIFEST_FORMAT_V1 = "secure-etcd-backup/v1";
const SNAPSHOT_SUFFIX = ".db.enc";
const MANIFEST_SUFFIX = ".manifest.json";

export interface BackupManifest {
    format: string;
    /** The cluster's identity: Pulumi project and stack, and the component's name. */
    project: string;
    stack: string;
    cluster: string;
    /** etcd revision the snapshot was taken at. */
    revision: number;
    /** RFC 3339 time the snapshot began. */
    createdAt: string;
    /** etcd server version that produced it. */
    etcdVersion: string;
    /** Plaintext snapshot: bytes and SHA-256 (hex) of the file `etcdctl snapshot save` would write. */
    plaintextBytes: number;
    sha256: string;
    /** The encrypted object, its size, and the KMS key (or raw key name) that wrapped its data key. */
    objectKey: string;
    encryptedBytes: number;
    keyring: string;
}

/** `20261123T054804Z`: sorts by time as text. */
export function compactTime(date: Date): string {
    return date
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace(/[-:]/g, "");
}

/** `<prefix>2026/11/23/<cluster>-20261123T054804Z` (the snapshot and manifest add their suffixes; the revision is added once known). */
export function objectBase(prefix: string, cluster: string, date: Date): string {
    const iso = date.toISOString();
    return `${prefix}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${cluster}-${compactTime(date)}`;
}

export function snapshotKey(base: string, revision: number): string {
    return `${base}-rev${revision}${SNAPSHOT_SUFFIX}`;
}

/** The snapshot a manifest key names (the inverse of `manifestKeyOf`). */
export function snapshotKeyOf(manifestKey: string): string {
    if (!isManifestKey(manifestKey)) {
        throw new Error(`${manifestKey} is not a backup manifest (expected a name ending in ${MANIFEST_SUFFIX})`);
    }
    return manifestKey.slice(0, -MANIFEST_SUFFIX.length) + SNAPSHOT_SUFFIX;
}

export function manifestKeyOf(snapshotObjectKey: string): string {
    if (!snapshotObjectKey.endsWith(SNAPSHOT_SUFFIX)) {
        throw new Error(`${snapshotObjectKey} is not a backup snapshot (expected a name ending in ${SNAPSHOT_SUFFIX})`);
    }
    return snapshotObjectKey.slice(0, -SNAPSHOT_SUFFIX.length) + MANIFEST_SUFFIX;
}

export function isManifestKey(key: string): boolean {
    return key.endsWith(MANIFEST_SUFFIX);
}

/** S3 user metadata (`x-amz-meta-*`): lowercase names, string values. */
export function manifestMetadata(m: BackupManifest): Record<string, string> {
    return {
        project: m.project,
        stack: m.stack,
        cluster: m.cluster,
        revision: String(m.revision),
        "created-at": m.createdAt,
        "plaintext-bytes": String(m.plaintextBytes),
        "plaintext-sha256": m.sha256,
        "snapshot-key": m.objectKey,
    };
}

export function parseManifest(text: string, where: string): BackupManifest {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        throw new Error(`${where} is not a backup manifest (not JSON)`);
    }
    const m = value as Partial<BackupManifest>;
    if (m?.format === MANIFEST_FORMAT_V1) {
        throw new Error(
            `${where} was written in the previous format (${MANIFEST_FORMAT_V1}), which binds a backup to the component name alone, ` +
                `not to its stack, object key and time: it is refused. Re-run a backup (secure-etcd backup) with this agent to have one that restores`,
        );
    }
    if (m?.format !== MANIFEST_FORMAT) {
        throw new Error(`${where} is not a ${MANIFEST_FORMAT} manifest`);
    }
    for (const field of [
        "project",
        "stack",
        "cluster",
        "createdAt",
        "sha256",
        "objectKey",
        "keyring",
        "etcdVersion",
    ] as const) {
        if (typeof m[field] !== "string") {
            throw new Error(`${where}: manifest field ${field} is missing`);
        }
    }
    for (const field of ["revision", "plaintextBytes", "encryptedBytes"] as const) {
        if (typeof m[field] !== "number") {
            throw new Error(`${where}: manifest field ${field} is missing`);
        }
    }
    if (!/^[0-9a-f]{64}$/.test(m.sha256!)) {
        throw new Error(`${where}: manifest sha256 is not a SHA-256 digest`);
    }
    if (Number.isNaN(Date.parse(m.createdAt!)) || new Date(m.createdAt!).toISOString() !== m.createdAt) {
        throw new Error(`${where}: manifest createdAt is not an RFC 3339 UTC time (${m.createdAt})`);
    }
    return m as BackupManifest;
}
