// Backups travel only over TLS: the bucket policy denies every S3 action when aws:SecureTransport is false.
import { tlsOnlyPolicyProblem } from "secure-etcd/rules";
import { attachedTo, backupBucketsOrSkip } from "../lib/backupBuckets";
import { propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { containsUnknown } from "../lib/values";

export const backupBucketTlsOnly: EtcdStackPolicy = {
    name: "etcd-backup-bucket-tls-only",
    description:
        "An etcd backup bucket's policy denies s3:* to everyone when aws:SecureTransport is false (TLS-only access).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Attach an aws.s3.BucketPolicy with { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
    validateStack: (args, reportViolation) => {
        for (const bucket of backupBucketsOrSkip(args)) {
            const attached = attachedTo(args.resources, bucket.resource, TYPES.bucketPolicy);
            if (attached.resources.length === 0 && attached.undetermined) {
                continue;
            }
            // The attached policies decide; without one, the bucket's own (deprecated inline) policy.
            const policies =
                attached.resources.length > 0
                    ? attached.resources.map((p) => ({ urn: p.urn, policy: propsOf(p).policy }))
                    : [{ urn: bucket.resource.urn, policy: propsOf(bucket.resource).policy }];
            for (const { urn, policy } of policies) {
                const problem = tlsOnlyPolicyProblem(policy);
                // A document still being computed is judged once it is known.
                if (problem && !containsUnknown(policy)) {
                    reportViolation(`${bucket.label} ${problem}.`, urn);
                }
            }
        }
    },
};
