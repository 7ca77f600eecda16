// Backups outlive the stack: `forceDestroy` would let a `pulumi destroy`, or a replacement caused by
// an innocent-looking change, delete every snapshot along with the bucket.
import { backupBucketsOrSkip } from "../lib/backupBuckets";
import { propsOf } from "../lib/stack";
import { EtcdStackPolicy } from "../lib/types";
import { readBoolean } from "../lib/values";

export const backupBucketNoForceDestroy: EtcdStackPolicy = {
    name: "etcd-backup-bucket-no-force-destroy",
    description: "An etcd backup bucket does not set forceDestroy, so deleting it never deletes the backups in it.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Remove forceDestroy from the bucket; if a bucket really must go, empty it deliberately first.",
    validateStack: (args, reportViolation) => {
        for (const bucket of backupBucketsOrSkip(args)) {
            if (readBoolean(propsOf(bucket.resource).forceDestroy) === true) {
                reportViolation(
                    `${bucket.label} sets forceDestroy, so deleting or replacing it deletes every backup in it; remove forceDestroy (and empty the bucket deliberately if it really must go).`,
                    bucket.resource.urn,
                );
            }
        }
    },
};
