// Backups hold every key etcd stores: they are encrypted at rest under a key the cluster's owner
// controls (SSE-KMS with a customer-managed key), not the AWS-managed aws/s3 key or SSE-S3.
import { sseKmsProblem } from "secure-etcd/rules";
import { attachedTo, backupBucketsOrSkip } from "../lib/backupBuckets";
import { propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { containsUnknown, readArray, readPath, readString, UNKNOWN } from "../lib/values";

/** The default-encryption problem of one `applyServerSideEncryptionByDefault`, or UNKNOWN. */
function problemOf(sse: unknown): string | undefined | typeof UNKNOWN {
    if (containsUnknown(sse)) {
        return UNKNOWN;
    }
    if (typeof sse !== "object" || sse === null) {
        return sseKmsProblem(undefined);
    }
    const s = sse as Record<string, unknown>;
    const text = (v: unknown) => {
        const r = readString(v);
        return typeof r === "string" ? r : undefined;
    };
    return sseKmsProblem({ sseAlgorithm: text(s.sseAlgorithm), kmsMasterKeyId: text(s.kmsMasterKeyId) });
}

export const backupBucketEncrypted: EtcdStackPolicy = {
    name: "etcd-backup-bucket-encrypted",
    description:
        "An etcd backup bucket encrypts by default with SSE-KMS under a customer-managed key (sseAlgorithm aws:kms, kmsMasterKeyId set).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Attach an aws.s3.BucketServerSideEncryptionConfiguration with applyServerSideEncryptionByDefault { sseAlgorithm: "aws:kms", kmsMasterKeyId: <backup key ARN> }.',
    validateStack: (args, reportViolation) => {
        for (const bucket of backupBucketsOrSkip(args)) {
            const configs = attachedTo(args.resources, bucket.resource, TYPES.bucketEncryption);
            if (configs.resources.length === 0 && configs.undetermined) {
                continue; // A configuration whose bucket is not known yet may be this bucket's.
            }
            // The attached configurations decide; without one, the bucket's own (deprecated inline) block.
            const candidates: { urn: string; rules: unknown }[] =
                configs.resources.length > 0
                    ? configs.resources.map((c) => ({ urn: c.urn, rules: propsOf(c).rules }))
                    : [
                          {
                              urn: bucket.resource.urn,
                              rules: [
                                  readPath(propsOf(bucket.resource), ["serverSideEncryptionConfiguration", "rule"]),
                              ],
                          },
                      ];
            for (const candidate of candidates) {
                const rules = readArray(candidate.rules);
                if (rules === UNKNOWN) {
                    continue;
                }
                const problems = (rules ?? []).map((rule) =>
                    problemOf(readPath(rule, ["applyServerSideEncryptionByDefault"])),
                );
                if (problems.some((p) => p === undefined || p === UNKNOWN)) {
                    continue; // One compliant rule suffices; an unknown one is judged once known.
                }
                const problem = problems.find((p): p is string => typeof p === "string") ?? sseKmsProblem(undefined);
                reportViolation(`${bucket.label}: ${problem}.`, candidate.urn);
            }
        }
    },
};
