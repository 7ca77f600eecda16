// Least privilege, evaluated: every policy the component renders for a cluster (the members',
// kube-apiserver's and the restore role's IAM policies; the secrets, backup and topic keys'
// policies; the bucket and topic policies) put through an independent IAM simulator, for every
// identity the component knows and for an outsider in the same account whose own policy allows
// everything. Each row is what must (positive control) or must not be possible. docs/least-privilege.md
// is checked against this table.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { BackupObjectLockMode, EncryptionProvider, SecureEtcdClusterArgs } from "../../src";
import { PolicyDocument, PolicyStatement } from "../../src/core/policyDocument";
import { MOCK_ACCOUNT, MOCK_CALLER_ARN, MOCK_REGION } from "../../testing/awsEmulator";
import { ProviderMocks } from "../../testing/mocks";
import { MOCK_PROJECT, MOCK_STACK, valueOf } from "../../testing/program";
import { buildCluster, THREE_MEMBERS } from "../harness/cluster";
import { ALLOW_EVERYTHING, Decision, decide, decideAll, Identity, Request } from "../harness/iam";
import { decideKeyNeed, keyNeeds } from "../../policy/lib/keyPolicyNeeds";
import { REPO_ROOT } from "../harness/schema";

const role = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`;
/** The node agent's artifact in a bucket of the user's (backupAgentUrl), and an object beside it. */
const AGENT_URL = "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs";
const AGENT_OBJECT = "arn:aws:s3:::acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs";
const BESIDE_AGENT = "arn:aws:s3:::acme-artifacts/secure-etcd/other.cjs";
const MEMBER_ROLES = ["etcd-0-role", "etcd-1-role", "etcd-2-role"];
/** The VPC endpoints nodes reach Secrets Manager and S3 through, and one that is neither. */
const SECRETS_ENDPOINT = "vpce-0a1b2c3d4e5f60718";
const S3_ENDPOINT = "vpce-1a2b3c4d";
const OTHER_ENDPOINT = "vpce-0fedcba9876543210";

/** Every role named: the configuration the docs recommend. */
const NAMED: Partial<SecureEtcdClusterArgs> = {
    memberRoleNames: MEMBER_ROLES,
    apiServerRoleNames: ["kube-apiserver"],
    backupWriterRoleNames: MEMBER_ROLES,
    backupReaderRoleNames: ["etcd-dr"],
};

/** What one cluster's policies and ARNs are, as the component rendered them. */
interface Rendered {
    identities: Record<string, Identity>;
    operations: Record<string, Request[]>;
}

const parse = (json: unknown) => JSON.parse(json as string) as PolicyDocument;

async function render(args: Partial<SecureEtcdClusterArgs>): Promise<Rendered> {
    const { cluster, mocks } = await buildCluster({ members: THREE_MEMBERS, ...args });
    const memberPolicies = await valueOf(cluster.memberInstancePolicies);
    const policyOf = (mocks: ProviderMocks, name: string, input = "policy") => parse(mocks.named(name).inputs[input]);
    const arnOf = (name: string) => mocks.named(name).state!.arn as string;
    const secretsKey = { arn: arnOf("prod-secrets-kms-key"), policy: policyOf(mocks, "prod-secrets-kms-key") };
    const backupKey = { arn: arnOf("prod-backup-kms-key"), policy: policyOf(mocks, "prod-backup-kms-key") };
    const topicKey = { arn: arnOf("prod-alarms-topic-kms-key"), policy: policyOf(mocks, "prod-alarms-topic-kms-key") };
    const topicArn = arnOf("prod-alarms-topic");
    const topicPolicy = policyOf(mocks, "prod-alarms-topic-policy");
    // With encryptionProvider "kms" only: the encryption-at-rest key and the plugin's policy.
    const encryptionKey = mocks.ofType("aws:kms/key:Key").find((k) => k.name === "prod-encryption-kms-key");
    const pluginPolicy = await valueOf(cluster.kmsPluginPolicy);
    const bucketArn = (await valueOf(cluster.backupBucketArn))!;
    const bucketPolicy = parse(await valueOf(cluster.backupBucketPolicy));
    const prefix = (await valueOf(cluster.backupPrefix))!;
    const object = `${bucketArn}/${prefix}2026/11/30/snapshot.db.enc`;
    // Retention tiers: a daily backup carries its own lock (governance, 30 days by default), a frequent
    // one the bucket's default. The lock's condition keys as S3 sets them from the request.
    const daily = `${bucketArn}/${prefix}daily/2026/11/30/prod-20261130T000004Z-rev9.db.enc`;
    const dailyManifest = daily.replace(/\.db\.enc$/, ".manifest.json");
    const frequent = `${bucketArn}/${prefix}frequent/2026/11/30/prod-20261130T003004Z-rev10.db.enc`;
    const lockFor = (days: number, mode = "GOVERNANCE") => ({
        "s3:object-lock-mode": mode,
        "s3:object-lock-remaining-retention-days": String(days),
    });

    const secretsManager = `secretsmanager.${MOCK_REGION}.amazonaws.com`;
    // With secretsVpcEndpointIds only: each secret's resource policy.
    const secretPolicyOf = (name: string) => {
        const found = mocks
            .ofType("aws:secretsmanager/secretPolicy:SecretPolicy")
            .find((p) => p.name === `${name}-policy`);
        return found && parse(found.inputs.policy);
    };
    const readSecret = (name: string): Request[] => {
        const arn = arnOf(name);
        return [
            { action: "secretsmanager:GetSecretValue", resource: arn, resourcePolicy: secretPolicyOf(name) },
            {
                action: "kms:Decrypt",
                resource: secretsKey.arn,
                resourcePolicy: secretsKey.policy,
                context: { "kms:ViaService": secretsManager, "kms:EncryptionContext:SecretARN": arn },
            },
        ];
    };
    const throughS3 = {
        "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`,
        "kms:EncryptionContext:aws:s3:arn": bucketArn,
    };
    // A backup's envelope names its cluster by project, stack and component name.
    const envelopeOf = (stack: string) => ({
        "kms:EncryptionContext:secure-etcd:project": MOCK_PROJECT,
        "kms:EncryptionContext:secure-etcd:stack": stack,
        "kms:EncryptionContext:secure-etcd:cluster": "prod",
    });
    const envelope = envelopeOf(MOCK_STACK);
    const onBucket = (action: string, resource = object, context: Record<string, string> = {}): Request => ({
        action,
        resource,
        resourcePolicy: bucketPolicy,
        context: { "s3:TlsVersion": "1.3", ...context },
    });
    const onBackupKey = (action: string, context: Record<string, string>): Request => ({
        action,
        resource: backupKey.arn,
        resourcePolicy: backupKey.policy,
        context,
    });
    const createsObject = { "s3:ObjectCreationOperation": "true" };
    const sse = {
        "s3:x-amz-server-side-encryption": "aws:kms",
        "s3:x-amz-server-side-encryption-aws-kms-key-id": backupKey.arn,
    };
    const alarmContext = {
        "aws:SourceAccount": MOCK_ACCOUNT,
        "aws:SourceArn": `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT}:alarm:prod-backup-freshness`,
    };

    return {
        identities: {
            "member etcd-0": {
                name: "etcd-0",
                principal: role("etcd-0-role"),
                policies: [parse(memberPolicies["etcd-0"])],
            },
            "kube-apiserver": {
                name: "apiserver",
                principal: role("kube-apiserver"),
                policies: [
                    parse(await valueOf(cluster.apiServerSecretsPolicy)),
                    ...(pluginPolicy ? [parse(pluginPolicy)] : []),
                ],
            },
            "restore role": {
                name: "dr",
                principal: role("etcd-dr"),
                policies: [parse(await valueOf(cluster.backupRestorePolicy))],
            },
            "identity running pulumi up": {
                name: "deployer",
                principal: MOCK_CALLER_ARN,
                policies: [ALLOW_EVERYTHING],
            },
            "outsider with *": { name: "outsider", principal: role("ci-admin"), policies: [ALLOW_EVERYTHING] },
            // Named in keyAdministratorArns where a test says so; otherwise just another role with *.
            "key administrator": { name: "admin", principal: role("platform-admin"), policies: [ALLOW_EVERYTHING] },
            "CloudWatch for this account's alarms": {
                name: "cloudwatch",
                principal: "cloudwatch.amazonaws.com",
                policies: [],
                context: alarmContext,
            },
            "CloudWatch for another account": {
                name: "cloudwatch-elsewhere",
                principal: "cloudwatch.amazonaws.com",
                policies: [],
                context: {
                    "aws:SourceAccount": "210987654321",
                    "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:210987654321:alarm:x",
                },
            },
        },
        operations: withEndpointVariants({
            "read etcd-0's secret": readSecret("prod-secrets-member-etcd-0"),
            "read etcd-1's secret": readSecret("prod-secrets-member-etcd-1"),
            // Only the KMS half: what a member could ask if Secrets Manager's own check were bypassed.
            "decrypt etcd-1's secret through Secrets Manager": readSecret("prod-secrets-member-etcd-1").slice(1),
            "read kube-apiserver's etcd client secret": readSecret("prod-secrets-kube-apiserver-etcd-client"),
            "read etcd's root password": readSecret("prod-secrets-etcd-root-password"),
            "write a secret version": [
                { action: "secretsmanager:PutSecretValue", resource: arnOf("prod-secrets-member-etcd-0") },
                {
                    action: "kms:GenerateDataKey",
                    resource: secretsKey.arn,
                    resourcePolicy: secretsKey.policy,
                    context: {
                        "kms:ViaService": secretsManager,
                        "kms:EncryptionContext:SecretARN": arnOf("prod-secrets-member-etcd-0"),
                    },
                },
            ],
            // As the agent sends it: If-None-Match: * (S3 sets s3:ObjectCreationOperation on the
            // requests that create an object: PutObject, CompleteMultipartUpload, CopyObject).
            "write a backup": [
                onBackupKey("kms:GenerateDataKey", envelope),
                onBucket("s3:PutObject", object, { ...sse, ...createsObject, "s3:if-none-match": "*" }),
                onBackupKey("kms:GenerateDataKey", throughS3),
            ],
            "upload a part of a backup": [onBucket("s3:PutObject", object, { "s3:ObjectCreationOperation": "false" })],
            // Whichever of the two S3 authorizes an upload's lock as, both must allow it.
            "write a daily backup under its lock": [
                onBucket("s3:PutObject", daily, { ...sse, ...createsObject, "s3:if-none-match": "*", ...lockFor(30) }),
                onBucket("s3:PutObjectRetention", daily, lockFor(30)),
                onBucket("s3:PutObject", dailyManifest, {
                    ...sse,
                    ...createsObject,
                    "s3:if-none-match": "*",
                    ...lockFor(30),
                }),
            ],
            "start a daily backup in parts under its lock": [
                onBucket("s3:PutObject", daily, { ...sse, "s3:ObjectCreationOperation": "false", ...lockFor(31) }),
                onBucket("s3:PutObjectRetention", daily, lockFor(31)),
            ],
            "write a daily manifest without its lock": [
                onBucket("s3:PutObject", dailyManifest, { ...sse, ...createsObject, "s3:if-none-match": "*" }),
            ],
            "lock a daily backup for less": [onBucket("s3:PutObjectRetention", daily, lockFor(2))],
            "upload a daily backup locked for less": [
                onBucket("s3:PutObject", daily, { ...sse, ...createsObject, "s3:if-none-match": "*", ...lockFor(2) }),
            ],
            "lock a daily backup in compliance mode": [
                onBucket("s3:PutObject", daily, {
                    ...sse,
                    ...createsObject,
                    "s3:if-none-match": "*",
                    ...lockFor(30, "COMPLIANCE"),
                }),
            ],
            "lock a daily backup for 100 years": [onBucket("s3:PutObjectRetention", daily, lockFor(36500))],
            "lift a daily backup's lock": [onBucket("s3:PutObjectRetention", daily)],
            "shorten a daily backup's lock, bypassing governance": [
                onBucket("s3:PutObjectRetention", daily, lockFor(30)),
                onBucket("s3:BypassGovernanceRetention", daily, lockFor(30)),
            ],
            "write a frequent backup": [
                onBucket("s3:PutObject", frequent, { ...sse, ...createsObject, "s3:if-none-match": "*" }),
            ],
            "lock a frequent backup for longer": [onBucket("s3:PutObjectRetention", frequent, lockFor(30))],
            "list today's daily backups": [
                onBucket("s3:ListBucket", bucketArn, { "s3:prefix": `${prefix}daily/2026/11/30/` }),
            ],
            "list every backup": [onBucket("s3:ListBucket", bucketArn, { "s3:prefix": prefix })],
            "read a daily backup": [
                onBucket("s3:GetObject", daily),
                onBackupKey("kms:Decrypt", throughS3),
                onBackupKey("kms:Decrypt", envelope),
            ],
            "read a frequent backup": [
                onBucket("s3:GetObject", frequent),
                onBackupKey("kms:Decrypt", throughS3),
                onBackupKey("kms:Decrypt", envelope),
            ],
            "overwrite a backup (no If-None-Match)": [onBucket("s3:PutObject", object, { ...sse, ...createsObject })],
            "read an older version of a backup": [
                onBucket("s3:GetObjectVersion"),
                onBackupKey("kms:Decrypt", throughS3),
                onBackupKey("kms:Decrypt", envelope),
            ],
            "list backup versions": [onBucket("s3:ListBucketVersions", bucketArn, { "s3:prefix": prefix })],
            "shorten a backup's lock": [onBucket("s3:PutObjectRetention"), onBucket("s3:BypassGovernanceRetention")],
            "read a backup": [
                onBucket("s3:GetObject"),
                onBackupKey("kms:Decrypt", throughS3),
                onBackupKey("kms:Decrypt", envelope),
            ],
            "unwrap a backup's data key": [onBackupKey("kms:Decrypt", envelope)],
            // Another stack's cluster of the same name sharing the bucket and key.
            "unwrap another stack's backup data key": [onBackupKey("kms:Decrypt", envelopeOf("staging"))],
            "make a data key for another stack's backup": [onBackupKey("kms:GenerateDataKey", envelopeOf("staging"))],
            "delete a backup version": [onBucket("s3:DeleteObjectVersion")],
            "change the secrets key's policy": [
                { action: "kms:PutKeyPolicy", resource: secretsKey.arn, resourcePolicy: secretsKey.policy },
            ],
            "decrypt with the secrets key directly": [
                { action: "kms:Decrypt", resource: secretsKey.arn, resourcePolicy: secretsKey.policy },
            ],
            "download the node agent": [{ action: "s3:GetObject", resource: AGENT_OBJECT }],
            "read another object beside the node agent": [{ action: "s3:GetObject", resource: BESIDE_AGENT }],
            "publish an alarm": [
                { action: "sns:Publish", resource: topicArn, resourcePolicy: topicPolicy },
                { action: "kms:GenerateDataKey", resource: topicKey.arn, resourcePolicy: topicKey.policy },
            ],
            "publish an alarm without TLS": [
                {
                    action: "sns:Publish",
                    resource: topicArn,
                    resourcePolicy: topicPolicy,
                    context: { "aws:SecureTransport": "false" },
                },
            ],
            "manage the alarm topic": [
                { action: "sns:SetTopicAttributes", resource: topicArn, resourcePolicy: topicPolicy },
            ],
            "encrypt with the encryption-at-rest key": encryptionKey
                ? [
                      {
                          action: "kms:Encrypt",
                          resource: encryptionKey.state!.arn as string,
                          resourcePolicy: parse(encryptionKey.inputs.policy),
                      },
                  ]
                : [],
            "grant use of the secrets key": [
                { action: "kms:CreateGrant", resource: secretsKey.arn, resourcePolicy: secretsKey.policy },
            ],
            "manage etcd-0's secret": [
                {
                    action: "secretsmanager:PutResourcePolicy",
                    resource: arnOf("prod-secrets-member-etcd-0"),
                    resourcePolicy: secretPolicyOf("prod-secrets-member-etcd-0"),
                },
                {
                    action: "secretsmanager:DescribeSecret",
                    resource: arnOf("prod-secrets-member-etcd-0"),
                    resourcePolicy: secretPolicyOf("prod-secrets-member-etcd-0"),
                },
            ],
            // What the provider does on refresh and update: HeadBucket (s3:ListBucket), then the policy.
            "manage the backup bucket": [
                onBucket("s3:ListBucket", bucketArn),
                onBucket("s3:PutBucketPolicy", bucketArn),
            ],
        }),
    };
}

/** Where a request comes from: the context key S3 and Secrets Manager set behind a VPC endpoint. */
const ENDPOINT_VARIANTS: Record<string, string> = {
    "through the secrets endpoint": SECRETS_ENDPOINT,
    "through the S3 endpoint": S3_ENDPOINT,
    "through another endpoint": OTHER_ENDPOINT,
};

/**
 * Each operation as sent from outside any VPC endpoint (as named), and through each endpoint
 * ("<operation> through the S3 endpoint"): the S3 and Secrets Manager requests carry
 * `aws:SourceVpce`; KMS requests that those services make on the caller's behalf do not.
 */
function withEndpointVariants(operations: Record<string, Request[]>): Record<string, Request[]> {
    const variants = Object.entries(operations).flatMap(([name, requests]) =>
        Object.entries(ENDPOINT_VARIANTS).map(([where, endpoint]): [string, Request[]] => [
            `${name} ${where}`,
            requests.map((r) =>
                /^(s3|secretsmanager):/.test(r.action)
                    ? { ...r, context: { ...r.context, "aws:SourceVpce": endpoint } }
                    : r,
            ),
        ]),
    );
    return { ...operations, ...Object.fromEntries(variants) };
}

/** The rendered policies without some statements: what a row decides if they were missing. */
function withoutStatements(rendered: Rendered, sids: string[]): Rendered {
    const strip = (p: PolicyDocument | undefined) =>
        p && { ...p, Statement: p.Statement.filter((s) => !sids.includes(s.Sid)) };
    return {
        identities: rendered.identities,
        operations: Object.fromEntries(
            Object.entries(rendered.operations).map(([name, requests]) => [
                name,
                requests.map((r) => ({ ...r, resourcePolicy: strip(r.resourcePolicy) })),
            ]),
        ),
    };
}

type Row = [identity: string, operation: string, expected: Decision | "denied"];

/**
 * The recommended configuration (every role named). "denied" is any denial; AWS denies implicitly
 * unless a statement denies explicitly.
 */
const NAMED_TABLE: Row[] = [
    ["member etcd-0", "read etcd-0's secret", "Allowed"],
    ["member etcd-0", "read etcd-1's secret", "denied"],
    ["member etcd-0", "decrypt etcd-1's secret through Secrets Manager", "denied"],
    ["member etcd-0", "read kube-apiserver's etcd client secret", "denied"],
    ["member etcd-0", "read etcd's root password", "denied"],
    ["member etcd-0", "write a backup", "Allowed"],
    ["member etcd-0", "read a backup", "denied"],
    ["member etcd-0", "unwrap a backup's data key", "denied"],
    ["member etcd-0", "delete a backup version", "denied"],
    ["member etcd-0", "upload a part of a backup", "Allowed"],
    ["member etcd-0", "make a data key for another stack's backup", "denied"],
    ["member etcd-0", "overwrite a backup (no If-None-Match)", "ExplicitlyDenied"],
    ["member etcd-0", "read an older version of a backup", "denied"],
    ["member etcd-0", "shorten a backup's lock", "denied"],
    // Retention tiers: the writer sets a daily backup's lock, exactly that lock, and nothing else.
    ["member etcd-0", "write a daily backup under its lock", "Allowed"],
    ["member etcd-0", "start a daily backup in parts under its lock", "Allowed"],
    ["member etcd-0", "write a daily manifest without its lock", "ExplicitlyDenied"],
    ["member etcd-0", "lock a daily backup for less", "ExplicitlyDenied"],
    ["member etcd-0", "upload a daily backup locked for less", "ExplicitlyDenied"],
    ["member etcd-0", "lock a daily backup in compliance mode", "ExplicitlyDenied"],
    ["member etcd-0", "lock a daily backup for 100 years", "ExplicitlyDenied"],
    ["member etcd-0", "lift a daily backup's lock", "ExplicitlyDenied"],
    ["member etcd-0", "shorten a daily backup's lock, bypassing governance", "ExplicitlyDenied"],
    ["member etcd-0", "write a frequent backup", "Allowed"],
    ["member etcd-0", "lock a frequent backup for longer", "denied"],
    ["member etcd-0", "list today's daily backups", "Allowed"],
    ["member etcd-0", "list every backup", "denied"],
    ["outsider with *", "lock a daily backup for 100 years", "ExplicitlyDenied"],
    ["outsider with *", "lift a daily backup's lock", "ExplicitlyDenied"],
    ["member etcd-0", "change the secrets key's policy", "denied"],
    ["kube-apiserver", "read kube-apiserver's etcd client secret", "Allowed"],
    ["kube-apiserver", "read etcd-0's secret", "denied"],
    ["kube-apiserver", "write a backup", "denied"],
    ["restore role", "read a backup", "Allowed"],
    ["restore role", "write a backup", "denied"],
    ["restore role", "delete a backup version", "denied"],
    ["restore role", "read an older version of a backup", "Allowed"],
    ["restore role", "unwrap another stack's backup data key", "denied"],
    ["restore role", "list backup versions", "Allowed"],
    ["restore role", "list every backup", "Allowed"],
    ["restore role", "read a daily backup", "Allowed"],
    ["restore role", "read a frequent backup", "Allowed"],
    ["restore role", "write a daily backup under its lock", "denied"],
    ["restore role", "read etcd-0's secret", "denied"],
    ["identity running pulumi up", "write a secret version", "Allowed"],
    ["identity running pulumi up", "read etcd-0's secret", "Allowed"],
    ["identity running pulumi up", "unwrap a backup's data key", "denied"],
    ["outsider with *", "read etcd-0's secret", "denied"],
    ["outsider with *", "read kube-apiserver's etcd client secret", "denied"],
    ["outsider with *", "read etcd's root password", "denied"],
    ["outsider with *", "write a secret version", "denied"],
    ["outsider with *", "decrypt with the secrets key directly", "denied"],
    ["outsider with *", "write a backup", "denied"],
    ["outsider with *", "read a backup", "denied"],
    ["outsider with *", "unwrap a backup's data key", "denied"],
    // Administration stays with the account (IAM decides) unless keyAdministratorArns says otherwise.
    ["outsider with *", "change the secrets key's policy", "Allowed"],
    // No KMS in a delete: the bucket policy refuses it to all but the administrators named (none here).
    ["outsider with *", "delete a backup version", "ExplicitlyDenied"],
    ["outsider with *", "shorten a backup's lock", "ExplicitlyDenied"],
    ["outsider with *", "overwrite a backup (no If-None-Match)", "ExplicitlyDenied"],
    ["identity running pulumi up", "delete a backup version", "ExplicitlyDenied"],
    ["outsider with *", "publish an alarm", "denied"],
    ["CloudWatch for this account's alarms", "publish an alarm", "Allowed"],
    ["CloudWatch for this account's alarms", "publish an alarm without TLS", "denied"],
    ["CloudWatch for another account", "publish an alarm", "denied"],
    ["identity running pulumi up", "manage the alarm topic", "Allowed"],
];

/**
 * With `secretsVpcEndpointIds` and `backupVpcEndpointIds` (every role named, the deployer and
 * platform-admin as key administrators): reads of the secrets and every backup object operation
 * only through the endpoints; the deployer and administrators still manage. A request "through
 * another endpoint" comes from a VPC endpoint the cluster did not name.
 */
const ENDPOINT_TABLE: Row[] = [
    ["member etcd-0", "read etcd-0's secret through the secrets endpoint", "Allowed"],
    ["member etcd-0", "read etcd-0's secret through another endpoint", "ExplicitlyDenied"],
    ["member etcd-0", "read etcd-0's secret through the S3 endpoint", "ExplicitlyDenied"],
    ["member etcd-0", "read etcd-0's secret", "ExplicitlyDenied"],
    ["member etcd-0", "read etcd-1's secret through the secrets endpoint", "denied"],
    ["kube-apiserver", "read kube-apiserver's etcd client secret through the secrets endpoint", "Allowed"],
    ["kube-apiserver", "read kube-apiserver's etcd client secret", "ExplicitlyDenied"],
    ["outsider with *", "read etcd-0's secret through the secrets endpoint", "denied"],
    ["identity running pulumi up", "write a secret version", "Allowed"],
    ["identity running pulumi up", "read etcd-0's secret", "Allowed"],
    ["identity running pulumi up", "manage etcd-0's secret", "Allowed"],
    ["key administrator", "manage etcd-0's secret", "Allowed"],
    ["key administrator", "change the secrets key's policy", "Allowed"],
    ["key administrator", "read etcd-0's secret through the secrets endpoint", "denied"],
    ["member etcd-0", "write a backup through the S3 endpoint", "Allowed"],
    ["member etcd-0", "write a backup through another endpoint", "ExplicitlyDenied"],
    ["member etcd-0", "write a backup through the secrets endpoint", "ExplicitlyDenied"],
    ["member etcd-0", "write a backup", "ExplicitlyDenied"],
    ["member etcd-0", "read a backup through the S3 endpoint", "denied"],
    ["restore role", "read a backup through the S3 endpoint", "Allowed"],
    ["restore role", "read a backup", "ExplicitlyDenied"],
    // Deleting is for the administrators named, and for them only through the endpoint...
    ["key administrator", "delete a backup version", "ExplicitlyDenied"],
    ["key administrator", "delete a backup version through the S3 endpoint", "Allowed"],
    // ...while everyone else is refused by the bucket inside the VPC too.
    ["outsider with *", "delete a backup version through the S3 endpoint", "denied"],
    ["identity running pulumi up", "manage the backup bucket", "Allowed"],
    ["key administrator", "manage the backup bucket", "Allowed"],
];

/** The same endpoint arguments, as the tests render them. */
const ENDPOINTS: Partial<SecureEtcdClusterArgs> = {
    ...NAMED,
    keyAdministratorArns: [MOCK_CALLER_ARN, role("platform-admin")],
    secretsVpcEndpointIds: [SECRETS_ENDPOINT],
    backupVpcEndpointIds: [S3_ENDPOINT],
};

async function check(rendered: Rendered, table: Row[]): Promise<void> {
    const wrong: string[] = [];
    for (const [who, what, expected] of table) {
        const identity = rendered.identities[who];
        const requests = rendered.operations[what];
        assert.ok(identity && requests, `${who} / ${what}`);
        const decision = await decideAll(identity, requests, MOCK_ACCOUNT);
        const ok = expected === "denied" ? decision !== "Allowed" : decision === expected;
        if (!ok) {
            wrong.push(`${who} may ${what}: expected ${expected}, AWS would decide ${decision}`);
        }
    }
    assert.deepEqual(wrong, []);
}

describe("least privilege, evaluated by an IAM simulator", function () {
    this.timeout(120_000);

    it("every role named: each identity can do what it must and nothing else", async () => {
        await check(await render(NAMED), NAMED_TABLE);
    });

    it("named key administrators: an outsider cannot even change a key's policy", async () => {
        const rendered = await render({
            ...NAMED,
            keyAdministratorArns: [MOCK_CALLER_ARN, role("platform-admin")],
        });
        await check(rendered, [
            ["outsider with *", "change the secrets key's policy", "denied"],
            ["identity running pulumi up", "change the secrets key's policy", "Allowed"],
            // Administrators manage; they do not use, nor hand use on.
            ["identity running pulumi up", "decrypt with the secrets key directly", "denied"],
            ["identity running pulumi up", "grant use of the secrets key", "denied"],
            // The administrators named may delete backups and lift their locks; nobody else.
            ["identity running pulumi up", "delete a backup version", "Allowed"],
            ["identity running pulumi up", "shorten a backup's lock", "Allowed"],
            ["outsider with *", "delete a backup version", "ExplicitlyDenied"],
        ]);
    });

    it("the node agent from S3: members download that one object and nothing beside it; no one else gains it", async () => {
        const rendered = await render({
            ...NAMED,
            backupAgentUrl: AGENT_URL,
            backupAgentSha256: "0".repeat(64),
        });
        await check(rendered, [
            ["member etcd-0", "download the node agent", "Allowed"],
            ["member etcd-0", "read another object beside the node agent", "denied"],
            ["member etcd-0", "read a backup", "denied"],
            ["kube-apiserver", "download the node agent", "denied"],
            ["restore role", "download the node agent", "denied"],
        ]);
        // Without backupAgentUrl the members' policies grant no such read.
        await check(await render(NAMED), [["member etcd-0", "download the node agent", "denied"]]);
    });

    it("a whole-cluster restore: members read and decrypt backups only while restoreFromBackup is set, and write none the more", async () => {
        const rendered = await render({ ...NAMED, restoreFromBackup: "latest" });
        await check(rendered, [
            ["member etcd-0", "list every backup", "Allowed"],
            ["member etcd-0", "read a backup", "Allowed"],
            ["member etcd-0", "read a daily backup", "Allowed"],
            ["member etcd-0", "read an older version of a backup", "Allowed"],
            ["member etcd-0", "write a backup", "Allowed"],
            ["member etcd-0", "overwrite a backup (no If-None-Match)", "denied"],
            ["member etcd-0", "delete a backup version", "denied"],
            ["member etcd-0", "shorten a backup's lock", "denied"],
            ["member etcd-0", "read etcd-1's secret", "denied"],
            ["kube-apiserver", "read a backup", "denied"],
            ["outsider with *", "read a backup", "denied"],
        ]);
        // Without it (and after it is removed again), the members read no backup.
        await check(await render(NAMED), [
            ["member etcd-0", "read a backup", "denied"],
            ["member etcd-0", "list every backup", "denied"],
            ["member etcd-0", "read an older version of a backup", "denied"],
        ]);
    });

    it("KMS encryption at rest: kube-apiserver's roles (the plugin) use the key, nobody else", async () => {
        const rendered = await render({
            ...NAMED,
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: "registry.example/aws-encryption-provider:v1.0.0",
        });
        assert.ok(rendered.operations["encrypt with the encryption-at-rest key"].length > 0, "a key was created");
        await check(rendered, [
            ["kube-apiserver", "encrypt with the encryption-at-rest key", "Allowed"],
            ["member etcd-0", "encrypt with the encryption-at-rest key", "denied"],
            ["outsider with *", "encrypt with the encryption-at-rest key", "denied"],
        ]);
    });

    it("VPC endpoints: secrets read and backups reached only through them; the deployer and administrators still manage", async () => {
        await check(await render(ENDPOINTS), ENDPOINT_TABLE);
    });

    it("retention tiers: the lock statements are what refuse the writer (without them, each would pass)", async () => {
        const rendered = await render(NAMED);
        const refused = [
            "write a daily manifest without its lock",
            "lock a daily backup for less",
            "upload a daily backup locked for less",
            "lock a daily backup in compliance mode",
            "lock a daily backup for 100 years",
            "lift a daily backup's lock",
        ];
        await check(
            rendered,
            refused.map((what): Row => ["member etcd-0", what, "ExplicitlyDenied"]),
        );
        const mutated = withoutStatements(rendered, [
            "DenyObjectLockModesOtherThanGovernance",
            "DenyObjectLocksShorterThanTheDailyTier",
            "DenyObjectLocksLongerThanTheDailyTier",
            "DenyLiftingObjectLocks",
            "DenyDailyManifestsWithoutTheirLock",
        ]);
        await check(
            mutated,
            refused.map((what): Row => ["member etcd-0", what, "Allowed"]),
        );
        // Bypassing governance to shorten stays refused by the delete/bypass deny, lock statements or not.
        await check(mutated, [
            ["member etcd-0", "shorten a daily backup's lock, bypassing governance", "ExplicitlyDenied"],
        ]);
        // With Object Lock off there is no daily lock: the writer sets none, and nobody but the
        // administrators changes a retention (the delete deny covers it again).
        const unlocked = await render({ ...NAMED, backupObjectLockMode: BackupObjectLockMode.Off });
        await check(unlocked, [
            ["member etcd-0", "write a frequent backup", "Allowed"],
            ["member etcd-0", "list today's daily backups", "Allowed"],
            ["member etcd-0", "lock a daily backup for less", "ExplicitlyDenied"],
            ["outsider with *", "lock a frequent backup for longer", "ExplicitlyDenied"],
        ]);
    });

    it("VPC endpoints: the deny statements are what refuse (without them, each refused request would pass)", async () => {
        const rendered = await render(ENDPOINTS);
        const refusedOutside = ENDPOINT_TABLE.filter(([, , expected]) => expected === "ExplicitlyDenied");
        assert.equal(refusedOutside.length, 9);
        const mutated = withoutStatements(rendered, [
            "DenyReadsOutsideVpcEndpoints",
            "DenyObjectAccessOutsideVpcEndpoints",
        ]);
        await check(
            mutated,
            refusedOutside.map(([who, what]): Row => [who, what, "Allowed"]),
        );
        // Without the arguments, nothing is restricted: the same rows as the recommended table.
        const plain = await render(NAMED);
        await check(plain, [
            ["member etcd-0", "read etcd-0's secret through another endpoint", "Allowed"],
            ["member etcd-0", "write a backup through another endpoint", "Allowed"],
        ]);
    });

    it("no role named: use is left to IAM, so an outsider with * reads the members' secrets (the component warns)", async () => {
        const rendered = await render({});
        await check(rendered, [
            ["outsider with *", "read etcd-0's secret", "Allowed"],
            ["outsider with *", "unwrap a backup's data key", "Allowed"],
            // Still only through Secrets Manager, and never the keys' administration for the members.
            ["outsider with *", "decrypt with the secrets key directly", "denied"],
            ["member etcd-0", "read etcd-1's secret", "denied"],
            ["member etcd-0", "decrypt etcd-1's secret through Secrets Manager", "denied"],
        ]);
    });
});

/** A table of the doc, as `npm run docs:least-privilege` writes it (Prettier aligns it). */
function markdownTable(rows: Row[]): string {
    const cell = (text: string) => text.replace(/\*/g, "\\*");
    return [
        "| identity | operation | AWS decides |",
        "| --- | --- | --- |",
        ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
    ].join("\n");
}

/**
 * The policy pack's key-policy check (etcd-key-policy-users) decides as the simulator does: for each
 * need it derives from a key's published use statements, "allowed" (by name, or left to IAM) exactly
 * when the simulator allows the request to an identity whose own policy allows everything; also
 * with each use statement removed in turn, and with a deny added.
 */
describe("the policy pack's key-policy check, against the simulator", function () {
    this.timeout(120_000);
    const KEYS: Record<string, string> = {
        secrets: "prod-secrets-kms-key",
        backup: "prod-backup-kms-key",
        encryption: "prod-encryption-kms-key",
    };

    async function agreement(policy: PolicyDocument, statements: PolicyStatement[], keyArn: string) {
        const disagreements: string[] = [];
        let allowed = 0;
        for (const need of keyNeeds(statements)) {
            const pack = decideKeyNeed(policy, need).result;
            const simulator = await decide(
                { name: "need", principal: need.principal, policies: [ALLOW_EVERYTHING] },
                { action: need.action, resource: keyArn, resourcePolicy: policy, context: need.context },
                MOCK_ACCOUNT,
            );
            const packAllows = pack === "allowed" || pack === "left-to-iam";
            allowed += packAllows ? 1 : 0;
            if (packAllows !== (simulator === "Allowed")) {
                disagreements.push(
                    `${need.statement} ${need.principal} ${need.action}: pack ${pack}, simulator ${simulator}`,
                );
            }
        }
        return { disagreements, allowed };
    }

    for (const [title, args] of [
        [
            "every role named, KMS encryption at rest",
            {
                ...NAMED,
                encryptionProvider: EncryptionProvider.Kms,
                kmsPluginImage: "registry.example/aws-encryption-provider:v1.0.0",
            },
        ],
        ["no role named", {}],
    ] as const) {
        it(`${title}: the same decision for every need, with each statement missing, and under a deny`, async () => {
            const { cluster, mocks } = await buildCluster({ members: THREE_MEMBERS, ...args });
            const published = await valueOf(cluster.keyPolicyStatements);
            assert.deepEqual(
                Object.keys(published).sort(),
                Object.keys(args).length > 0 ? ["backup", "encryption", "secrets"] : ["backup", "secrets"],
            );
            for (const [kind, json] of Object.entries(published)) {
                const key = mocks.named(KEYS[kind]);
                const policy = parse(key.inputs.policy);
                const keyArn = key.state!.arn as string;
                const statements = JSON.parse(json) as PolicyStatement[];
                const whole = await agreement(policy, statements, keyArn);
                assert.deepEqual(whole.disagreements, [], kind);
                assert.equal(whole.allowed, keyNeeds(statements).length, `${kind}: its own policy meets every need`);
                for (const gone of statements) {
                    const mutated = { ...policy, Statement: policy.Statement.filter((s) => s.Sid !== gone.Sid) };
                    const result = await agreement(mutated, statements, keyArn);
                    assert.deepEqual(result.disagreements, [], `${kind} without ${gone.Sid}`);
                    // Unnamed, writers and restorers are the same "any role": their statements overlap.
                    if (Object.keys(args).length > 0) {
                        assert.ok(result.allowed < whole.allowed, `${kind} without ${gone.Sid} meets fewer needs`);
                    }
                }
                const denied: PolicyDocument = {
                    ...policy,
                    Statement: [
                        ...policy.Statement,
                        {
                            Sid: "DenyOutsideTheEndpoint",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: "kms:*",
                            Resource: "*",
                            Condition: { StringNotEquals: { "aws:SourceVpce": "vpce-1a2b3c4d" } },
                        },
                    ],
                };
                const refused = await agreement(denied, statements, keyArn);
                assert.deepEqual(refused.disagreements, [], `${kind} under a deny`);
                assert.equal(refused.allowed, 0, `${kind}: the deny refuses every need`);
            }
        });
    }
});

describe("docs/least-privilege.md", function () {
    const DOC = path.join(REPO_ROOT, "docs", "least-privilege.md");
    const doc = () => fs.readFileSync(DOC, "utf8");
    const markers = (marker: string) => new RegExp(`(<!-- ${marker}:start -->\\n)([\\s\\S]*?)(<!-- ${marker}:end -->)`);
    /**
     * The rows of the table between `<!-- <marker>:start -->` and `<!-- <marker>:end -->`; with
     * UPDATE_LEAST_PRIVILEGE_DOC set (npm run docs:least-privilege), written from `expected` first.
     */
    const rowsOf = (marker: string, expected: Row[]) => {
        if (process.env.UPDATE_LEAST_PRIVILEGE_DOC) {
            const written = doc().replace(
                markers(marker),
                (_, start: string, __, end: string) => `${start}\n${markdownTable(expected)}\n\n${end}`,
            );
            fs.writeFileSync(DOC, written);
        }
        const table = markers(marker).exec(doc())?.slice(1, 3);
        assert.ok(table, `the markers of ${marker} are missing`);
        const rows = table[1]
            .trim()
            .split("\n")
            .slice(2)
            .map((line) =>
                line
                    .split("|")
                    .slice(1, -1)
                    .map((cell) => cell.trim().replace(/\\\*/g, "*")),
            );
        return rows;
    };

    it("shows the table the simulator runs", () => {
        assert.deepEqual(
            rowsOf("least-privilege-table", NAMED_TABLE),
            NAMED_TABLE,
            "the table differs from the suite's; write it with npm run docs:least-privilege",
        );
    });

    it("lists every statement a key you bring needs, as the component publishes them", async () => {
        const { cluster } = await buildCluster({
            members: THREE_MEMBERS,
            ...NAMED,
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: "registry.example/aws-encryption-provider:v1.0.0",
        });
        const published = Object.entries(await valueOf(cluster.keyPolicyStatements)).flatMap(([kind, json]) =>
            (JSON.parse(json) as PolicyStatement[]).map((s) => [kind, `\`${s.Sid}\``]),
        );
        const section = /## Keys you bring\n([\s\S]*?)\n## /.exec(doc())![1];
        const listed = section
            .split("\n")
            .filter((line) => /^\| (secrets|backup|encryption) /.test(line))
            .map((line) =>
                line
                    .split("|")
                    .slice(1, 3)
                    .map((cell) => cell.trim()),
            );
        assert.deepEqual(listed.sort(), published.sort());
    });

    it("shows the VPC-endpoint table the simulator runs", () => {
        assert.deepEqual(
            rowsOf("least-privilege-vpce-table", ENDPOINT_TABLE),
            ENDPOINT_TABLE,
            "the table differs from the suite's; write it with npm run docs:least-privilege",
        );
    });
});
