// A snapshot overwritten or deleted by mistake (or by an attacker with write access) stays
// recoverable as a previous version.
import { versioningProblem } from "secure-etcd/rules";
import { attachedTo, backupBucketsOrSkip } from "../lib/backupBuckets";
import { propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { readBoolean, readPath, readString, UNKNOWN } from "../lib/values";

export const backupBucketVersioned: EtcdStackPolicy = {
    name: "etcd-backup-bucket-versioned",
    description: "An etcd backup bucket has versioning enabled.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: 'Attach an aws.s3.BucketVersioning with versioningConfiguration { status: "Enabled" }.',
    validateStack: (args, reportViolation) => {
        for (const bucket of backupBucketsOrSkip(args)) {
            const attached = attachedTo(args.resources, bucket.resource, TYPES.bucketVersioning);
            for (const v of attached.resources) {
                const status = readString(readPath(propsOf(v), ["versioningConfiguration", "status"]));
                const problem = status === UNKNOWN ? undefined : versioningProblem(status);
                if (problem) {
                    reportViolation(`${bucket.label}: ${problem}.`, v.urn);
                }
            }
            if (attached.resources.length > 0 || attached.undetermined) {
                continue;
            }
            // Without a BucketVersioning, the bucket's own (deprecated inline) setting.
            const enabled = readBoolean(readPath(propsOf(bucket.resource), ["versioning", "enabled"]));
            if (enabled !== true && enabled !== UNKNOWN) {
                reportViolation(
                    `${bucket.label}: ${versioningProblem(undefined)} (attach an aws.s3.BucketVersioning).`,
                    bucket.resource.urn,
                );
            }
        }
    },
};
