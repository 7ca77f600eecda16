// The component's own output passes every mandatory policy: SecureEtcdCluster is built under the
// harness's mocks (defaults, and a custom configuration), every registered resource is captured as
// the analyzer sees it, and every policy of the pack runs over it, also as a first preview (values
// computed from other resources unknown). Programs that add a bad rule beside the component show
// the policies see through the component's real structure.
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KeyAlgorithm, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../../src";
import { DISCOURAGED_PROVIDERS, EncryptionProvider } from "../../../src/encryption/encryptionConfig";
import { POLICIES } from "../../../policy/policies";
import { COMPONENT, TYPES } from "../../../policy/lib/types";
import { clusterHasBackupBucket } from "../../../policy/rules/clusterHasBackupBucket";
import { THREE_MEMBERS, withNetwork } from "../../harness/cluster";
import { asFirstPreview, CapturedResource, captureStack, policyView } from "./componentStack";
import { mandatory, runAll, Violation } from "./policyHarness";

const BACKUP_POLICIES = [
    "etcd-backup-bucket-encrypted",
    "etcd-backup-bucket-versioned",
    "etcd-backup-bucket-public-access-blocked",
    "etcd-backup-bucket-tls-only",
    "etcd-backup-bucket-no-force-destroy",
];

const CUSTOM: SecureEtcdClusterArgs = {
    members: THREE_MEMBERS,
    keyAlgorithm: KeyAlgorithm.Rsa3072,
    caValidityHours: 43800,
    certificateValidityHours: 9000,
    certificateRenewalHours: 240,
    clients: [{ name: "prometheus" }],
    clientSecurityGroupIds: ["sg-0apiserver0000001"],
    clientCidrs: ["10.0.2.0/24", "fd00:0:0:2::/64"],
    hostFirewallClientCidrs: ["10.0.2.0/24"],
    metricsSecurityGroupIds: ["sg-0prometheus00003"],
    hostFirewallMetricsCidrs: ["10.0.9.0/24"],
    encryptionProvider: EncryptionProvider.Kms,
    kmsPluginImage: "registry.example.com/aws-encryption-provider:v1.0.0",
};

const hasBucket = (resources: CapturedResource[]) =>
    resources.some((r) => (TYPES.bucket as readonly string[]).includes(r.type));

/** Mandatory violations, leaving out the missing backup bucket while the component creates none yet. */
function blocking(violations: Violation[], resources: CapturedResource[]): Violation[] {
    return mandatory(violations).filter((v) => hasBucket(resources) || v.policy !== clusterHasBackupBucket.name);
}

/** The cluster and, as the README has it, a node per member launched with its user data (IMDSv2, one hop). */
function clusterWithNodes(args: SecureEtcdClusterArgs): SecureEtcdCluster {
    const cluster = new SecureEtcdCluster("prod", withNetwork(args));
    for (const member of args.members as { name: string }[]) {
        new aws.ec2.Instance(`node-${member.name}`, {
            ami: "ami-0123456789abcdef0",
            instanceType: "m7i.large",
            userData: cluster.memberUserData.apply((userData) => userData[member.name]),
            metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
        });
    }
    return cluster;
}

async function check(args: SecureEtcdClusterArgs, config: Record<string, object> = {}) {
    const { resources } = await captureStack(() => clusterWithNodes(args));
    const real = await runAll(POLICIES, policyView(resources), config);
    const preview = await runAll(POLICIES, policyView(asFirstPreview(resources)));
    return { resources, real, preview };
}

describe("policy pack: the component's own output", function () {
    this.timeout(120_000);

    for (const [title, args] of [
        ["defaults", { members: THREE_MEMBERS }],
        ["a custom configuration (RSA-3072, KMS, clients, CIDRs, metrics)", CUSTOM],
    ] as const) {
        it(`${title}: passes every mandatory policy, also as a first preview`, async () => {
            const { resources, real, preview } = await check(args);
            assert.deepEqual(blocking(real.violations, resources), []);
            assert.deepEqual(real.unknownValueErrors, []);
            assert.deepEqual(preview.violations, [], "a preview reports nothing it could not know");
            assert.deepEqual(preview.unknownValueErrors, [], "unknowns are skipped, not tripped over");
            // Not vacuous: every policy found something to judge, except the backup ones while there is no bucket.
            const idle = [...real.notApplicable.keys()].filter(
                (name) => hasBucket(resources) || !BACKUP_POLICIES.includes(name),
            );
            assert.deepEqual(idle, []);
            assert.deepEqual(
                real.violations.filter((v) => v.enforcementLevel !== "mandatory"),
                [],
                "no advisory either",
            );
        });
    }

    it("the component registers the types the policies walk (catches a rename)", async () => {
        const { resources } = await check({ members: THREE_MEMBERS });
        const types = new Set(resources.map((r) => r.type));
        for (const t of [
            COMPONENT.cluster,
            COMPONENT.pki,
            COMPONENT.network,
            COMPONENT.secrets,
            COMPONENT.encryption,
        ]) {
            assert.ok(types.has(t), t);
        }
        const cas = resources.filter((r) => r.type === TYPES.selfSignedCert).map((r) => r.name);
        assert.deepEqual(cas.sort(), ["prod-pki-etcd-ca", "prod-pki-peer-ca"]);
    });

    it("the backup bucket satisfies every backup policy (pending while the component creates none)", async function () {
        const { resources, real } = await check({ members: THREE_MEMBERS });
        if (!hasBucket(resources)) {
            this.skip(); // secure-etcd:backup:BackupBucket has not landed yet.
        }
        assert.ok(resources.some((r) => r.type === COMPONENT.backup));
        for (const name of [...BACKUP_POLICIES, clusterHasBackupBucket.name]) {
            assert.ok(!real.notApplicable.has(name), `${name} judged the bucket`);
        }
        assert.deepEqual(mandatory(real.violations), []);
    });

    it("the encryption policies read the component's configuration: aesgcm draws the advisory warning", async () => {
        const { real } = await check({ members: THREE_MEMBERS, encryptionProvider: EncryptionProvider.Aesgcm });
        assert.deepEqual(
            real.violations.map((v) => [v.policy, v.enforcementLevel, v.message]),
            [
                [
                    "etcd-encryption-recommended-provider",
                    "advisory",
                    `SecureEtcdCluster "prod": its EncryptionConfiguration encrypts with aesgcm first: ${DISCOURAGED_PROVIDERS.aesgcm}.`,
                ],
            ],
        );
    });

    it("a node launched with a member's user data but IMDSv1 allowed is caught (through the SDK's real dependencies)", async () => {
        const { resources } = await captureStack(() => {
            const cluster = new SecureEtcdCluster("prod", withNetwork({ members: THREE_MEMBERS }));
            return new aws.ec2.Instance("node-etcd-0", {
                ami: "ami-0123456789abcdef0",
                instanceType: "m7i.large",
                userData: cluster.memberUserData.apply((userData) => userData["etcd-0"]),
                metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 1 },
            });
        });
        const { violations } = await runAll(POLICIES, policyView(resources));
        assert.deepEqual(
            blocking(violations, resources).map((v) => [v.policy, v.message]),
            [
                [
                    "etcd-member-imdsv2",
                    'Instance "node-etcd-0" runs a member of SecureEtcdCluster "prod" and allows IMDSv1 (metadataOptions.httpTokens "optional"); set httpTokens: "required".',
                ],
            ],
        );
    });

    it("a rule added beside the component that opens the peer port is caught, also in a first preview", async () => {
        const { resources } = await captureStack(() => {
            const cluster = new SecureEtcdCluster("prod", withNetwork({ members: THREE_MEMBERS }));
            const rule = (name: string, source: { cidrIpv4?: string; referencedSecurityGroupId?: string }) =>
                new aws.vpc.SecurityGroupIngressRule(name, {
                    securityGroupId: cluster.securityGroupId,
                    ipProtocol: "tcp",
                    fromPort: 2380,
                    toPort: 2380,
                    ...source,
                });
            rule("peer-from-world", { cidrIpv4: "0.0.0.0/0" });
            rule("peer-from-apiserver", { referencedSecurityGroupId: "sg-0apiserver0000001" });
            return pulumi.output(cluster.securityGroupId);
        });
        for (const view of [resources, asFirstPreview(resources)]) {
            const { violations } = await runAll(POLICIES, policyView(view));
            const found = blocking(violations, view).map((v) => [v.policy, v.urn?.split("::").pop()]);
            assert.deepEqual(found.sort(), [
                ["etcd-peer-port-members-only", "peer-from-apiserver"],
                ["etcd-peer-port-members-only", "peer-from-world"],
                ["etcd-ports-not-open-to-world", "peer-from-world"],
            ]);
        }
    });

    it("backups turned off fail etcd-cluster-has-backup-bucket unless suppressed by name with a reason", async () => {
        const off = await check({ members: THREE_MEMBERS, backups: false });
        assert.deepEqual(
            mandatory(off.real.violations).map((v) => [v.policy, v.urn?.split("::").pop()]),
            [["etcd-cluster-has-backup-bucket", "prod"]],
        );
        const suppressed = await check(
            { members: THREE_MEMBERS, backups: false },
            {
                "etcd-cluster-has-backup-bucket": {
                    suppressions: [
                        { resource: "prod", reason: "snapshots go to the platform's Velero bucket (PLAT-123)" },
                    ],
                },
            },
        );
        assert.deepEqual(suppressed.real.violations, []);
    });

    it("a bucket of the caller's own (backupBucketName) in the same stack is held to the backup policies", async () => {
        const { resources } = await captureStack(() => {
            const own = new aws.s3.Bucket("own-backups", { bucket: "acme-etcd-backups", forceDestroy: true });
            return new SecureEtcdCluster("prod", withNetwork({ members: THREE_MEMBERS, backupBucketName: own.bucket }));
        });
        const { violations } = await runAll(POLICIES, policyView(resources));
        assert.deepEqual(
            mandatory(violations)
                .map((v) => v.policy)
                .sort(),
            [...BACKUP_POLICIES].sort(),
        );
        for (const v of mandatory(violations)) {
            assert.match(v.message, /^Backup bucket Bucket "own-backups" of SecureEtcdCluster "prod"/);
        }
        // In a first preview the bucket's name is not known, so nothing ties it to the cluster yet.
        assert.deepEqual((await runAll(POLICIES, policyView(asFirstPreview(resources)))).violations, []);
    });

    it("a secrets key of the caller's own in the same stack: AWS's default policy fails etcd-key-policy-users, the published statements pass", async () => {
        const named = { memberRoleNames: ["etcd-member"], apiServerRoleNames: ["kube-apiserver"] };
        const withKey = (attachStatements: boolean) =>
            captureStack(() => {
                const key = new aws.kms.Key("app-secrets-key", { enableKeyRotation: true });
                const cluster = new SecureEtcdCluster(
                    "prod",
                    withNetwork({ members: THREE_MEMBERS, secretsKmsKeyArn: key.arn, ...named }),
                );
                if (attachStatements) {
                    // As docs/least-privilege.md shows: the key's administrators, and the cluster's statements.
                    new aws.kms.KeyPolicy("app-secrets-key-policy", {
                        keyId: key.id,
                        policy: pulumi
                            .all([cluster.keyPolicyStatements, aws.getCallerIdentityOutput().arn])
                            .apply(([statements, deployer]) =>
                                JSON.stringify({
                                    Version: "2012-10-17",
                                    Statement: [
                                        {
                                            Sid: "Administrators",
                                            Effect: "Allow",
                                            Principal: { AWS: deployer },
                                            Action: [
                                                "kms:Describe*",
                                                "kms:Get*",
                                                "kms:Put*",
                                                "kms:ScheduleKeyDeletion",
                                            ],
                                            Resource: "*",
                                        },
                                        ...(JSON.parse(statements.secrets) as object[]),
                                    ],
                                }),
                            ),
                    });
                }
                return cluster;
            });
        const bare = await withKey(false);
        const { violations } = await runAll(POLICIES, policyView(bare.resources));
        assert.deepEqual(
            mandatory(violations).map((v) => [v.policy, /lacks statement (\w+)/.exec(v.message)?.[1]]),
            [
                ["etcd-key-policy-users", "MembersDecryptTheirSecretsThroughSecretsManager"],
                ["etcd-key-policy-users", "ApiServerDecryptsItsSecretsThroughSecretsManager"],
                ["etcd-key-policy-users", "DeployerWritesSecretsThroughSecretsManager"],
            ],
        );
        assert.match(
            mandatory(violations)[0].message,
            /^Key "app-secrets-key", SecureEtcdCluster "prod"'s secrets key \(secretsKmsKeyArn\)/,
        );
        const attached = await withKey(true);
        assert.deepEqual(mandatory((await runAll(POLICIES, policyView(attached.resources))).violations), []);
        // A first preview knows neither the key's ARN nor the statements: nothing is reported.
        assert.deepEqual((await runAll(POLICIES, policyView(asFirstPreview(bare.resources)))).violations, []);
    });
});
