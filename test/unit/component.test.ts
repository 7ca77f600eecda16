import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as tls from "@pulumi/tls";
import { SecureEtcdCluster } from "../../src";
import { buildCluster, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import * as pulumi from "@pulumi/pulumi";
import { PolicyDocument } from "../../src/core/policyDocument";
import { MOCK_CALLER_ARN } from "../../testing/awsEmulator";
import { runProgram, valueOf } from "../../testing/program";

const TLS_KEY = "tls:index/privateKey:PrivateKey";
const TLS_SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const TLS_CSR = "tls:index/certRequest:CertRequest";
const TLS_SIGNED = "tls:index/locallySignedCert:LocallySignedCert";
/** The key ring's record and the CA rotation stages' record. */
const RECORDS = "aws:ssm/parameter:Parameter";
const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const NON_PKI_COMPONENTS = {
    "secure-etcd:index:SecureEtcdCluster": 1,
    "secure-etcd:encryption:EncryptionAtRest": 1,
    "secure-etcd:secrets:SecretStore": 1,
    "secure-etcd:network:EtcdSecurityGroup": 1,
    "secure-etcd:backup:BackupBucket": 1,
};
/** The default backups: a bucket and its seven settings (Object Lock among them); the key and the name's random part are counted below. */
const DEFAULT_BACKUP_BUCKET = {
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": 1,
};
/**
 * The default backup alarms: request metrics on the backup prefix, two alarms, and their topic
 * with its policy; the topic's KMS key is counted below.
 */
const DEFAULT_BACKUP_MONITORING = {
    "secure-etcd:monitoring:BackupMonitoring": 1,
    "aws:s3/bucketMetric:BucketMetric": 1,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicPolicy:TopicPolicy": 1,
};
/** The default network: one group, ingress 2379 and 2380 from itself, egress 2379 and 2380 to itself. */
const DEFAULT_NETWORK = {
    "aws:ec2/securityGroup:SecurityGroup": 1,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 2,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2,
};

describe("SecureEtcdCluster: resources", function () {
    it("creates exactly the PKI, encryption keys and secrets for one member", async () => {
        const { mocks } = await buildCluster({ members: [{ name: "solo", ip: "10.0.0.5" }] });
        assert.deepEqual(mocks.countsByType(), {
            ...NON_PKI_COMPONENTS,
            ...DEFAULT_NETWORK,
            ...DEFAULT_BACKUP_BUCKET,
            ...DEFAULT_BACKUP_MONITORING,
            "secure-etcd:pki:EtcdPki": 1,
            // 2 CAs + 2 per member + 1 per client (3 built-in)
            [TLS_KEY]: 2 + 2 + 3,
            [TLS_SELF_SIGNED]: 2,
            [TLS_CSR]: 2 + 3,
            [TLS_SIGNED]: 2 + 3,
            // one key (key-1), and the records the guards compare with (key ring, CA rotation stages, member set)
            "random:index/randomBytes:RandomBytes": 1,
            [RECORDS]: 3,
            // the secrets', the backups' and the alarm topic's KMS keys, the random part of the
            // secrets' and the bucket's names, and per member, for kube-apiserver (client bundle,
            // encryption config) and per encryption key
            "aws:kms/key:Key": 3,
            "random:index/randomId:RandomId": 2,
            // etcd's root password, stored as a secret of its own too
            "random:index/randomPassword:RandomPassword": 1,
            [SECRET]: 1 + 2 + 1 + 1,
            [SECRET_VERSION]: 1 + 2 + 1 + 1,
        });
    });

    it("creates exactly the PKI for three members, named from the component", async () => {
        const { mocks } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        assert.deepEqual(mocks.countsByType(), {
            ...NON_PKI_COMPONENTS,
            ...DEFAULT_NETWORK,
            ...DEFAULT_BACKUP_BUCKET,
            ...DEFAULT_BACKUP_MONITORING,
            "secure-etcd:pki:EtcdPki": 1,
            [TLS_KEY]: 2 + 6 + 3,
            [TLS_SELF_SIGNED]: 2,
            [TLS_CSR]: 6 + 3,
            [TLS_SIGNED]: 6 + 3,
            "random:index/randomBytes:RandomBytes": 1,
            [RECORDS]: 3,
            "aws:kms/key:Key": 3,
            "random:index/randomId:RandomId": 2,
            "random:index/randomPassword:RandomPassword": 1,
            [SECRET]: 3 + 2 + 1 + 1,
            [SECRET_VERSION]: 3 + 2 + 1 + 1,
        });
        const names = mocks.registrations.filter((r) => r.custom).map((r) => r.name);
        assert.ok(
            names.every((n) => n.startsWith("prod-")),
            names.join(","),
        );
        assert.equal(new Set(names).size, names.length, "names unique");
        for (const expected of [
            "prod-pki-etcd-ca",
            "prod-pki-etcd-ca-key",
            "prod-pki-peer-ca",
            "prod-pki-peer-ca-key",
            "prod-pki-member-etcd-1-server",
            "prod-pki-member-etcd-1-server-csr",
            "prod-pki-member-etcd-1-server-key",
            "prod-pki-member-etcd-1-peer",
            "prod-pki-client-etcd-backup",
            "prod-pki-client-kube-apiserver-etcd-client-key",
        ]) {
            assert.ok(names.includes(expected), `missing ${expected}`);
        }
    });

    it("passes snake_case uses and explicit curves to the tls provider", async () => {
        const { mocks } = await buildCluster({ members: [{ name: "solo", ip: "10.0.0.5" }] });
        for (const key of mocks.ofType(TLS_KEY)) {
            assert.equal(key.inputs.algorithm, "ECDSA");
            assert.equal(key.inputs.ecdsaCurve, "P256", "never the provider's P224 default");
        }
        assert.deepEqual(mocks.named("prod-pki-member-solo-peer").inputs.allowedUses, [
            "digital_signature",
            "key_encipherment",
            "server_auth",
            "client_auth",
        ]);
    });
});

describe("SecureEtcdCluster: VPC endpoints", function () {
    it("gives every secret a resource policy with the endpoints (Outputs resolved) only when they are named", async () => {
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            secretsVpcEndpointIds: [pulumi.output("vpce-0a1b2c3d4e5f60718"), "vpce-1a2b3c4d"],
        });
        const secrets = mocks.ofType(SECRET);
        const policies = mocks.ofType("aws:secretsmanager/secretPolicy:SecretPolicy");
        assert.deepEqual(policies.map((p) => p.name).sort(), secrets.map((s) => `${s.name}-policy`).sort());
        for (const p of policies) {
            const secret = secrets.find((s) => `${s.name}-policy` === p.name)!;
            assert.equal(p.inputs.secretArn, secret.state!.arn);
            assert.equal(p.inputs.blockPublicPolicy, true);
            const [deny] = (JSON.parse(p.inputs.policy as string) as PolicyDocument).Statement;
            assert.deepEqual(deny.Condition!.StringNotEquals, {
                "aws:SourceVpce": ["vpce-0a1b2c3d4e5f60718", "vpce-1a2b3c4d"],
            });
            assert.ok(deny.Condition!.ArnNotLike["aws:PrincipalArn"].includes(MOCK_CALLER_ARN));
        }
        const plain = await buildCluster({ members: THREE_MEMBERS });
        assert.equal(plain.mocks.ofType("aws:secretsmanager/secretPolicy:SecretPolicy").length, 0);
    });

    it("puts the S3 endpoints in the created bucket's policy and in backupBucketPolicy", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            backupVpcEndpointIds: [pulumi.output("vpce-1a2b3c4d")],
        });
        const applied = mocks.ofType("aws:s3/bucketPolicy:BucketPolicy")[0].inputs.policy as string;
        assert.equal(applied, await valueOf(cluster.backupBucketPolicy));
        const deny = (JSON.parse(applied) as PolicyDocument).Statement.find(
            (s) => s.Sid === "DenyObjectAccessOutsideVpcEndpoints",
        )!;
        assert.deepEqual(deny.Condition, { StringNotEquals: { "aws:SourceVpce": ["vpce-1a2b3c4d"] } });
        assert.equal(deny.Resource, `${(await valueOf(cluster.backupBucketArn))!}/*`);
    });
});

describe("SecureEtcdCluster: secrets", function () {
    it("makes every private key output secret, and certificates public", async () => {
        const { outputs } = await buildCluster();
        assert.equal(outputs.memberCredentials.secret, true);
        assert.equal(outputs.clientCredentials.secret, true);
        assert.equal(outputs.caCertPem.secret, false);
        assert.equal(outputs.peerCaCertPem.secret, false);
        assert.equal(outputs.memberCertificates.secret, false);
        assert.equal(outputs.certificates.secret, false);
    });

    it("puts no key material in any non-secret output", async () => {
        const { outputs } = await buildCluster();
        const publicText = JSON.stringify([
            outputs.caCertPem.value,
            outputs.peerCaCertPem.value,
            outputs.memberCertificates.value,
            outputs.certificates.value,
        ]);
        assert.ok(!publicText.includes("PRIVATE KEY"));
        for (const c of Object.values(outputs.clientCredentials.value)) {
            assert.ok(!publicText.includes(c.keyPem.split("\n")[1]));
        }
    });

    it("registers the component with nothing sensitive, and sends private keys to the engine only as secrets", async () => {
        const { mocks } = await buildCluster();
        const component = mocks.ofType("secure-etcd:index:SecureEtcdCluster")[0];
        assert.deepEqual(component.rawInputs, {}, "no args reach super()");
        for (const key of mocks.ofType(TLS_KEY)) {
            assert.ok(key.state?.privateKeyPem, "the harness issued a key");
        }
        for (const r of mocks.registrations) {
            for (const [input, value] of Object.entries(r.inputs)) {
                const holdsKey = JSON.stringify(value ?? "").includes("PRIVATE KEY");
                if (holdsKey) {
                    assert.ok(
                        r.secretInputs.includes(input),
                        `${r.type} ${r.name}.${input} carries a key in plaintext`,
                    );
                }
            }
        }
        const csr = mocks.named("prod-pki-member-etcd-0-server-csr");
        assert.deepEqual(csr.secretInputs, ["privateKeyPem"]);
        const cert = mocks.named("prod-pki-member-etcd-0-server");
        assert.deepEqual(cert.secretInputs, ["caPrivateKeyPem"]);
    });
});

describe("SecureEtcdCluster: providers", function () {
    it("sends every tls child through a provider given as `provider`", async () => {
        const { mocks } = await runProgram(() => {
            const provider = new tls.Provider("custom-tls");
            return new SecureEtcdCluster(
                "prov",
                { members: [{ name: "solo", ip: "10.0.0.5" }], vpcId: TEST_VPC_ID },
                { provider },
            );
        });
        const tlsChildren = mocks.registrations.filter((r) => r.type.startsWith("tls:index/"));
        assert.equal(tlsChildren.length, 7 + 2 + 5 + 5);
        for (const child of tlsChildren) {
            assert.match(child.provider ?? "", /pulumi:providers:tls::custom-tls::custom-tls-provider-id$/, child.name);
        }
    });

    it("sends each package's children through the provider given for it in `providers`", async () => {
        const { mocks } = await runProgram(() => {
            const tlsProvider = new tls.Provider("tls-b");
            const awsProvider = new aws.Provider("aws-b", { region: "eu-west-1" });
            return new SecureEtcdCluster(
                "provs",
                { members: [{ name: "solo", ip: "10.0.0.5" }], vpcId: TEST_VPC_ID },
                { providers: { tls: tlsProvider, aws: awsProvider } },
            );
        });
        // random has no provider of its own here.
        const children = mocks.registrations.filter((r) => /^(tls|aws):/.test(r.type));
        assert.ok(children.some((c) => c.type.startsWith("aws:")));
        assert.ok(children.some((c) => c.type === RECORDS));
        for (const child of children) {
            const pkg = child.type.split(":")[0];
            assert.match(
                child.provider ?? "",
                new RegExp(`pulumi:providers:${pkg}::${pkg}-b::`),
                `${child.type} ${child.name}`,
            );
        }
        // The region and account the policies name, and the key ring the rotation guard compares
        // with, come from the same AWS provider.
        const awsInvokes = mocks.invokes.filter((i) => i.token.startsWith("aws:"));
        assert.deepEqual([...new Set(awsInvokes.map((i) => i.token))].sort(), [
            "aws:index/getCallerIdentity:getCallerIdentity",
            "aws:index/getPartition:getPartition",
            "aws:index/getRegion:getRegion",
            "aws:ssm/getParametersByPath:getParametersByPath",
        ]);
        for (const invoke of awsInvokes) {
            assert.match(invoke.provider ?? "", /pulumi:providers:aws::aws-b::/, invoke.token);
        }
    });
});
