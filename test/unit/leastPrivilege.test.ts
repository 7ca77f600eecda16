// Least privilege, evaluated: every policy the component renders for a cluster (the members',
// kube-apiserver's and the restore role's IAM policies; the secrets, backup and topic keys'
// policies; the bucket and topic policies) put through an independent IAM simulator, for every
// identity the component knows and for an outsider in the same account whose own policy allows
// everything. Each row is what must (positive control) or must not be possible. docs/least-privilege.md
// is checked against this table.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { EncryptionProvider, SecureEtcdClusterArgs } from "../../src";
import { PolicyDocument } from "../../src/core/policyDocument";
import { MOCK_ACCOUNT, MOCK_CALLER_ARN, MOCK_REGION } from "../../testing/awsEmulator";
import { ProviderMocks } from "../../testing/mocks";
import { valueOf } from "../../testing/program";
import { buildCluster, THREE_MEMBERS } from "../harness/cluster";
import { ALLOW_EVERYTHING, Decision, decideAll, Identity, Request } from "../harness/iam";
import { REPO_ROOT } from "../harness/schema";

const role = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`;
/** The node agent's artifact in a bucket of the user's (backupAgentUrl), and an object beside it. */
const AGENT_URL = "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs";
const AGENT_OBJECT = "arn:aws:s3:::acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs";
const BESIDE_AGENT = "arn:aws:s3:::acme-artifacts/secure-etcd/other.cjs";
const MEMBER_ROLES = ["etcd-0-role", "etcd-1-role", "etcd-2-role"];

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

    const secretsManager = `secretsmanager.${MOCK_REGION}.amazonaws.com`;
    const readSecret = (name: string): Request[] => {
        const arn = arnOf(name);
        return [
            { action: "secretsmanager:GetSecretValue", resource: arn },
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
    const envelope = { "kms:EncryptionContext:secure-etcd:cluster": "prod" };
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
        operations: {
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
        },
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
    ["member etcd-0", "overwrite a backup (no If-None-Match)", "ExplicitlyDenied"],
    ["member etcd-0", "read an older version of a backup", "denied"],
    ["member etcd-0", "shorten a backup's lock", "denied"],
    ["member etcd-0", "change the secrets key's policy", "denied"],
    ["kube-apiserver", "read kube-apiserver's etcd client secret", "Allowed"],
    ["kube-apiserver", "read etcd-0's secret", "denied"],
    ["kube-apiserver", "write a backup", "denied"],
    ["restore role", "read a backup", "Allowed"],
    ["restore role", "write a backup", "denied"],
    ["restore role", "delete a backup version", "denied"],
    ["restore role", "read an older version of a backup", "Allowed"],
    ["restore role", "list backup versions", "Allowed"],
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

/** The doc's table, as `npm run docs:least-privilege` writes it (Prettier aligns it). */
function markdownTable(rows: Row[]): string {
    const cell = (text: string) => text.replace(/\*/g, "\\*");
    return [
        "| identity | operation | AWS decides |",
        "| --- | --- | --- |",
        ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
    ].join("\n");
}

describe("docs/least-privilege.md", function () {
    const DOC = path.join(REPO_ROOT, "docs", "least-privilege.md");
    const MARKERS = /(<!-- least-privilege-table:start -->\n)([\s\S]*?)(<!-- least-privilege-table:end -->)/;

    it("shows the table the simulator runs", () => {
        if (process.env.UPDATE_LEAST_PRIVILEGE_DOC) {
            const current = fs.readFileSync(DOC, "utf8");
            assert.match(current, MARKERS, "the table's markers are missing");
            fs.writeFileSync(
                DOC,
                current.replace(
                    MARKERS,
                    (_, start: string, __, end: string) => `${start}\n${markdownTable(NAMED_TABLE)}\n\n${end}`,
                ),
            );
        }
        const doc = fs.readFileSync(DOC, "utf8");
        const table = MARKERS.exec(doc)?.slice(1, 3);
        assert.ok(table, "the table's markers are missing; write the table with npm run docs:least-privilege");
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
        assert.deepEqual(
            rows,
            NAMED_TABLE,
            "the table differs from the suite's; write it with npm run docs:least-privilege",
        );
    });
});
