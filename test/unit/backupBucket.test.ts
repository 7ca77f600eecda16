// The AWS side of backups: the exact policy documents, bucket names, and the bucket, key and role
// policies the component creates for default and custom arguments (own key, own bucket, Object
// Lock, roles), under the mocks.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { BackupObjectLockMode, SecureEtcdCluster } from "../../src";
import {
    backupBucketPolicy,
    backupKeyPolicy,
    BackupPolicyInput,
    backupRestorePolicy,
    backupWriterPolicy,
    combinePolicies,
} from "../../src/backup/backupPolicies";
import { bucketNameProblem, derivedBucketName, sanitizeForBucketName } from "../../src/backup/bucketNaming";
import { PolicyDocument } from "../../src/core/policyDocument";
import { secretsReadPolicy } from "../../src/secrets/policies";
import { KEY_ADMINISTRATION_ACTIONS } from "../../src/access/keyPolicy";
import { buildCluster, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { MOCK_ACCOUNT, MOCK_POLICY_SCOPE, MOCK_REGION } from "../../testing/awsEmulator";
import { ProviderMocks, Registration } from "../../testing/mocks";
import { MOCK_PROJECT, MOCK_STACK, runProgram, valueOf } from "../../testing/program";

const KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const INPUT: BackupPolicyInput = {
    bucketArn: "arn:aws:s3:::etcd-backup-prod-0a1b2c3d",
    prefix: "etcd-backups/prod/",
    kmsKeyArn: KEY_ARN,
    region: "eu-west-1",
    project: MOCK_PROJECT,
    stack: MOCK_STACK,
    cluster: "prod",
    administratorArns: [],
};
const OBJECTS = "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/etcd-backups/prod/*";
const VIA_S3 = {
    StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
    StringLike: { "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::etcd-backup-prod-0a1b2c3d", OBJECTS] },
};
const FOR_PROD = {
    StringEquals: {
        "kms:EncryptionContext:secure-etcd:project": MOCK_PROJECT,
        "kms:EncryptionContext:secure-etcd:stack": MOCK_STACK,
        "kms:EncryptionContext:secure-etcd:cluster": "prod",
    },
};

const BUCKET = "aws:s3/bucket:Bucket";
const KMS_KEY = "aws:kms/key:Key";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const BUCKET_SETTINGS = {
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
};

const parsed = (json: string | undefined) => JSON.parse(json!) as PolicyDocument;

/** Every action a document allows. */
function allowedActions(doc: PolicyDocument): string[] {
    return doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action].flat());
}

describe("backups: policy documents", function () {
    it("bucket policy: TLS 1.2+ only on bucket and objects; every object SSE-KMS under the backup key", () => {
        const anyone = { AWS: "*" };
        const bucketAndObjects = ["arn:aws:s3:::etcd-backup-prod-0a1b2c3d", "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/*"];
        const objects = "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/*";
        assert.deepEqual(backupBucketPolicy(INPUT), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:*",
                    Resource: bucketAndObjects,
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
                {
                    Sid: "DenyOutdatedTls",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:*",
                    Resource: bucketAndObjects,
                    Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
                },
                {
                    Sid: "DenyEncryptionOtherThanKms",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: {
                        StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
                        Null: { "s3:x-amz-server-side-encryption": "false" },
                    },
                },
                {
                    Sid: "DenyCustomerProvidedKeys",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
                },
                {
                    Sid: "DenyKmsKeyOtherThanBackupKey",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: {
                        StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN },
                        Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" },
                    },
                },
                {
                    Sid: "DenyKmsWithoutBackupKey",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: {
                        StringEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
                        Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" },
                    },
                },
                {
                    Sid: "DenyWritesThatCouldReplaceAnObject",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: {
                        Null: { "s3:if-none-match": "true" },
                        Bool: { "s3:ObjectCreationOperation": "true" },
                    },
                },
                {
                    Sid: "DenyDeletingBackupsToAllButAdministrators",
                    Effect: "Deny",
                    Principal: anyone,
                    Action: [
                        "s3:DeleteObject",
                        "s3:DeleteObjectVersion",
                        "s3:BypassGovernanceRetention",
                        "s3:PutObjectRetention",
                    ],
                    Resource: objects,
                },
            ],
        });
    });

    it("bucket policy: deleting a backup or its lock is for the administrators named, and nobody else", () => {
        const admins = ["arn:aws:iam::123456789012:role/etcd-admins"];
        const last = backupBucketPolicy({ ...INPUT, administratorArns: admins }).Statement.at(-1)!;
        assert.equal(last.Sid, "DenyDeletingBackupsToAllButAdministrators");
        assert.deepEqual(last.Condition, { ArnNotLike: { "aws:PrincipalArn": admins } });
        // With none named the deny has no condition: only the bucket's lifecycle deletes.
        assert.equal(backupBucketPolicy(INPUT).Statement.at(-1)!.Condition, undefined);
    });

    it("bucket policy with a daily lock: the only lock anyone but the administrators sets is a daily backup's", () => {
        const admins = ["arn:aws:iam::123456789012:role/etcd-admins"];
        const spared = { ArnNotLike: { "aws:PrincipalArn": admins } };
        const doc = backupBucketPolicy({
            ...INPUT,
            administratorArns: admins,
            dailyLock: { mode: "GOVERNANCE", days: 30 },
        });
        const objects = "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/*";
        const remaining = "s3:object-lock-remaining-retention-days";
        const deny = (Sid: string, Action: string | string[], Resource: string, Condition: object) => ({
            Sid,
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action,
            Resource,
            Condition,
        });
        const locking = ["s3:PutObject", "s3:PutObjectRetention"];
        assert.deepEqual(doc.Statement.slice(-5), [
            deny("DenyObjectLockModesOtherThanGovernance", locking, objects, {
                StringNotEquals: { "s3:object-lock-mode": "GOVERNANCE" },
                Null: { "s3:object-lock-mode": "false" },
                ...spared,
            }),
            deny("DenyObjectLocksShorterThanTheDailyTier", locking, objects, {
                NumericLessThan: { [remaining]: "30" },
                ...spared,
            }),
            deny("DenyObjectLocksLongerThanTheDailyTier", locking, objects, {
                NumericGreaterThan: { [remaining]: "31" },
                ...spared,
            }),
            deny("DenyLiftingObjectLocks", "s3:PutObjectRetention", objects, {
                Null: { [remaining]: "true" },
                ...spared,
            }),
            deny(
                "DenyDailyManifestsWithoutTheirLock",
                "s3:PutObject",
                "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/etcd-backups/prod/daily/*.manifest.json",
                { Bool: { "s3:ObjectCreationOperation": "true" }, Null: { "s3:object-lock-mode": "true" } },
            ),
        ]);
        // Setting a retention is bounded by those instead of refused outright; deleting, and bypassing a
        // lock, stay the administrators'.
        const deletes = doc.Statement.find((x) => x.Sid === "DenyDeletingBackupsToAllButAdministrators")!;
        assert.deepEqual(deletes.Action, ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"]);
        // Compliance: the mode named after it; a daily lock needs the prefix its manifests lie under.
        const compliance = backupBucketPolicy({ ...INPUT, dailyLock: { mode: "COMPLIANCE", days: 7 } });
        assert.ok(compliance.Statement.some((x) => x.Sid === "DenyObjectLockModesOtherThanCompliance"));
        const withoutPrefix = { bucketArn: INPUT.bucketArn, kmsKeyArn: KEY_ARN, administratorArns: [] };
        assert.throws(
            () => backupBucketPolicy({ ...withoutPrefix, dailyLock: { mode: "GOVERNANCE", days: 7 } }),
            /a daily lock needs the cluster's prefix/,
        );
    });

    it("bucket policy: denies only, and never a request that carries no encryption header (multipart parts)", () => {
        const statements = backupBucketPolicy(INPUT).Statement;
        assert.ok(statements.every((s) => s.Effect === "Deny"));
        // A negated or ...IfExists comparison on an SSE header is true when the header is absent, so
        // alone it would refuse UploadPart, which cannot send it: each is guarded by "present"
        // (Null: false). The simulator suite (leastPrivilege.test.ts) evaluates an UploadPart.
        for (const s of statements.filter((x) => x.Action === "s3:PutObject")) {
            const operators = Object.keys(s.Condition ?? {});
            assert.ok(!operators.some((o) => o.endsWith("IfExists")), s.Sid);
            for (const key of Object.keys(s.Condition?.StringNotEquals ?? {})) {
                assert.equal(s.Condition?.Null?.[key], "false", `${s.Sid}: ${key} compared only when present`);
            }
        }
    });

    it("backup key policy: administrators manage it; the named writer and restore roles use it as their IAM policies do", () => {
        const access = { administrators: [], writerRoleNames: ["etcd-member"], readerRoleNames: ["etcd-dr"] };
        const doc = backupKeyPolicy(MOCK_POLICY_SCOPE, access, INPUT);
        const root = `arn:aws:iam::${MOCK_ACCOUNT}:root`;
        assert.deepEqual(doc.Statement[0], {
            Sid: "KeyAdministration",
            Effect: "Allow",
            Principal: { AWS: root },
            Action: KEY_ADMINISTRATION_ACTIONS,
            Resource: "*",
        });
        const role = (name: string) => [
            `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`,
            `arn:aws:iam::${MOCK_ACCOUNT}:role/*/${name}`,
        ];
        const uses = doc.Statement.slice(1).map((s) => [s.Sid, s.Action, s.Condition?.ArnLike?.["aws:PrincipalArn"]]);
        assert.deepEqual(uses, [
            ["WritersMakeEnvelopeKeysForThisCluster", ["kms:GenerateDataKey"], role("etcd-member")],
            ["WritersEncryptThroughS3", ["kms:GenerateDataKey", "kms:Decrypt"], role("etcd-member")],
            ["RestorersDecryptThisCluster", ["kms:Decrypt"], role("etcd-dr")],
            ["RestorersDecryptThroughS3", ["kms:Decrypt"], role("etcd-dr")],
        ]);
        // The same conditions as the roles' own policies: both must allow.
        const writer = backupWriterPolicy(INPUT).Statement;
        assert.deepEqual(doc.Statement[1].Condition?.StringEquals, writer[1].Condition?.StringEquals);
        assert.deepEqual(doc.Statement[2].Condition?.StringLike, writer[2].Condition?.StringLike);
        // Nobody named: those uses are left to IAM, still under the same conditions.
        const unnamed = backupKeyPolicy(
            MOCK_POLICY_SCOPE,
            { ...access, writerRoleNames: [], readerRoleNames: [] },
            INPUT,
        );
        for (const s of unnamed.Statement.slice(1)) {
            assert.deepEqual(s.Principal, { AWS: root }, s.Sid);
            assert.equal(s.Condition?.ArnLike, undefined, s.Sid);
        }
    });

    it("writer: puts under the prefix, data keys for its own cluster, SSE-KMS through S3", () => {
        assert.deepEqual(backupWriterPolicy(INPUT), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "WriteBackupObjects",
                    Effect: "Allow",
                    Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                    Resource: OBJECTS,
                },
                {
                    Sid: "EnvelopeDataKeysForThisCluster",
                    Effect: "Allow",
                    Action: "kms:GenerateDataKey",
                    Resource: KEY_ARN,
                    Condition: FOR_PROD,
                },
                {
                    Sid: "ServerSideEncryptionThroughS3",
                    Effect: "Allow",
                    Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                    Resource: KEY_ARN,
                    Condition: VIA_S3,
                },
                {
                    Sid: "ListDailyBackups",
                    Effect: "Allow",
                    Action: "s3:ListBucket",
                    Resource: "arn:aws:s3:::etcd-backup-prod-0a1b2c3d",
                    Condition: { StringLike: { "s3:prefix": "etcd-backups/prod/daily/*" } },
                },
            ],
        });
        // Under Object Lock: the daily backup's own lock, on the daily tier only.
        assert.deepEqual(
            backupWriterPolicy({ ...INPUT, dailyLock: { mode: "GOVERNANCE", days: 30 } }).Statement.at(-1),
            {
                Sid: "LockDailyBackups",
                Effect: "Allow",
                Action: "s3:PutObjectRetention",
                Resource: "arn:aws:s3:::etcd-backup-prod-0a1b2c3d/etcd-backups/prod/daily/*",
            },
        );
    });

    it("writer: no read, no list but the daily tier's names, no delete, and Decrypt only through S3", () => {
        const writer = backupWriterPolicy(INPUT);
        const actions = allowedActions(writer);
        for (const forbidden of [
            /^s3:Get/,
            /^s3:Delete/,
            /^s3:ListBucket(Versions|MultipartUploads)/,
            /^s3:PutObject(Acl|Retention|LegalHold)/,
        ]) {
            assert.ok(!actions.some((a) => forbidden.test(a)), `${forbidden} in ${actions.join(", ")}`);
        }
        assert.ok(!actions.some((a) => a.includes("*")), "no wildcard actions");
        for (const s of writer.Statement.filter((x) => [x.Action].flat().includes("kms:Decrypt"))) {
            assert.equal(s.Condition?.StringEquals?.["kms:ViaService"], "s3.eu-west-1.amazonaws.com", s.Sid);
        }
        // Only objects under the cluster's prefix, never other clusters' objects; the bucket only to
        // list the daily tier's names.
        const s3Resources = writer.Statement.filter((s) => [s.Action].flat().some((a) => a.startsWith("s3:")));
        assert.deepEqual(
            s3Resources.map((s) => [s.Resource, s.Condition]),
            [
                [OBJECTS, undefined],
                [
                    "arn:aws:s3:::etcd-backup-prod-0a1b2c3d",
                    { StringLike: { "s3:prefix": "etcd-backups/prod/daily/*" } },
                ],
            ],
        );
    });

    it("restore: lists and reads the cluster's backups, decrypts them, and writes nothing", () => {
        assert.deepEqual(backupRestorePolicy(INPUT), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ListBackups",
                    Effect: "Allow",
                    Action: ["s3:ListBucket", "s3:ListBucketVersions"],
                    Resource: "arn:aws:s3:::etcd-backup-prod-0a1b2c3d",
                    Condition: { StringLike: { "s3:prefix": "etcd-backups/prod/*" } },
                },
                {
                    Sid: "ReadBackupObjects",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:GetObjectVersion"],
                    Resource: OBJECTS,
                },
                {
                    Sid: "EnvelopeDecryptForThisCluster",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: KEY_ARN,
                    Condition: FOR_PROD,
                },
                {
                    Sid: "ServerSideDecryptionThroughS3",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: KEY_ARN,
                    Condition: VIA_S3,
                },
            ],
        });
        const actions = allowedActions(backupRestorePolicy(INPUT));
        assert.ok(!actions.some((a) => /Put|Delete|GenerateDataKey|Encrypt/.test(a)), actions.join(", "));
    });

    it("combines a member's secrets and backup policies, refusing repeated statement ids", () => {
        const secrets = secretsReadPolicy({ secretArns: ["arn:s"], kmsKeyArn: KEY_ARN, region: "eu-west-1" });
        const combined = combinePolicies(secrets, backupWriterPolicy(INPUT));
        assert.deepEqual(
            combined.Statement.map((s) => s.Sid),
            [
                "ReadOwnSecrets",
                "DecryptThroughSecretsManager",
                "WriteBackupObjects",
                "EnvelopeDataKeysForThisCluster",
                "ServerSideEncryptionThroughS3",
                "ListDailyBackups",
            ],
        );
        assert.throws(() => combinePolicies(secrets, secrets), /ReadOwnSecrets.*appear twice/);
    });
});

describe("backups: bucket names", function () {
    it("derives a valid name from any cluster name, within 63 characters", () => {
        assert.equal(derivedBucketName("prod", "0a1b2c3d"), "etcd-backup-prod-0a1b2c3d");
        assert.equal(derivedBucketName("Prod_East.1", "0a1b2c3d"), "etcd-backup-prod-east-1-0a1b2c3d");
        assert.equal(derivedBucketName("--", "0a1b2c3d"), "etcd-backup-cluster-0a1b2c3d");
        assert.equal(derivedBucketName("a".repeat(100), "0a1b2c3d").length, 63);
        const cut = derivedBucketName(`${"a".repeat(41)}-${"b".repeat(40)}`, "0a1b2c3d");
        assert.equal(cut, `etcd-backup-${"a".repeat(41)}-0a1b2c3d`, "no '--' left where the cut fell");
        for (const cluster of ["prod", "Prod_East.1", "x".repeat(200), "xn--a", "a--ol-s3", "ÜBER"]) {
            const name = derivedBucketName(cluster, "ffffffff");
            assert.equal(bucketNameProblem(name), undefined, name);
        }
        assert.equal(sanitizeForBucketName("ÜBER"), "ber");
    });

    it("refuses names S3 refuses, dotted names, and AWS's reserved prefixes and suffixes", () => {
        assert.equal(bucketNameProblem("acme-etcd-backups"), undefined);
        for (const bad of ["ab", "a".repeat(64), "Acme", "acme_backups", "-acme", "acme-", "192.168.5.4"]) {
            assert.match(bucketNameProblem(bad) ?? "", /not a valid S3 bucket name|contains '\.'/, bad);
        }
        assert.match(bucketNameProblem("acme.backups")!, /contains '\.'.*TLS/);
        assert.match(bucketNameProblem("xn--acme")!, /reserves/);
        assert.match(bucketNameProblem("acme-s3alias")!, /reserves/);
    });
});

/** The single registration of `type` in the backup component. */
function one(mocks: ProviderMocks, type: string): Registration {
    const found = mocks.ofType(type).filter((r) => r.name.includes("-backup-"));
    assert.equal(found.length, 1, `${type}: ${found.map((r) => r.name).join(", ")}`);
    return found[0];
}

describe("backups: the bucket and key the component creates", function () {
    it("with backupAccessLogBucketName: the bucket's S3 server access logs go to that bucket, under its name; none by default", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupAccessLogBucketName: "acme-s3-access-logs",
        });
        const name = await valueOf(cluster.backupBucketName);
        const logging = one(mocks, "aws:s3/bucketLogging:BucketLogging");
        assert.deepEqual(logging.inputs, {
            bucket: name,
            targetBucket: "acme-s3-access-logs",
            targetPrefix: `${name}/`,
        });
        assert.equal(mocks.optionsOf(logging)!.retainOnDelete, true, "kept with the bucket");
        const plain = await buildCluster({ members: THREE_MEMBERS });
        assert.equal(plain.mocks.ofType("aws:s3/bucketLogging:BucketLogging").length, 0);
    });

    it("by default: a versioned, SSE-KMS, private, TLS-only bucket under a new rotating key, expiring after 30 days", async () => {
        const { cluster, mocks } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const bucket = one(mocks, BUCKET);
        const name = await valueOf(cluster.backupBucketName);
        assert.match(name!, /^etcd-backup-prod-[0-9a-f]{8}$/);
        assert.deepEqual(bucket.inputs, {
            bucket: name,
            forceDestroy: false,
            tags: { "secure-etcd:cluster": "prod" },
        });
        assert.equal(bucket.name, "prod-backup-bucket");
        assert.equal(await valueOf(cluster.backupBucketArn), `arn:aws:s3:::${name}`);

        const key = one(mocks, KMS_KEY);
        const keyArn = await valueOf(cluster.backupKmsKeyArn);
        assert.equal(keyArn, key.state!.arn);
        assert.match(keyArn!, /^arn:aws:kms:us-east-1:123456789012:key\/[0-9a-f-]{36}$/);
        assert.notEqual(keyArn, await valueOf(cluster.secretsKmsKeyArn), "a key of its own");
        assert.deepEqual(
            { ...key.inputs, policy: JSON.parse(key.inputs.policy as string) as unknown },
            {
                description: "etcd backups of cluster prod: envelope and SSE-KMS (secure-etcd)",
                keyUsage: "ENCRYPT_DECRYPT",
                customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: backupKeyPolicy(
                    MOCK_POLICY_SCOPE,
                    { administrators: [], writerRoleNames: [], readerRoleNames: [] },
                    {
                        bucketArn: `arn:aws:s3:::${name}`,
                        prefix: "etcd-backups/prod/",
                        region: MOCK_REGION,
                        project: MOCK_PROJECT,
                        stack: MOCK_STACK,
                        cluster: "prod",
                    },
                ),
                tags: { "secure-etcd:cluster": "prod" },
            },
        );

        const settings = Object.fromEntries(
            Object.entries(BUCKET_SETTINGS)
                .filter(([k]) => k !== "objectLock")
                .map(([k, type]) => [k, one(mocks, type).inputs]),
        );
        const policy = settings.policy.policy as string;
        assert.deepEqual(settings, {
            versioning: { bucket: name, versioningConfiguration: { status: "Enabled" } },
            encryption: {
                bucket: name,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
                        bucketKeyEnabled: true,
                        blockedEncryptionTypes: ["SSE-C"],
                    },
                ],
            },
            publicAccessBlock: {
                bucket: name,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            ownership: { bucket: name, rule: { objectOwnership: "BucketOwnerEnforced" } },
            policy: { bucket: name, policy },
            lifecycle: {
                bucket: name,
                rules: [
                    // Every backup for a day, one a day for 30 days, each tier on a folder of its own.
                    {
                        id: "expire-frequent-backups",
                        status: "Enabled",
                        filter: { prefix: "etcd-backups/prod/frequent/" },
                        expiration: { days: 1 },
                        noncurrentVersionExpiration: { noncurrentDays: 7 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                    {
                        id: "expire-daily-backups",
                        status: "Enabled",
                        filter: { prefix: "etcd-backups/prod/daily/" },
                        expiration: { days: 30 },
                        noncurrentVersionExpiration: { noncurrentDays: 7 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                    // Backups written before tiers (etcd-backups/prod/2026/...): as they were written.
                    {
                        id: "expire-backups-before-tiers",
                        status: "Enabled",
                        filter: { prefix: "etcd-backups/prod/2" },
                        expiration: { days: 30 },
                        noncurrentVersionExpiration: { noncurrentDays: 7 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                    },
                ],
            },
        });
        assert.deepEqual(
            JSON.parse(policy),
            backupBucketPolicy({
                bucketArn: `arn:aws:s3:::${name}`,
                prefix: "etcd-backups/prod/",
                kmsKeyArn: keyArn!,
                administratorArns: [],
                dailyLock: { mode: "GOVERNANCE", days: 30 },
            }),
        );
        assert.equal(await valueOf(cluster.backupBucketPolicy), policy);
        // Object Lock by default: governance mode; the bucket's default (every frequent backup's) for
        // as long as a noncurrent version is kept, the daily backups' own for the 30 days they are kept.
        assert.deepEqual(one(mocks, BUCKET_SETTINGS.objectLock).inputs, {
            bucket: name,
            objectLockEnabled: "Enabled",
            rule: { defaultRetention: { mode: "GOVERNANCE", days: 7 } },
        });
        assert.equal(mocks.ofType(ROLE_POLICY).length, 0, "no role touched unless named");
    });

    it("keeps the bucket, its settings and its key when the component goes; orders policy and lifecycle", async () => {
        const { mocks } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const backupResources = mocks.registrations.filter((r) => r.custom && r.name.startsWith("prod-backup-"));
        for (const r of backupResources) {
            const retained = r.type !== "random:index/randomId:RandomId";
            assert.equal(mocks.optionsOf(r)?.retainOnDelete, retained, r.name);
        }
        const dependsOn = (name: string) => mocks.optionsOf(mocks.named(name))!.dependencies;
        assert.ok(dependsOn("prod-backup-policy").some((d) => d.endsWith("::prod-backup-public-access-block")));
        assert.ok(dependsOn("prod-backup-lifecycle").some((d) => d.endsWith("::prod-backup-versioning")));
    });

    it("Object Lock: a lock configuration on the versioned bucket, the frequent tier's days by default", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupObjectLockMode: BackupObjectLockMode.Compliance,
            backupRetentionDays: 14,
            backupFrequentRetentionDays: 5,
            backupNoncurrentVersionRetentionDays: 3,
        });
        const lock = one(mocks, BUCKET_SETTINGS.objectLock);
        const bucketName = one(mocks, BUCKET).inputs.bucket;
        assert.deepEqual(lock.inputs, {
            bucket: bucketName,
            objectLockEnabled: "Enabled",
            rule: { defaultRetention: { mode: "COMPLIANCE", days: 5 } },
        });
        assert.ok(mocks.optionsOf(lock)!.dependencies.some((d) => d.endsWith("::prod-backup-versioning")));
        const rules = one(mocks, BUCKET_SETTINGS.lifecycle).inputs.rules as Record<string, unknown>[];
        assert.deepEqual(
            rules.map((r) => [r.id, r.expiration, r.noncurrentVersionExpiration]),
            [
                ["expire-frequent-backups", { days: 5 }, { noncurrentDays: 3 }],
                ["expire-daily-backups", { days: 14 }, { noncurrentDays: 3 }],
                ["expire-backups-before-tiers", { days: 14 }, { noncurrentDays: 3 }],
            ],
        );
        // Daily backups: their own lock, in the bucket's mode, for the 14 days they are kept.
        const sids = parsed(await valueOf(cluster.backupBucketPolicy)).Statement.map((s) => s.Sid);
        assert.ok(sids.includes("DenyObjectLockModesOtherThanCompliance"), sids.join(", "));
        const node = (await valueOf(cluster.nodeFiles))["etcd-0"].find(
            (f) => f.path === "/etc/secure-etcd/backup.json",
        )!;
        assert.deepEqual((JSON.parse(node.content) as { tiers: unknown }).tiers, {
            dailyLock: { mode: "COMPLIANCE", days: 14 },
        });
        // Enabled by the lock configuration, so turning it on later does not replace the bucket.
        assert.equal(one(mocks, BUCKET).inputs.objectLockEnabled, undefined);
    });

    it("Object Lock: as long as an old version is kept, when that is longer than a backup stays current", async () => {
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupRetentionDays: 3,
            backupNoncurrentVersionRetentionDays: 10,
        });
        assert.deepEqual(one(mocks, BUCKET_SETTINGS.objectLock).inputs.rule, {
            defaultRetention: { mode: "GOVERNANCE", days: 10 },
        });
    });

    it('Object Lock: "OFF" leaves the bucket without one', async () => {
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupObjectLockMode: BackupObjectLockMode.Off,
        });
        assert.equal(mocks.ofType(BUCKET_SETTINGS.objectLock).length, 0);
    });

    it("Object Lock: governance mode for the days given", async () => {
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupObjectLockMode: BackupObjectLockMode.Governance,
            backupObjectLockDays: pulumi.output(10),
        });
        assert.deepEqual(one(mocks, BUCKET_SETTINGS.objectLock).inputs.rule, {
            defaultRetention: { mode: "GOVERNANCE", days: 10 },
        });
    });

    it("a key you give: no backup key created; the bucket, policies and agent use yours", async () => {
        const { cluster, mocks, outputs } = await buildCluster({ members: THREE_MEMBERS, backupKmsKeyArn: KEY_ARN });
        assert.deepEqual(
            mocks
                .ofType(KMS_KEY)
                .map((k) => k.name)
                .sort(),
            // The backup alarms' topic has a key of its own.
            ["prod-alarms-topic-kms-key", "prod-secrets-kms-key"],
        );
        assert.equal(await valueOf(cluster.backupKmsKeyArn), KEY_ARN);
        const encryption = one(mocks, BUCKET_SETTINGS.encryption).inputs.rules as {
            applyServerSideEncryptionByDefault: { kmsMasterKeyId: string };
        }[];
        assert.equal(encryption[0].applyServerSideEncryptionByDefault.kmsMasterKeyId, KEY_ARN);
        assert.ok((await valueOf(cluster.backupWriterPolicy))!.includes(KEY_ARN));
        const config = outputs.nodeFiles.value["etcd-2"].find((f) => f.path === "/etc/secure-etcd/backup.json")!;
        assert.equal((JSON.parse(config.content) as { kmsKeyArn: string }).kmsKeyArn, KEY_ARN);
    });

    it("a bucket you give: no bucket resources, only the policies (and a key unless given)", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupBucketName: pulumi.output("acme-etcd-backups"),
            backupKmsKeyArn: KEY_ARN,
        });
        for (const type of [BUCKET, ...Object.values(BUCKET_SETTINGS)]) {
            assert.equal(mocks.ofType(type).length, 0, type);
        }
        assert.equal(mocks.registrations.filter((r) => r.name.startsWith("prod-backup-")).length, 0);
        assert.equal(await valueOf(cluster.backupBucketName), "acme-etcd-backups");
        assert.equal(await valueOf(cluster.backupBucketArn), "arn:aws:s3:::acme-etcd-backups");
        const bucketPolicy = JSON.parse((await valueOf(cluster.backupBucketPolicy))!) as PolicyDocument;
        assert.deepEqual(
            bucketPolicy,
            backupBucketPolicy({
                bucketArn: "arn:aws:s3:::acme-etcd-backups",
                kmsKeyArn: KEY_ARN,
                administratorArns: [],
            }),
        );
        const writer = JSON.parse((await valueOf(cluster.backupWriterPolicy))!) as PolicyDocument;
        assert.equal(writer.Statement[0].Resource, "arn:aws:s3:::acme-etcd-backups/etcd-backups/prod/*");
        // Tiers still, but no lock of their own on a bucket whose lock this component does not know:
        // the writer sets none, and the agent is told none.
        assert.ok(!allowedActions(writer).includes("s3:PutObjectRetention"));
        const node = (await valueOf(cluster.nodeFiles))["etcd-0"].find(
            (f) => f.path === "/etc/secure-etcd/backup.json",
        )!;
        assert.deepEqual((JSON.parse(node.content) as { tiers: unknown }).tiers, {});

        const withKey = await buildCluster({ members: THREE_MEMBERS, backupBucketName: "acme-etcd-backups" });
        assert.equal(one(withKey.mocks, KMS_KEY).name, "prod-backup-kms-key", "the envelope still needs a key");
    });

    it("attaches the writer and restore policies to the roles named, as inline policies", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupWriterRoleNames: ["etcd-member"],
            backupReaderRoleNames: ["etcd-restore", "break-glass"],
        });
        const policies = mocks
            .ofType(ROLE_POLICY)
            .map((r) => ({ resource: r.name, role: r.inputs.role, name: r.inputs.name, policy: r.inputs.policy }));
        const writer = await valueOf(cluster.backupWriterPolicy);
        const restore = await valueOf(cluster.backupRestorePolicy);
        assert.deepEqual(policies, [
            {
                resource: "prod-backup-writer-etcd-member",
                role: "etcd-member",
                name: "secure-etcd-prod-backup-writer",
                policy: writer,
            },
            {
                resource: "prod-backup-reader-etcd-restore",
                role: "etcd-restore",
                name: "secure-etcd-prod-backup-reader",
                policy: restore,
            },
            {
                resource: "prod-backup-reader-break-glass",
                role: "break-glass",
                name: "secure-etcd-prod-backup-reader",
                policy: restore,
            },
        ]);
        assert.ok(mocks.ofType(ROLE_POLICY).every((r) => mocks.optionsOf(r)?.retainOnDelete === false));
    });

    it("two clusters in one stack get buckets, keys and resources of their own", async () => {
        const { result, mocks } = await runProgram(() => [
            new SecureEtcdCluster("events", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID }),
            new SecureEtcdCluster("main", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID }),
        ]);
        const names = await Promise.all(result.map((c) => valueOf(c.backupBucketName)));
        assert.notEqual(names[0], names[1]);
        assert.match(names[0]!, /^etcd-backup-events-[0-9a-f]{8}$/);
        assert.match(names[1]!, /^etcd-backup-main-[0-9a-f]{8}$/);
        assert.equal(new Set(mocks.ofType(BUCKET).map((b) => b.id)).size, 2);
        const prefixes = await Promise.all(result.map((c) => valueOf(c.backupPrefix)));
        assert.deepEqual(prefixes, ["etcd-backups/events/", "etcd-backups/main/"]);
        // Same cluster name in another stack: another bucket name still.
        const again = await buildCluster({ members: THREE_MEMBERS }, "events");
        assert.notEqual(await valueOf(again.cluster.backupBucketName), names[0]);
    });
});
