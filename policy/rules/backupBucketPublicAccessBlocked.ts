// No ACL or bucket policy can ever make a backup public: all four S3 public-access blocks are on.
import { missingPublicAccessBlocks, PUBLIC_ACCESS_BLOCK_FLAGS } from "secure-etcd/rules";
import { attachedTo, backupBucketsOrSkip } from "../lib/backupBuckets";
import { propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { isUnknown } from "../lib/values";

const ALL = PUBLIC_ACCESS_BLOCK_FLAGS.join(", ");

export const backupBucketPublicAccessBlocked: EtcdStackPolicy = {
    name: "etcd-backup-bucket-public-access-blocked",
    description: `An etcd backup bucket has a public-access block with all four settings on (${ALL}).`,
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: `Attach an aws.s3.BucketPublicAccessBlock with ${ALL} all true.`,
    validateStack: (args, reportViolation) => {
        for (const bucket of backupBucketsOrSkip(args)) {
            const attached = attachedTo(args.resources, bucket.resource, TYPES.bucketPublicAccessBlock);
            for (const block of attached.resources) {
                const props = propsOf(block);
                if (PUBLIC_ACCESS_BLOCK_FLAGS.some((flag) => isUnknown(props[flag]))) {
                    continue;
                }
                const missing = missingPublicAccessBlocks(props);
                if (missing.length > 0) {
                    reportViolation(
                        `${bucket.label}: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not on, so an ACL or bucket policy could make backups public; set ${ALL} all to true.`,
                        block.urn,
                    );
                }
            }
            if (attached.resources.length === 0 && !attached.undetermined) {
                reportViolation(
                    `${bucket.label} has no public-access block, so an ACL or bucket policy could make backups public; attach an aws.s3.BucketPublicAccessBlock with ${ALL} all true.`,
                    bucket.resource.urn,
                );
            }
        }
    },
};
