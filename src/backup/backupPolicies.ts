// The backups' AWS policies as pure functions of names and ARNs: the bucket policy, the backup
// key's policy, and the two IAM policies, one to write backups and one to restore them. Least
// privilege: the writer can add objects under the cluster's prefix and nothing else (no read, no
// list, no delete), and the bucket itself refuses any write that would replace an object, so a
// compromised member cannot read, overwrite or destroy earlier backups.
import { keyPolicy, KeyPolicyScope } from "../access/keyPolicy";
import { denyOutsideVpcEndpoints } from "../access/vpcEndpoints";
import { policy, PolicyDocument, PolicyStatement } from "../core/policyDocument";
import { CLUSTER_CONTEXT_KEY, DAILY_TIER, PROJECT_CONTEXT_KEY, STACK_CONTEXT_KEY } from "./agentConfig";

/** The Object Lock retention a daily backup carries: its mode, and for how many days. */
export interface DailyLock {
    mode: string;
    days: number;
}

export interface BackupPolicyInput {
    /** `arn:<partition>:s3:::<bucket>`. */
    bucketArn: string;
    /** The cluster's object-key prefix, ending in `/` (see `backupPrefix`). */
    prefix: string;
    /** The backup KMS key's ARN: envelope encryption and SSE-KMS. */
    kmsKeyArn: string;
    /** The bucket's region: SSE-KMS calls reach KMS through `s3.<region>.amazonaws.com`. */
    region: string;
    /**
     * The cluster's identity in every envelope's encryption context: its Pulumi project and stack and
     * the component's name, so that a writer of one stack cannot make data keys for another's.
     */
    project: string;
    stack: string;
    cluster: string;
    /**
     * `aws:PrincipalArn` patterns that may delete backups and change their retention by hand
     * (`keyAdministratorArns`); with none, nobody may: only the bucket's lifecycle deletes.
     */
    administratorArns: string[];
    /** `backupVpcEndpointIds`: object operations only through these S3 endpoints. */
    vpcEndpointIds?: string[];
    /**
     * The lock every daily backup carries (absent without Object Lock, or on a bucket you bring):
     * the writer may then set it, and nobody but the administrators any other.
     */
    dailyLock?: DailyLock;
}

/** `arn:aws:s3:::example` -> `arn:aws:s3:::example/etcd-backups/prod/daily/*`. */
function dailyObjects(input: { bucketArn: string; prefix: string }): string {
    return `${input.bucketArn}/${input.prefix}${DAILY_TIER}*`;
}

/** `arn:aws:s3:::example` -> `arn:aws:s3:::example/etcd-backups/prod/*`. */
function prefixObjects(input: { bucketArn: string; prefix: string }): string {
    return `${input.bucketArn}/${input.prefix}*`;
}

/**
 * SSE-KMS requests reach KMS from S3 with the bucket (S3 Bucket Keys) or the object as encryption
 * context: scoping to both keeps the grant to this bucket's backups even when the key is shared.
 */
function throughS3(input: Pick<BackupPolicyInput, "region" | "bucketArn" | "prefix">): PolicyStatement["Condition"] {
    return {
        StringEquals: { "kms:ViaService": `s3.${input.region}.amazonaws.com` },
        StringLike: { "kms:EncryptionContext:aws:s3:arn": [input.bucketArn, prefixObjects(input)] },
    };
}

function forThisCluster(input: Pick<BackupPolicyInput, "project" | "stack" | "cluster">): PolicyStatement["Condition"] {
    return {
        StringEquals: {
            [`kms:EncryptionContext:${PROJECT_CONTEXT_KEY}`]: input.project,
            [`kms:EncryptionContext:${STACK_CONTEXT_KEY}`]: input.stack,
            [`kms:EncryptionContext:${CLUSTER_CONTEXT_KEY}`]: input.cluster,
        },
    };
}

/**
 * The bucket's policy: TLS 1.2+ only, and every object SSE-KMS under the backup key (never SSE-S3,
 * another KMS key or a customer-provided key).
 *
 * Why no "deny PutObject without an encryption header": UploadPart and CompleteMultipartUpload
 * are authorized as s3:PutObject but cannot carry `x-amz-server-side-encryption`, so such a deny
 * refuses every multipart upload (large snapshots). Instead a header, when present, must name
 * SSE-KMS and the backup key (with `aws:kms` alone S3 would pick the AWS-managed `aws/s3` key),
 * and requests without one get the bucket's default encryption: the same key. Either way every
 * object ends up under the backup key. "When present" is spelled `Null: false` beside the
 * comparison: a negated operator (`StringNotEquals`), and any `...IfExists` operator, is true
 * when the key is absent, so either alone would refuse the parts too.
 *
 * With VPC endpoints, object operations from anywhere else are refused, whoever asks: no one needs
 * the objects from outside (`pulumi up` manages the bucket, never its objects), and the bucket's
 * own configuration and policy stay out of the deny, so it cannot lock anyone out.
 */
export function backupBucketPolicy(
    input: Pick<BackupPolicyInput, "bucketArn" | "kmsKeyArn" | "administratorArns" | "vpcEndpointIds" | "dailyLock"> &
        Partial<Pick<BackupPolicyInput, "prefix">>,
): PolicyDocument {
    if (input.dailyLock !== undefined && input.prefix === undefined) {
        throw new Error("a daily lock needs the cluster's prefix: its daily manifests must carry the lock");
    }
    return policy(
        ...transportAndEncryptionDenies(input),
        ...writeOnceDenies(input),
        ...(input.dailyLock !== undefined
            ? lockDenies({ ...input, prefix: input.prefix!, dailyLock: input.dailyLock })
            : []),
        ...(input.vpcEndpointIds && input.vpcEndpointIds.length > 0
            ? [
                  denyOutsideVpcEndpoints({
                      sid: "DenyObjectAccessOutsideVpcEndpoints",
                      actions: ["s3:*"],
                      resources: `${input.bucketArn}/*`,
                      endpointIds: input.vpcEndpointIds,
                  }),
              ]
            : []),
    );
}

const anyone = { AWS: "*" };

/** TLS 1.2+ only; every object SSE-KMS under the backup key. */
function transportAndEncryptionDenies(input: Pick<BackupPolicyInput, "bucketArn" | "kmsKeyArn">): PolicyStatement[] {
    const objects = `${input.bucketArn}/*`;
    return [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: anyone,
            Action: "s3:*",
            Resource: [input.bucketArn, objects],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
            Sid: "DenyOutdatedTls",
            Effect: "Deny",
            Principal: anyone,
            Action: "s3:*",
            Resource: [input.bucketArn, objects],
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
            // Customer-provided keys carry no x-amz-server-side-encryption header, and would
            // bypass the backup key altogether.
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
                StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": input.kmsKeyArn },
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
    ];
}

/** Who the denies below spare: the administrators named (none: nobody is spared). */
function allButAdministrators(administratorArns: string[]): PolicyStatement["Condition"] {
    return administratorArns.length > 0 ? { ArnNotLike: { "aws:PrincipalArn": administratorArns } } : {};
}

/** Nothing replaced, nothing deleted or unlocked but by the administrators named. */
function writeOnceDenies(
    input: Pick<BackupPolicyInput, "bucketArn" | "administratorArns" | "dailyLock">,
): PolicyStatement[] {
    const objects = `${input.bucketArn}/*`;
    return [
        {
            // Write-once: PutObject and CompleteMultipartUpload (the operations that create an
            // object) only with `If-None-Match: *`, which S3 refuses when the key exists. The
            // multipart steps before them (CreateMultipartUpload, UploadPart) cannot carry the
            // header and are exempt, as AWS documents. CopyObject into the bucket is refused too.
            Sid: "DenyWritesThatCouldReplaceAnObject",
            Effect: "Deny",
            Principal: anyone,
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { Null: { "s3:if-none-match": "true" }, Bool: { "s3:ObjectCreationOperation": "true" } },
        },
        {
            // Deleting a backup, or shortening or lifting its lock, is for the administrators named,
            // not for any principal whose IAM policy happens to allow it (a CI role with s3:*).
            Sid: "DenyDeletingBackupsToAllButAdministrators",
            Effect: "Deny",
            Principal: anyone,
            // With a daily lock, setting a retention is bounded by `lockDenies` instead: the only
            // one a non-administrator may set is a daily backup's.
            Action: [
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:BypassGovernanceRetention",
                ...(input.dailyLock === undefined ? ["s3:PutObjectRetention"] : []),
            ],
            Resource: objects,
            ...(input.administratorArns.length > 0 ? { Condition: allButAdministrators(input.administratorArns) } : {}),
        },
    ];
}

/**
 * Retention tiers under Object Lock: a daily backup carries a lock of its own, which the writer sets
 * (on PutObject, or on CreateMultipartUpload for a snapshot in parts). What anyone but the
 * administrators may set, on upload or later with PutObjectRetention, is exactly that lock: the
 * bucket's mode, for the daily tier's days to a day more (S3's remaining-days count may round
 * either way; the agent adds an hour). So nobody can lock a backup in another mode (a compliance lock
 * nobody can lift), for longer (storage nobody can delete: a bill as ransom), or for less, and
 * shortening an existing lock needs s3:BypassGovernanceRetention, denied above (compliance: never).
 * The condition keys are absent from requests that set no lock (parts, completions, uploads that
 * take the bucket's default): those are not refused here, so the policy cannot require the lock on
 * a snapshot sent in parts (only CreateMultipartUpload carries it, and S3 authorizes that step, like
 * each part, as s3:PutObject without s3:ObjectCreationOperation). It requires it on the daily
 * manifest, one PutObject, without which no snapshot is a backup.
 */
function lockDenies(
    input: Pick<BackupPolicyInput, "bucketArn" | "prefix" | "administratorArns"> & { dailyLock: DailyLock },
): PolicyStatement[] {
    const objects = `${input.bucketArn}/*`;
    const { mode, days } = input.dailyLock;
    const remaining = "s3:object-lock-remaining-retention-days";
    const locking = ["s3:PutObject", "s3:PutObjectRetention"];
    const spared = allButAdministrators(input.administratorArns);
    return [
        {
            Sid: `DenyObjectLockModesOtherThan${mode === "COMPLIANCE" ? "Compliance" : "Governance"}`,
            Effect: "Deny",
            Principal: anyone,
            Action: locking,
            Resource: objects,
            Condition: {
                StringNotEquals: { "s3:object-lock-mode": mode },
                Null: { "s3:object-lock-mode": "false" },
                ...spared,
            },
        },
        {
            Sid: "DenyObjectLocksShorterThanTheDailyTier",
            Effect: "Deny",
            Principal: anyone,
            Action: locking,
            Resource: objects,
            Condition: { NumericLessThan: { [remaining]: String(days) }, ...spared },
        },
        {
            Sid: "DenyObjectLocksLongerThanTheDailyTier",
            Effect: "Deny",
            Principal: anyone,
            Action: locking,
            Resource: objects,
            Condition: { NumericGreaterThan: { [remaining]: String(days + 1) }, ...spared },
        },
        {
            // A retention change without a date lifts the lock.
            Sid: "DenyLiftingObjectLocks",
            Effect: "Deny",
            Principal: anyone,
            Action: "s3:PutObjectRetention",
            Resource: objects,
            Condition: { Null: { [remaining]: "true" }, ...spared },
        },
        {
            Sid: "DenyDailyManifestsWithoutTheirLock",
            Effect: "Deny",
            Principal: anyone,
            Action: "s3:PutObject",
            Resource: `${input.bucketArn}/${input.prefix}${DAILY_TIER}*.manifest.json`,
            Condition: { Bool: { "s3:ObjectCreationOperation": "true" }, Null: { "s3:object-lock-mode": "true" } },
        },
    ];
}

/** Who uses the backup key, by role name: the same roles the writer and restore policies go to. */
export interface BackupKeyAccess {
    administrators: string[];
    writerRoleNames: string[];
    readerRoleNames: string[];
}

/**
 * The backup key's policy: administrators manage it; the writer roles make envelope keys for this
 * cluster and encrypt through S3, the restore roles decrypt this cluster's envelopes and objects —
 * the same operations and conditions as their IAM policies below, so both must agree.
 */
export function backupKeyPolicy(
    scope: KeyPolicyScope,
    access: BackupKeyAccess,
    input: Omit<BackupPolicyInput, "kmsKeyArn" | "administratorArns">,
): PolicyDocument {
    return keyPolicy(scope, access.administrators, [
        {
            sid: "WritersMakeEnvelopeKeysForThisCluster",
            roles: access.writerRoleNames,
            actions: ["kms:GenerateDataKey"],
            condition: forThisCluster(input),
        },
        {
            sid: "WritersEncryptThroughS3",
            roles: access.writerRoleNames,
            actions: ["kms:GenerateDataKey", "kms:Decrypt"],
            condition: throughS3(input),
        },
        {
            sid: "RestorersDecryptThisCluster",
            roles: access.readerRoleNames,
            actions: ["kms:Decrypt"],
            condition: forThisCluster(input),
        },
        {
            sid: "RestorersDecryptThroughS3",
            roles: access.readerRoleNames,
            actions: ["kms:Decrypt"],
            condition: throughS3(input),
        },
    ]);
}

/**
 * What a member's backup agent needs: add objects under the prefix (multipart included), a data
 * key per backup for the envelope (direct GenerateDataKey, only with its cluster's encryption
 * context), and SSE-KMS through S3 (GenerateDataKey to start an upload, Decrypt to add parts to
 * it, as AWS documents for multipart uploads). With tiers: list the daily tier's names (is today's
 * there?) and, under Object Lock, set a daily backup's lock. No GetObject, no other listing, no Delete*.
 */
export function backupWriterPolicy(input: Omit<BackupPolicyInput, "administratorArns">): PolicyDocument {
    return policy(
        {
            Sid: "WriteBackupObjects",
            Effect: "Allow",
            Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            Resource: prefixObjects(input),
        },
        {
            Sid: "EnvelopeDataKeysForThisCluster",
            Effect: "Allow",
            Action: "kms:GenerateDataKey",
            Resource: input.kmsKeyArn,
            Condition: forThisCluster(input),
        },
        {
            Sid: "ServerSideEncryptionThroughS3",
            Effect: "Allow",
            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
            Resource: input.kmsKeyArn,
            Condition: throughS3(input),
        },
        {
            // Whether today's daily backup exists: the names, sizes and times S3 recorded under the
            // daily tier, never an object's content.
            Sid: "ListDailyBackups",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: input.bucketArn,
            Condition: { StringLike: { "s3:prefix": `${input.prefix}${DAILY_TIER}*` } },
        },
        ...(input.dailyLock !== undefined
            ? [
                  {
                      // The daily backup's own lock (the bucket policy bounds it to exactly that).
                      Sid: "LockDailyBackups",
                      Effect: "Allow" as const,
                      Action: "s3:PutObjectRetention",
                      Resource: dailyObjects(input),
                  },
              ]
            : []),
    );
}

/**
 * What a restore needs: list and read the cluster's backups and their older versions (a restore
 * can reach back past anything that replaced or hid a backup), and unwrap their data keys (direct
 * Decrypt only with the cluster's encryption context; through S3 for SSE-KMS). No writes.
 */
export function backupRestorePolicy(input: Omit<BackupPolicyInput, "administratorArns">): PolicyDocument {
    return policy(
        {
            Sid: "ListBackups",
            Effect: "Allow",
            Action: ["s3:ListBucket", "s3:ListBucketVersions"],
            Resource: input.bucketArn,
            Condition: { StringLike: { "s3:prefix": `${input.prefix}*` } },
        },
        {
            Sid: "ReadBackupObjects",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:GetObjectVersion"],
            Resource: prefixObjects(input),
        },
        {
            Sid: "EnvelopeDecryptForThisCluster",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: input.kmsKeyArn,
            Condition: forThisCluster(input),
        },
        {
            Sid: "ServerSideDecryptionThroughS3",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: input.kmsKeyArn,
            Condition: throughS3(input),
        },
    );
}

/** One document with every statement of `documents`, e.g. a member role's secrets and backup needs. */
export function combinePolicies(...documents: PolicyDocument[]): PolicyDocument {
    const statements = documents.flatMap((d) => d.Statement);
    const sids = statements.map((s) => s.Sid);
    const repeated = sids.filter((sid, i) => sids.indexOf(sid) !== i);
    if (repeated.length > 0) {
        throw new Error(`policy statements ${repeated.join(", ")} appear twice; each Sid must be unique`);
    }
    return policy(...statements);
}
