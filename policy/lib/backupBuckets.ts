// Which buckets hold etcd backups, and the S3 settings resources attached to each.
//
// A backup bucket is an S3 bucket inside a SecureEtcdCluster (its BackupBucket child component); a
// bucket elsewhere in the stack that a BackupBucket names as its bucket (`backupBucketName`: the
// caller's own bucket); or any bucket tagged `secure-etcd:backup` (the opt-in for a bucket built
// outside the component, e.g. shared). Found by walking parents in a stack validation rather than by
// parsing URNs: the tree is what the engine reports, and names and tags cover what it cannot.
import { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import { ancestorOfType, labelOf, ofType, propsOf, refersTo } from "./stack";
import { COMPONENT, TYPES } from "./types";
import { readString, readTags, UNKNOWN } from "./values";

/** Tag key that marks a bucket outside the component as an etcd backup bucket. */
export const BACKUP_BUCKET_TAG = "secure-etcd:backup";

export interface BackupBucket {
    resource: PolicyResource;
    /** The SecureEtcdCluster it belongs to, if any. */
    cluster?: PolicyResource;
    /** How messages name it. */
    label: string;
}

export function backupBuckets(resources: PolicyResource[]): BackupBucket[] {
    // The bucket each BackupBucket component uses (its registered `bucketName` output).
    const named = ofType(resources, COMPONENT.backup).flatMap((component) => {
        const name = readString(propsOf(component).bucketName);
        return typeof name === "string" ? [{ name, cluster: ancestorOfType(component, [COMPONENT.cluster]) }] : [];
    });
    return ofType(resources, TYPES.bucket).flatMap((resource): BackupBucket[] => {
        const owner = ancestorOfType(resource, [COMPONENT.backup, COMPONENT.cluster]);
        const brought = named.find((n) => bucketIdentifiers(resource).includes(n.name));
        const cluster = ancestorOfType(resource, [COMPONENT.cluster]) ?? brought?.cluster;
        const tags = readTags(propsOf(resource).tags);
        const tagged = tags !== UNKNOWN && BACKUP_BUCKET_TAG in tags;
        if (!owner && !brought && !tagged) {
            return [];
        }
        const of = cluster ? ` of SecureEtcdCluster "${cluster.name}"` : "";
        return [{ resource, cluster, label: `Backup bucket ${labelOf(resource)}${of}` }];
    });
}

/** The backup buckets of a stack, or not-applicable when there are none. */
export function backupBucketsOrSkip(args: StackValidationArgs): BackupBucket[] {
    const buckets = backupBuckets(args.resources);
    if (buckets.length === 0) {
        args.notApplicable(
            `no etcd backup bucket in this stack (none in a SecureEtcdCluster, none tagged ${BACKUP_BUCKET_TAG})`,
        );
    }
    return buckets;
}

/** The names a bucket is referred to by (`bucket` is its name; the engine's `id` is the same). */
function bucketIdentifiers(bucket: PolicyResource): string[] {
    const props = propsOf(bucket);
    return [props.bucket, props.id].map(readString).filter((v): v is string => typeof v === "string");
}

export interface Attached {
    resources: PolicyResource[];
    /** Some resource of the kind refers to a bucket not known yet: it may be this one. */
    undetermined: boolean;
}

/** The resources of given types whose `bucket` is this bucket. */
export function attachedTo(resources: PolicyResource[], bucket: PolicyResource, types: readonly string[]): Attached {
    const ids = bucketIdentifiers(bucket);
    const attached: Attached = { resources: [], undetermined: false };
    for (const r of ofType(resources, types)) {
        const refers = refersTo(r, "bucket", bucket, ids);
        if (refers === UNKNOWN) {
            attached.undetermined = true;
        } else if (refers) {
            attached.resources.push(r);
        }
    }
    return attached;
}
