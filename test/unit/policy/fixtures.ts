// A compliant SecureEtcdCluster as a stack policy sees it, small enough to read: the component tree
// (cluster, PKI, network, secrets, backup), the resources the policies judge, and how their
// properties depend on each other. Tests break one thing at a time.
import { COMPONENT, TYPES } from "../../../policy/lib/types";
import { Fixture } from "./policyHarness";

export const SG_ID = "sg-0e7c1d2a3b4f5a6b7";
export const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
export const BACKUP_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/9876fedc-12ab-34cd-56ef-1234567890ab";
export const BUCKET = "prod-etcd-backups-0a1b2c";

export const TLS_ONLY_POLICY = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    ],
});

export function compliantCluster(): Fixture[] {
    return [
        { type: COMPONENT.cluster, name: "prod", props: { encryptionConfigYaml: ENCRYPTION_YAML } },
        // PKI
        { type: COMPONENT.pki, name: "prod-pki", parent: "prod" },
        {
            type: TYPES.selfSignedCert,
            name: "prod-pki-etcd-ca",
            parent: "prod-pki",
            props: { isCaCertificate: true, validityPeriodHours: 87600, earlyRenewalHours: 0 },
        },
        {
            type: TYPES.selfSignedCert,
            name: "prod-pki-peer-ca",
            parent: "prod-pki",
            props: { isCaCertificate: true, validityPeriodHours: 87600, earlyRenewalHours: 0 },
        },
        {
            type: TYPES.locallySignedCert,
            name: "prod-pki-member-etcd-0-server",
            parent: "prod-pki",
            props: { isCaCertificate: false, validityPeriodHours: 8760, earlyRenewalHours: 720 },
        },
        // network
        { type: COMPONENT.network, name: "prod-network", parent: "prod" },
        {
            type: TYPES.securityGroup,
            name: "prod-network-group",
            parent: "prod-network",
            props: { arn: `arn:aws:ec2:us-east-1:123456789012:security-group/${SG_ID}`, ingress: [] },
        },
        {
            type: TYPES.ingressRule,
            name: "prod-network-client-self",
            parent: "prod-network",
            props: {
                securityGroupId: SG_ID,
                ipProtocol: "tcp",
                fromPort: 2379,
                toPort: 2379,
                referencedSecurityGroupId: SG_ID,
            },
            dependsOn: { securityGroupId: ["prod-network-group"], referencedSecurityGroupId: ["prod-network-group"] },
        },
        {
            type: TYPES.ingressRule,
            name: "prod-network-peer-self",
            parent: "prod-network",
            props: {
                securityGroupId: SG_ID,
                ipProtocol: "tcp",
                fromPort: 2380,
                toPort: 2380,
                referencedSecurityGroupId: SG_ID,
            },
            dependsOn: { securityGroupId: ["prod-network-group"], referencedSecurityGroupId: ["prod-network-group"] },
        },
        // secrets
        { type: COMPONENT.secrets, name: "prod-secrets", parent: "prod" },
        {
            type: TYPES.kmsKey,
            name: "prod-secrets-kms-key",
            parent: "prod-secrets",
            props: { enableKeyRotation: true, arn: KEY_ARN },
        },
        {
            type: TYPES.secret,
            name: "prod-secrets-member-etcd-0",
            parent: "prod-secrets",
            props: { kmsKeyId: KEY_ARN },
            dependsOn: { kmsKeyId: ["prod-secrets-kms-key"] },
        },
        {
            type: TYPES.secretVersion,
            name: "prod-secrets-member-etcd-0-version",
            parent: "prod-secrets",
            props: { secretString: "{}" },
        },
        // backups
        { type: COMPONENT.backup, name: "prod-backup", parent: "prod" },
        {
            type: TYPES.kmsKey,
            name: "prod-backup-key",
            parent: "prod-backup",
            props: { enableKeyRotation: true, arn: BACKUP_KEY_ARN },
        },
        { type: TYPES.bucket[0], name: "prod-backup-bucket", parent: "prod-backup", props: { bucket: BUCKET } },
        {
            type: TYPES.bucketVersioning[0],
            name: "prod-backup-versioning",
            parent: "prod-backup",
            props: { bucket: BUCKET, versioningConfiguration: { status: "Enabled" } },
            dependsOn: { bucket: ["prod-backup-bucket"] },
        },
        {
            type: TYPES.bucketEncryption[0],
            name: "prod-backup-encryption",
            parent: "prod-backup",
            props: {
                bucket: BUCKET,
                rules: [
                    { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: BACKUP_KEY_ARN } },
                ],
            },
            dependsOn: { bucket: ["prod-backup-bucket"] },
        },
        {
            type: TYPES.bucketPublicAccessBlock[0],
            name: "prod-backup-public-access",
            parent: "prod-backup",
            props: {
                bucket: BUCKET,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            dependsOn: { bucket: ["prod-backup-bucket"] },
        },
        {
            type: TYPES.bucketPolicy[0],
            name: "prod-backup-policy",
            parent: "prod-backup",
            props: { bucket: BUCKET, policy: TLS_ONLY_POLICY },
            dependsOn: { bucket: ["prod-backup-bucket"] },
        },
    ];
}

export const ENCRYPTION_YAML = [
    "apiVersion: apiserver.config.k8s.io/v1",
    "kind: EncryptionConfiguration",
    "resources:",
    "  - resources: [secrets, configmaps]",
    "    providers:",
    "      - secretbox:",
    "          keys:",
    "            - name: key-1",
    "              secret: c2VjcmV0LWtleS1tYXRlcmlhbC1vZi0zMi1ieXRlcyE=",
    "      - identity: {}",
    "",
].join("\n");

/** The fixtures with one resource's properties changed (undefined removes a property). */
export function patched(fixtures: Fixture[], name: string, patch: Record<string, unknown>): Fixture[] {
    if (!fixtures.some((f) => f.name === name)) {
        throw new Error(`no fixture named ${name}`);
    }
    return fixtures.map((f) => {
        if (f.name !== name) {
            return f;
        }
        const props: Record<string, unknown> = { ...f.props, ...patch };
        for (const [k, v] of Object.entries(patch)) {
            if (v === undefined) {
                delete props[k];
            }
        }
        return { ...f, props };
    });
}

/** The fixtures without some resources (and whatever depended on them no longer links to them). */
export function without(fixtures: Fixture[], ...names: string[]): Fixture[] {
    return fixtures
        .filter((f) => !names.includes(f.name))
        .map((f) => ({
            ...f,
            dependsOn: Object.fromEntries(
                Object.entries(f.dependsOn ?? {}).map(([k, deps]) => [k, deps.filter((d) => !names.includes(d))]),
            ),
        }));
}
