// Backup-bucket policies. Which buckets count: those inside a SecureEtcdCluster (its BackupBucket),
// one a BackupBucket names as the caller's own, or one tagged `secure-etcd:backup`. Each policy is
// judged on the compliant fixture cluster with one thing broken.
import { strict as assert } from "assert";
import { BACKUP_BUCKET_TAG } from "../../../policy/lib/backupBuckets";
import { COMPONENT, EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { backupBucketEncrypted } from "../../../policy/rules/backupBucketEncrypted";
import { backupBucketNoForceDestroy } from "../../../policy/rules/backupBucketNoForceDestroy";
import { backupBucketPublicAccessBlocked } from "../../../policy/rules/backupBucketPublicAccessBlocked";
import { backupBucketTlsOnly } from "../../../policy/rules/backupBucketTlsOnly";
import { backupBucketVersioned } from "../../../policy/rules/backupBucketVersioned";
import { BUCKET, compliantCluster, patched, TLS_ONLY_POLICY, without } from "./fixtures";
import { Fixture, runStackPolicy, stackOf, UNKNOWN, urnOf } from "./policyHarness";

const LABEL = 'Backup bucket Bucket "prod-backup-bucket" of SecureEtcdCluster "prod"';
const ALL_FLAGS = "blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets";

async function messages(policy: EtcdPolicy, fixtures: Fixture[]): Promise<string[]> {
    const outcome = await runStackPolicy(policy, stackOf(fixtures));
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

const BACKUP_POLICIES = [
    backupBucketEncrypted,
    backupBucketVersioned,
    backupBucketPublicAccessBlocked,
    backupBucketTlsOnly,
    backupBucketNoForceDestroy,
];

describe("backup-bucket policies: which buckets count", () => {
    it("every backup policy passes the compliant cluster's bucket", async () => {
        for (const policy of BACKUP_POLICIES) {
            assert.deepEqual(await messages(policy, compliantCluster()), [], policy.name);
        }
    });

    it("a bucket outside any cluster is not a backup bucket, unless tagged", async () => {
        const plain: Fixture = { type: TYPES.bucket[0], name: "logs", props: { bucket: "logs", forceDestroy: true } };
        const outcome = await runStackPolicy(backupBucketNoForceDestroy, stackOf([plain]));
        assert.match(outcome.notApplicable!, /^no etcd backup bucket in this stack/);
        const tagged = { ...plain, props: { ...plain.props, tags: { [BACKUP_BUCKET_TAG]: "prod" } } };
        assert.deepEqual(await messages(backupBucketNoForceDestroy, [tagged]), [
            'Backup bucket Bucket "logs" sets forceDestroy, so deleting or replacing it deletes every backup in it; remove forceDestroy (and empty the bucket deliberately if it really must go).',
        ]);
    });

    it("a bucket the cluster's BackupBucket names as its own (backupBucketName) counts", async () => {
        const fixtures: Fixture[] = [
            { type: COMPONENT.cluster, name: "prod" },
            { type: COMPONENT.backup, name: "prod-backup", parent: "prod", props: { bucketName: "acme-backups" } },
            { type: TYPES.bucket[0], name: "acme", props: { bucket: "acme-backups", forceDestroy: true } },
        ];
        assert.deepEqual(await messages(backupBucketNoForceDestroy, fixtures), [
            'Backup bucket Bucket "acme" of SecureEtcdCluster "prod" sets forceDestroy, so deleting or replacing it deletes every backup in it; remove forceDestroy (and empty the bucket deliberately if it really must go).',
        ]);
    });
});

describe("policy etcd-backup-bucket-encrypted", () => {
    const policy = backupBucketEncrypted;
    const sse = (value: Record<string, unknown>) =>
        patched(compliantCluster(), "prod-backup-encryption", {
            rules: [{ applyServerSideEncryptionByDefault: value }],
        });

    it("fails SSE-S3 (AES256)", async () => {
        assert.deepEqual(await messages(policy, sse({ sseAlgorithm: "AES256" })), [
            `${LABEL}: default encryption is "AES256", not SSE-KMS; set sseAlgorithm "aws:kms" with kmsMasterKeyId set to the backup KMS key's ARN.`,
        ]);
    });

    it("fails SSE-KMS under the AWS-managed aws/s3 key, named or implied", async () => {
        assert.deepEqual(await messages(policy, sse({ sseAlgorithm: "aws:kms" })), [
            `${LABEL}: default encryption uses SSE-KMS without kmsMasterKeyId, i.e. the AWS-managed "aws/s3" key; set kmsMasterKeyId to the backup KMS key's ARN (a customer-managed key whose policy you control).`,
        ]);
        assert.deepEqual(await messages(policy, sse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: "alias/aws/s3" })), [
            `${LABEL}: default encryption uses the AWS-managed key "alias/aws/s3"; set kmsMasterKeyId to the backup KMS key's ARN (a customer-managed key whose policy you control).`,
        ]);
    });

    it("without an encryption resource, judges the bucket's own block", async () => {
        const fixtures = without(compliantCluster(), "prod-backup-encryption");
        assert.deepEqual(await messages(policy, fixtures), [
            `${LABEL}: default encryption is not configured, not SSE-KMS; set sseAlgorithm "aws:kms" with kmsMasterKeyId set to the backup KMS key's ARN.`,
        ]);
        const inline = patched(fixtures, "prod-backup-bucket", {
            serverSideEncryptionConfiguration: {
                rule: {
                    applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:k" },
                },
            },
        });
        assert.deepEqual(await messages(policy, inline), []);
    });

    it("reports nothing while the key or the bucket is not known (preview)", async () => {
        assert.deepEqual(await messages(policy, sse({ sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN.string })), []);
        assert.deepEqual(
            await messages(policy, patched(compliantCluster(), "prod-backup-encryption", { rules: UNKNOWN.array })),
            [],
        );
        // The configuration's bucket not known and not traceable: it may be this bucket's.
        const untraced = without(compliantCluster(), "prod-backup-bucket").concat({
            type: TYPES.bucket[0],
            name: "prod-backup-bucket",
            parent: "prod-backup",
            props: { bucket: BUCKET },
        });
        const unknownBucket = patched(untraced, "prod-backup-encryption", { bucket: UNKNOWN.string });
        assert.deepEqual(await messages(policy, unknownBucket), []);
    });
});

describe("policy etcd-backup-bucket-versioned", () => {
    const policy = backupBucketVersioned;

    it("fails suspended versioning", async () => {
        const fixtures = patched(compliantCluster(), "prod-backup-versioning", {
            versioningConfiguration: { status: "Suspended" },
        });
        assert.deepEqual(await messages(policy, fixtures), [
            `${LABEL}: versioning is "Suspended"; set versioningConfiguration.status "Enabled" so an overwritten or deleted snapshot can be recovered.`,
        ]);
    });

    it("fails a bucket without versioning, accepts the bucket's own versioning block", async () => {
        const fixtures = without(compliantCluster(), "prod-backup-versioning");
        assert.deepEqual(await messages(policy, fixtures), [
            `${LABEL}: versioning is not configured; set versioningConfiguration.status "Enabled" so an overwritten or deleted snapshot can be recovered (attach an aws.s3.BucketVersioning).`,
        ]);
        assert.deepEqual(
            await messages(policy, patched(fixtures, "prod-backup-bucket", { versioning: { enabled: true } })),
            [],
        );
    });

    it("reports nothing for an unknown status (preview)", async () => {
        const fixtures = patched(compliantCluster(), "prod-backup-versioning", {
            versioningConfiguration: { status: UNKNOWN.string },
        });
        assert.deepEqual(await messages(policy, fixtures), []);
    });
});

describe("policy etcd-backup-bucket-public-access-blocked", () => {
    const policy = backupBucketPublicAccessBlocked;

    it("fails a block with settings off", async () => {
        const fixtures = patched(compliantCluster(), "prod-backup-public-access", {
            blockPublicPolicy: false,
            restrictPublicBuckets: undefined,
        });
        assert.deepEqual(await messages(policy, fixtures), [
            `${LABEL}: blockPublicPolicy, restrictPublicBuckets are not on, so an ACL or bucket policy could make backups public; set ${ALL_FLAGS} all to true.`,
        ]);
    });

    it("fails a bucket without a block", async () => {
        assert.deepEqual(await messages(policy, without(compliantCluster(), "prod-backup-public-access")), [
            `${LABEL} has no public-access block, so an ACL or bucket policy could make backups public; attach an aws.s3.BucketPublicAccessBlock with ${ALL_FLAGS} all true.`,
        ]);
    });

    it("reports nothing for unknown settings (preview)", async () => {
        const fixtures = patched(compliantCluster(), "prod-backup-public-access", {
            ignorePublicAcls: UNKNOWN.boolean,
        });
        assert.deepEqual(await messages(policy, fixtures), []);
    });
});

describe("policy etcd-backup-bucket-tls-only", () => {
    const policy = backupBucketTlsOnly;
    const withPolicy = (document: unknown) => patched(compliantCluster(), "prod-backup-policy", { policy: document });

    it("accepts the deny as JSON text or as a document, with Bool or BoolIfExists, Principal * or AWS *", async () => {
        const statement = {
            Effect: "Deny",
            Principal: { AWS: ["*"] },
            Action: ["s3:*"],
            Resource: "*",
            Condition: { BoolIfExists: { "aws:SecureTransport": false } },
        };
        assert.deepEqual(await messages(policy, withPolicy({ Version: "2012-10-17", Statement: [statement] })), []);
        assert.deepEqual(await messages(policy, withPolicy(TLS_ONLY_POLICY)), []);
    });

    it("fails a policy without the deny", async () => {
        const allowOnly = JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { AWS: "arn:aws:iam::123456789012:root" },
                    Action: "s3:GetObject",
                    Resource: "*",
                },
            ],
        });
        assert.deepEqual(await messages(policy, withPolicy(allowOnly)), [
            `${LABEL} has no statement refusing plain HTTP; add { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }.`,
        ]);
    });

    it("fails a deny that leaves out some actions", async () => {
        const partial = JSON.stringify({
            Statement: {
                Effect: "Deny",
                Principal: "*",
                Action: "s3:GetObject",
                Resource: "*",
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        });
        assert.equal((await messages(policy, withPolicy(partial))).length, 1);
    });

    it("fails a bucket with no policy at all", async () => {
        assert.deepEqual(await messages(policy, without(compliantCluster(), "prod-backup-policy")), [
            `${LABEL} has no readable bucket policy; attach one that denies s3:* to everyone when aws:SecureTransport is false.`,
        ]);
    });

    it("reports nothing while the document is being computed (preview)", async () => {
        assert.deepEqual(await messages(policy, withPolicy(UNKNOWN.string)), []);
        assert.deepEqual(
            await messages(
                policy,
                withPolicy({ Statement: [{ Effect: "Deny", Principal: "*", Action: UNKNOWN.array }] }),
            ),
            [],
        );
    });
});

describe("policy etcd-backup-bucket-no-force-destroy", () => {
    const policy = backupBucketNoForceDestroy;

    it("fails forceDestroy, reported against the bucket", async () => {
        const outcome = await runStackPolicy(
            policy,
            stackOf(patched(compliantCluster(), "prod-backup-bucket", { forceDestroy: true })),
        );
        assert.deepEqual(
            outcome.violations.map((v) => [v.message, v.urn]),
            [
                [
                    `${LABEL} sets forceDestroy, so deleting or replacing it deletes every backup in it; remove forceDestroy (and empty the bucket deliberately if it really must go).`,
                    urnOf(TYPES.bucket[0], "prod-backup-bucket", [COMPONENT.cluster, COMPONENT.backup]),
                ],
            ],
        );
    });

    it("passes forceDestroy false, and an unknown one (preview)", async () => {
        assert.deepEqual(
            await messages(policy, patched(compliantCluster(), "prod-backup-bucket", { forceDestroy: false })),
            [],
        );
        assert.deepEqual(
            await messages(
                policy,
                patched(compliantCluster(), "prod-backup-bucket", { forceDestroy: UNKNOWN.boolean }),
            ),
            [],
        );
    });
});
