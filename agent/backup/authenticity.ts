// What makes a backup this cluster's, at this key, of this revision and time: the pure checks
// restore runs before it trusts a manifest, and the encryption context that binds the ciphertext.
//
// Who can write backups can also encrypt them (the members' role may call GenerateDataKey under
// this cluster's context), so no signature can tell a writer's forgery from a backup. What these
// checks hold is that nothing can be moved, swapped, replayed, predated or postdated: every claim a
// manifest makes is checked against something its writer does not choose after the fact — the
// ciphertext's authenticated encryption context (AEAD additional data of every frame and, with
// KMS, the context the data key was wrapped under), the decrypted bytes, or S3's own record.
import { CLUSTER_CONTEXT_KEY, PROJECT_CONTEXT_KEY, STACK_CONTEXT_KEY } from "../../src/backup/agentConfig";
import { BackupManifest, isManifestKey, MANIFEST_FORMAT, objectBase, snapshotKey, snapshotKeyOf } from "./objects";
import { tierOf } from "./tiers";

/** Who a backup belongs to: not the component name alone, which two stacks may share. */
export interface ClusterIdentity {
    project: string;
    stack: string;
    cluster: string;
}

/** Everything a backup is bound to that is known before its first byte is encrypted. */
export interface BackupBinding extends ClusterIdentity {
    objectKey: string;
    revision: number;
    /** RFC 3339, milliseconds, UTC: the time the snapshot began. */
    createdAt: string;
    etcdVersion: string;
}

/** Identifies what the ciphertext holds, so nothing else is mistaken for a backup. */
export const CONTENT_CONTEXT_KEY = "secure-etcd:content";
export const CONTENT_ETCD_SNAPSHOT = "etcd-snapshot";

/** The encryption-context key of each bound field (project, stack and cluster are what IAM conditions on). */
export const CONTEXT_KEYS = {
    format: "secure-etcd:format",
    project: PROJECT_CONTEXT_KEY,
    stack: STACK_CONTEXT_KEY,
    cluster: CLUSTER_CONTEXT_KEY,
    objectKey: "secure-etcd:object-key",
    revision: "secure-etcd:revision",
    createdAt: "secure-etcd:created-at",
    etcdVersion: "secure-etcd:etcd-version",
} as const;

/** The encryption context of a backup: every value here is authenticated with the ciphertext. */
export function bindingContext(b: BackupBinding): Record<string, string> {
    return {
        [CONTENT_CONTEXT_KEY]: CONTENT_ETCD_SNAPSHOT,
        [CONTEXT_KEYS.format]: MANIFEST_FORMAT,
        [CONTEXT_KEYS.project]: b.project,
        [CONTEXT_KEYS.stack]: b.stack,
        [CONTEXT_KEYS.cluster]: b.cluster,
        [CONTEXT_KEYS.objectKey]: b.objectKey,
        [CONTEXT_KEYS.revision]: String(b.revision),
        [CONTEXT_KEYS.createdAt]: b.createdAt,
        [CONTEXT_KEYS.etcdVersion]: b.etcdVersion,
    };
}

export function bindingOf(m: BackupManifest): BackupBinding {
    return {
        project: m.project,
        stack: m.stack,
        cluster: m.cluster,
        objectKey: m.objectKey,
        revision: m.revision,
        createdAt: m.createdAt,
        etcdVersion: m.etcdVersion,
    };
}

export function describeIdentity(i: ClusterIdentity): string {
    return `${i.project}/${i.stack}/${i.cluster}`;
}

/** How far a clock may be off: a backup dated later than this beyond now (or S3's time) is refused. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/**
 * The longest a backup may take, from the snapshot's start to its manifest: the timer's service is
 * stopped at 90% of the interval, and the longest interval is a day. A manifest S3 stored later
 * than this after the time it claims was not written by the backup that took the snapshot.
 */
export const MAX_BACKUP_MS = 24 * 60 * 60 * 1000;

export function describeDuration(ms: number): string {
    const units: [number, string][] = [
        [24 * 3600_000, "day"],
        [3600_000, "hour"],
        [60_000, "minute"],
        [1000, "second"],
    ];
    for (const [size, name] of units) {
        if (Math.abs(ms) >= size) {
            const n = Math.floor(Math.abs(ms) / size);
            return `${n} ${name}${n === 1 ? "" : "s"}`;
        }
    }
    return `${Math.abs(ms)} ms`;
}

/**
 * The manifest read from `manifestKey` against what the reader knows without downloading the
 * snapshot: whose it is, the name the agent would have given it, and that it is not dated in the
 * future. Undefined when nothing is wrong.
 */
export function manifestProblem(
    m: BackupManifest,
    where: { manifestKey: string; prefix: string },
    identity: ClusterIdentity,
    now: Date,
): string | undefined {
    if (describeIdentity(m) !== describeIdentity(identity)) {
        return `the manifest is of cluster ${describeIdentity(m)} (project/stack/name), not ${describeIdentity(identity)}: a backup of another cluster`;
    }
    if (!isManifestKey(where.manifestKey) || snapshotKeyOf(where.manifestKey) !== m.objectKey) {
        return `the manifest at ${where.manifestKey} describes ${m.objectKey}: moved or replayed under another key`;
    }
    // Named under the tier its manifest lies in (daily, frequent, or directly under the prefix before
    // tiers); a manifest moved to another tier names a snapshot that is not beside it (above).
    const named = snapshotKey(
        objectBase(tierOf(where.prefix, where.manifestKey).prefix, m.cluster, new Date(m.createdAt)),
        m.revision,
    );
    if (named !== m.objectKey) {
        return `the manifest says revision ${m.revision} taken at ${m.createdAt}, which the agent names ${named}, not ${m.objectKey}: its name was not given by a backup`;
    }
    const ahead = Date.parse(m.createdAt) - now.getTime();
    if (ahead > CLOCK_SKEW_MS) {
        return `the backup says it was taken at ${m.createdAt}, ${describeDuration(ahead)} after now (${now.toISOString()}; clocks may differ by ${describeDuration(CLOCK_SKEW_MS)}): dated in the future`;
    }
    return undefined;
}

/** An object as S3 lists it: its key, S3's time of writing it, and its size. */
export interface StoredObject {
    key: string;
    lastModified: Date;
    size: number;
}

/** A manifest and the snapshot it names, as S3 records them (the snapshot may be missing). */
export interface StoredBackup {
    manifest: StoredObject;
    snapshot?: StoredObject;
}

/**
 * The manifest's claims against S3's own record, which a writer cannot set: the snapshot exists
 * with the size the manifest records, and S3 stored both within a backup's duration after the
 * time the manifest claims (never before it).
 */
export function storedProblem(m: BackupManifest, stored: StoredBackup): string | undefined {
    const { snapshot, manifest } = stored;
    if (snapshot === undefined) {
        return `the snapshot ${m.objectKey} does not exist: a manifest without its snapshot is not a backup`;
    }
    if (snapshot.size !== m.encryptedBytes) {
        return `the object ${m.objectKey} is ${snapshot.size} bytes, the manifest records ${m.encryptedBytes}: ${snapshot.size > m.encryptedBytes ? "bytes were appended to it" : "it was truncated"}`;
    }
    const taken = Date.parse(m.createdAt);
    for (const [what, object] of [
        ["snapshot", snapshot],
        ["manifest", manifest],
    ] as const) {
        const after = object.lastModified.getTime() - taken;
        if (after < -CLOCK_SKEW_MS) {
            return `S3 stored the ${what} at ${object.lastModified.toISOString()}, ${describeDuration(after)} before the time the backup claims (${m.createdAt}): its time is forged`;
        }
        if (after > MAX_BACKUP_MS + CLOCK_SKEW_MS) {
            return `S3 stored the ${what} at ${object.lastModified.toISOString()}, ${describeDuration(after)} after the time the backup claims (${m.createdAt}), longer than a backup takes (${describeDuration(MAX_BACKUP_MS)}): written later, not by the backup that took the snapshot`;
        }
    }
    return undefined;
}

/**
 * The manifests in a listing, newest first by S3's record of when each was written (never by the
 * names, which a writer chooses), each with the snapshot it names when that exists.
 */
export function newestFirst(listing: StoredObject[]): StoredBackup[] {
    const byKey = new Map(listing.map((o) => [o.key, o]));
    return listing
        .filter((o) => isManifestKey(o.key))
        .sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime() || (a.key < b.key ? 1 : -1))
        .map((manifest) => ({ manifest, snapshot: byKey.get(snapshotKeyOf(manifest.key)) }));
}

/**
 * The ciphertext's authenticated encryption context against the binding the manifest claims,
 * read from `readFrom`. Undefined when every bound field matches.
 */
export function contextProblem(
    actual: Record<string, string>,
    claimed: BackupBinding,
    readFrom: string,
): string | undefined {
    const says = (key: string) => actual[key] ?? "(absent)";
    if (actual[CONTENT_CONTEXT_KEY] !== CONTENT_ETCD_SNAPSHOT) {
        return `the encrypted object says it holds ${CONTENT_CONTEXT_KEY}=${says(CONTENT_CONTEXT_KEY)}, not an etcd snapshot`;
    }
    if (actual[CONTEXT_KEYS.format] !== MANIFEST_FORMAT) {
        return `the encrypted object is of format ${says(CONTEXT_KEYS.format)}, not ${MANIFEST_FORMAT}: written by an earlier agent, which did not bind it to its key and time; re-run a backup (secure-etcd backup) with this agent`;
    }
    const expected = bindingContext({ ...claimed, objectKey: readFrom });
    for (const field of ["project", "stack", "cluster"] as const) {
        const key = CONTEXT_KEYS[field];
        if (actual[key] !== expected[key]) {
            return `the backup's authenticated encryption context names ${field} "${says(key)}", not "${expected[key]}": a backup of another cluster, swapped in`;
        }
    }
    if (actual[CONTEXT_KEYS.objectKey] !== readFrom) {
        return `the backup's authenticated encryption context names object key ${says(CONTEXT_KEYS.objectKey)}, but it was read from ${readFrom}: moved or replayed under another key`;
    }
    for (const field of ["revision", "createdAt", "etcdVersion"] as const) {
        const key = CONTEXT_KEYS[field];
        if (actual[key] !== expected[key]) {
            return `the backup's authenticated encryption context says ${key}=${says(key)}, the manifest says ${expected[key]}: the manifest does not describe this snapshot`;
        }
    }
    const extra = Object.keys(actual).filter((k) => !(k in expected));
    if (extra.length > 0) {
        return `the backup's encryption context has keys a backup never has: ${extra.join(", ")}`;
    }
    return undefined;
}
