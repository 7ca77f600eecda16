// Examples run under the mocks, so they cannot rot: they type-check with the rest of the
// suite and their resources and outputs are checked here, with the example stack configuration
// they ship (Pulumi.example.yaml) where they have one.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { Volume } from "../../src";
import { runProgram, resolve, valueOf } from "../../testing/program";
import { ProviderMocks, Registration } from "../../testing/mocks";
import { certFacts } from "../harness/certs";
import { writtenText } from "../harness/userData";

type Exports = Record<string, pulumi.Output<unknown>>;

const EXAMPLES = path.join(__dirname, "..", "..", "..", "examples");

/** Loads an example program afresh (its module body is the program). */
function loadExample(name: string): Exports {
    const modulePath = require.resolve(path.join(__dirname, "..", "..", "examples", name));
    delete require.cache[modulePath];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the example is the program to run
    return require(modulePath) as Exports;
}

/**
 * Sets exactly the configuration of an example's Pulumi.example.yaml (from the source tree:
 * the compiler does not copy it), with its project's keys moved to the test's project.
 */
function useExampleConfig(example: string): Record<string, unknown> {
    const file = path.join(EXAMPLES, example, "Pulumi.example.yaml");
    const project = (
        YAML.parse(fs.readFileSync(path.join(EXAMPLES, example, "Pulumi.yaml"), "utf8")) as { name: string }
    ).name;
    const config = (YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
    const values: Record<string, unknown> = {};
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        const [namespace, name] = key.split(":");
        const target = namespace === project ? `${pulumi.getProject()}:${name}` : key;
        settings[target] = typeof value === "string" ? value : JSON.stringify(value);
        values[namespace === project ? name : key] = value;
    }
    pulumi.runtime.setAllConfig(settings);
    return values;
}

const output = <T>(exports: Exports, name: string) => exports[name] as pulumi.Output<T>;

const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];

/**
 * The shared mocks plus what the platform example needs of EC2 and IAM: the region's zones, and
 * names for roles and instance profiles created without one (the aws provider's auto-naming).
 */
class PlatformMocks extends ProviderMocks {
    override call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") {
            this.invokes.push(args);
            return { names: ZONES, zoneIds: ZONES.map((_, i) => `use1-az${i + 1}`), id: "us-east-1" };
        }
        return super.call(args);
    }

    override async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        const result = await super.newResource(args);
        const autoNamed = ["aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"];
        if (autoNamed.includes(args.type) && result.state.name === undefined) {
            const name = `${args.name}-${(result.id ?? "").slice(-7)}`;
            result.state = { ...result.state, name };
            this.registrations.find((r) => r.type === args.type && r.name === args.name)!.state!.name = name;
        }
        return result;
    }
}

/** `runProgram` with mocks of our own: installs them, runs, waits until registrations settle. */
async function runWith<T>(mocks: ProviderMocks, program: () => T): Promise<T> {
    await pulumi.runtime.setMocks(mocks, "project", "stack", false);
    const result = program();
    let seen = -1;
    for (let quiet = 0; quiet < 5;) {
        await new Promise((r) => setTimeout(r, 10));
        const pending = mocks.registrations.some((r) => r.custom && r.state === undefined);
        quiet = mocks.registrations.length === seen && !pending ? quiet + 1 : 0;
        seen = mocks.registrations.length;
        if (mocks.errors.length > 0) {
            throw mocks.errors[0];
        }
    }
    return result;
}

describe("examples", function () {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    it("basic: three members, the CA and every certificate exported, credentials secret", async () => {
        const { result, mocks } = await runProgram(() => {
            pulumi.runtime.setAllConfig({ [`${pulumi.getProject()}:vpcId`]: "vpc-0a1b2c3d4e5f60718" });
            return loadExample("basic");
        });
        assert.equal(mocks.ofType("aws:ec2/securityGroup:SecurityGroup")[0].inputs.vpcId, "vpc-0a1b2c3d4e5f60718");
        assert.match((await resolve(result.securityGroupId as pulumi.Output<string>)).value, /^sg-/);
        assert.equal(mocks.ofType("secure-etcd:index:SecureEtcdCluster").length, 1);
        assert.equal(mocks.ofType("tls:index/locallySignedCert:LocallySignedCert").length, 9);
        const ca = await resolve(result.caCertPem as pulumi.Output<string>);
        assert.equal(certFacts(ca.value).subjectCn, "etcd-ca");
        const creds = await resolve(result.clientCredentials);
        assert.equal(creds.secret, true);
        const certs = await resolve(result.certificates as pulumi.Output<{ id: string }[]>);
        assert.equal(certs.value.length, 11);
        assert.equal((await resolve(result.encryptionConfigYaml)).secret, true);
        const userData = await resolve(result.memberUserData as pulumi.Output<Record<string, string>>);
        assert.equal(userData.secret, false);
        assert.deepEqual(Object.keys(userData.value), ["etcd-0", "etcd-1", "etcd-2"]);
    });

    describe("platform", function () {
        const MEMBERS = [
            { member: "etcd-0", ip: "10.0.1.10", zone: "us-east-1a" },
            { member: "etcd-1", ip: "10.0.2.10", zone: "us-east-1b" },
            { member: "etcd-2", ip: "10.0.3.10", zone: "us-east-1c" },
        ];
        let mocks: PlatformMocks;
        let exports: Exports;
        let config: Record<string, unknown>;
        before(async () => {
            mocks = new PlatformMocks();
            exports = await runWith(mocks, () => {
                config = useExampleConfig("platform");
                return loadExample("platform");
            });
        });

        const named = (name: string) => mocks.named(name);
        /** The one registration of a type and name (the group and the template share a name). */
        const of = (type: string, name: string) => {
            const found = mocks.ofType(type).filter((r) => r.name === name);
            assert.equal(found.length, 1, `${type} ${name}`);
            return found[0];
        };
        const stateOf = (r: Registration, key: string) => r.state?.[key] as string;

        it("creates the VPC, three zones' subnets and three nodes around one cluster", () => {
            assert.deepEqual(
                mocks.countsByType((r) => r.name.startsWith("platform-")),
                {
                    "aws:ec2/vpc:Vpc": 1,
                    "aws:ec2/subnet:Subnet": 3,
                    "aws:ec2/securityGroup:SecurityGroup": 1,
                    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
                    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2,
                    "aws:ec2/launchTemplate:LaunchTemplate": 1,
                    "aws:iam/role:Role": 3,
                    "aws:iam/rolePolicy:RolePolicy": 6,
                    "aws:iam/instanceProfile:InstanceProfile": 3,
                    "aws:ec2/networkInterface:NetworkInterface": 3,
                    "aws:ec2/instance:Instance": 3,
                },
            );
            assert.equal(mocks.ofType("secure-etcd:index:SecureEtcdCluster").length, 1);
            // Everything else is the cluster's: nothing the example creates escapes its prefix.
            const strays = mocks.registrations.filter((r) => !/^(platform|main)-|^main$/.test(r.name));
            assert.deepEqual(
                strays.map((r) => r.name),
                [],
            );
            const zoneLookup = mocks.invokes.find((i) => i.token.endsWith("getAvailabilityZones"));
            // The invoke's inputs are untyped in the SDK.
            const zoneArgs = zoneLookup?.inputs as { state?: string } | undefined;
            assert.equal(zoneArgs?.state, "available");
        });

        it("puts one private subnet in each of three zones, and the cluster's group in the VPC", () => {
            const vpcId = named("platform-vpc").id;
            MEMBERS.forEach((m, i) => {
                const subnet = named(`platform-private-${i}`);
                assert.equal(subnet.inputs.vpcId, vpcId);
                assert.equal(subnet.inputs.availabilityZone, m.zone);
                assert.equal(subnet.inputs.mapPublicIpOnLaunch, false);
            });
            assert.equal(named("main-network-group").inputs.vpcId, vpcId);
        });

        it("gives each member an ENI with its fixed address, both groups, and certificates for that address", () => {
            const controlPlaneGroup = of("aws:ec2/securityGroup:SecurityGroup", "platform-control-plane").id;
            const etcdGroup = named("main-network-group").id;
            MEMBERS.forEach((m, i) => {
                const eni = of("aws:ec2/networkInterface:NetworkInterface", `platform-${m.member}`);
                assert.equal(eni.inputs.subnetId, named(`platform-private-${i}`).id);
                assert.deepEqual(eni.inputs.privateIps, [m.ip]);
                assert.deepEqual(eni.inputs.securityGroups, [controlPlaneGroup, etcdGroup]);
                // The address the ENI holds is the one the member's certificates name, and no other member's.
                for (const kind of ["server", "peer"]) {
                    const cert = certFacts(stateOf(named(`main-pki-member-${m.member}-${kind}`), "certPem"));
                    assert.ok(cert.ipAddresses.includes(m.ip), `${m.member} ${kind}`);
                    assert.ok(
                        MEMBERS.every((o) => o === m || !cert.ipAddresses.includes(o.ip)),
                        `${m.member} ${kind}: ${cert.ipAddresses.join(", ")}`,
                    );
                }
            });
        });

        it("launches each node on its ENI, with its own profile, role, policy and user data", () => {
            const template = mocks.ofType("aws:ec2/launchTemplate:LaunchTemplate")[0];
            assert.equal(template.inputs.imageId, config.amiId);
            assert.equal(template.inputs.instanceType, config.instanceType);
            assert.deepEqual(template.inputs.metadataOptions, {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
            });
            const [root] = template.inputs.blockDeviceMappings as { deviceName: string; ebs: { encrypted: string } }[];
            assert.equal(root.deviceName, config.rootDeviceName);
            assert.equal(root.ebs.encrypted, "true");

            const secretArn = (member: string) => stateOf(named(`main-secrets-member-${member}`), "arn");
            const others = (member: string) =>
                MEMBERS.filter((o) => o.member !== member).map((o) => secretArn(o.member));
            for (const m of MEMBERS) {
                const instance = of("aws:ec2/instance:Instance", `platform-${m.member}`);
                const nic = of("aws:ec2/networkInterface:NetworkInterface", `platform-${m.member}`);
                const profile = of("aws:iam/instanceProfile:InstanceProfile", `platform-${m.member}`);
                const role = of("aws:iam/role:Role", `platform-${m.member}`);
                assert.deepEqual(instance.inputs.launchTemplate, { id: template.id, version: "$Default" });
                assert.deepEqual(instance.inputs.primaryNetworkInterface, { networkInterfaceId: nic.id });
                assert.equal(instance.inputs.iamInstanceProfile, stateOf(profile, "name"));
                assert.equal(profile.inputs.role, stateOf(role, "name"));

                // The member's user data: within EC2's limit, fetching its own secret and no other.
                const userData = Buffer.from(instance.inputs.userDataBase64 as string, "base64").toString();
                assert.ok(userData.startsWith("#cloud-config\n"), userData.slice(0, 40));
                assert.ok(Buffer.byteLength(userData) <= 16384, `${Buffer.byteLength(userData)} bytes`);
                const written = writtenText(userData);
                assert.ok(written.includes(secretArn(m.member)));
                assert.ok(
                    others(m.member).every((arn) => !written.includes(arn)),
                    m.member,
                );

                // Its bundle (every file of the member, the RBAC bootstrap on the first) within Secrets
                // Manager's limit of 65,536 bytes for a secret value.
                const version = mocks.registrations.find(
                    (r) =>
                        r.type === "aws:secretsmanager/secretVersion:SecretVersion" &&
                        r.name.endsWith(`-member-${m.member}-version`),
                )!;
                const bundleBytes = Buffer.byteLength(version.inputs.secretString as string);
                assert.ok(bundleBytes <= 65536, `${m.member}'s bundle is ${bundleBytes} bytes`);

                // Its role reads that secret and writes backups; the other members' secrets stay out of reach.
                const etcdPolicy = of("aws:iam/rolePolicy:RolePolicy", `platform-${m.member}-etcd`);
                assert.equal(etcdPolicy.inputs.role, stateOf(role, "name"));
                const document = etcdPolicy.inputs.policy as string;
                assert.ok(document.includes(secretArn(m.member)), document);
                assert.ok(
                    others(m.member).every((arn) => !document.includes(arn)),
                    document,
                );
                assert.ok(document.includes("s3:PutObject"), document);
                const apiServerPolicy = of("aws:iam/rolePolicy:RolePolicy", `platform-${m.member}-apiserver`);
                assert.equal(apiServerPolicy.inputs.role, stateOf(role, "name"));
                assert.ok(
                    (apiServerPolicy.inputs.policy as string).includes(
                        stateOf(named("main-secrets-kube-apiserver-etcd-client"), "arn"),
                    ),
                );
            }
            // IAM caps a role's inline policies at 10,240 characters together (whitespace not counted).
            for (const m of MEMBERS) {
                const documents = ["etcd", "apiserver"].map(
                    (kind) =>
                        of("aws:iam/rolePolicy:RolePolicy", `platform-${m.member}-${kind}`).inputs.policy as string,
                );
                const size = documents.reduce((sum, doc) => sum + JSON.stringify(JSON.parse(doc)).length, 0);
                assert.ok(size <= 10240, `${m.member}: ${size} characters of inline policy`);
            }
            // Three distinct roles: least privilege holds only if no two members share one.
            assert.equal(new Set(mocks.ofType("aws:iam/role:Role").map((r) => stateOf(r, "name"))).size, 3);
        });

        it("exports kube-apiserver's pod built from the cluster's fragment, and kubeadm's configuration", async () => {
            const pod = await resolve(output<{ command: string[]; volumes: Volume[] }>(exports, "kubeApiServer"));
            assert.equal(pod.secret, false);
            const servers = MEMBERS.map((m) => `https://${m.ip}:2379`).join(",");
            assert.ok(pod.value.command.includes(`--etcd-servers=${servers}`), pod.value.command.join(" "));
            assert.ok(pod.value.command.includes("--service-cluster-ip-range=10.96.0.0/12"));
            assert.ok(pod.value.volumes.some((v) => v.hostPath.path === "/etc/kubernetes/enc"));
            const kubeadm = await valueOf(output<string>(exports, "kubeadmClusterConfiguration"));
            for (const m of MEMBERS) {
                assert.ok(kubeadm.includes(`https://${m.ip}:2379`), kubeadm);
            }
            const arns = await valueOf(
                output<{ etcdClient: string; encryptionConfig: string }>(exports, "apiServerSecretArns"),
            );
            assert.equal(arns.etcdClient, stateOf(named("main-secrets-kube-apiserver-etcd-client"), "arn"));
            assert.equal(arns.encryptionConfig, stateOf(named("main-secrets-encryption-config"), "arn"));
        });
    });

    describe("bring-your-own", function () {
        let mocks: ProviderMocks;
        let exports: Exports;
        let config: Record<string, unknown>;
        before(async () => {
            const run = await runProgram(() => {
                config = useExampleConfig("bring-your-own");
                return loadExample("bring-your-own");
            });
            mocks = run.mocks;
            exports = run.result;
        });

        it("creates no KMS key, bucket, security group or topic: it uses the configured ones", () => {
            const created = Object.keys(mocks.countsByType((r) => r.type.startsWith("aws:"))).sort();
            assert.deepEqual(created, [
                "aws:cloudwatch/metricAlarm:MetricAlarm",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:secretsmanager/secret:Secret",
                "aws:secretsmanager/secretVersion:SecretVersion",
                // the record of the encryption key ring, which the rotation guard compares with
                "aws:ssm/parameter:Parameter",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            ]);
            for (const alarm of mocks.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) {
                assert.deepEqual(alarm.inputs.alarmActions, [config.alarmTopicArn], alarm.name);
            }
            for (const secret of mocks.ofType("aws:secretsmanager/secret:Secret")) {
                assert.equal(secret.inputs.kmsKeyId, config.secretsKmsKeyArn, secret.name);
                assert.match(secret.inputs.name as string, /^platform\/etcd\/main-[0-9a-f]{6}\//);
            }
            const rules = [
                ...mocks.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
                ...mocks.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
            ];
            assert.ok(rules.every((r) => r.inputs.securityGroupId === config.securityGroupId));
            // kube-apiserver's group may reach the client port, and only that.
            const fromClients = rules.filter(
                (r) => r.inputs.referencedSecurityGroupId === (config.clientSecurityGroupIds as string[])[0],
            );
            assert.deepEqual(
                fromClients.map((r) => [r.inputs.fromPort, r.inputs.toPort]),
                [[2379, 2379]],
            );
        });

        it("gives each existing role its own member's policy, with the configured bucket and key", async () => {
            const roles = config.memberRoleNames as string[];
            const policies = mocks.ofType("aws:iam/rolePolicy:RolePolicy");
            assert.deepEqual(
                policies.map((p) => p.inputs.role),
                roles,
            );
            const secretArns = await valueOf(output<Record<string, string>>(exports, "secretArns"));
            policies.forEach((policy, i) => {
                const document = policy.inputs.policy as string;
                assert.ok(document.includes(secretArns[`members/etcd-${i}`]), document);
                assert.ok(document.includes(`arn:aws:s3:::${config.backupBucketName as string}/`), document);
                assert.ok(document.includes(config.backupKmsKeyArn as string), document);
                roles.forEach((_, j) => {
                    assert.ok(j === i || !document.includes(secretArns[`members/etcd-${j}`]), `${i} reads ${j}`);
                });
            });
        });

        it("exports the bucket policy to apply to the configured bucket, and the restore policy", async () => {
            const bucketPolicy = await valueOf(output<string>(exports, "backupBucketPolicy"));
            assert.ok(bucketPolicy.includes(`arn:aws:s3:::${config.backupBucketName as string}`), bucketPolicy);
            assert.ok(bucketPolicy.includes(config.backupKmsKeyArn as string), bucketPolicy);
            assert.equal(await valueOf(output<string>(exports, "backupPrefix")), "etcd-backups/main/");
            assert.equal(await valueOf(output<string>(exports, "backupMetricsFilterId")), "secure-etcd-main");
            const restore = await valueOf(output<string>(exports, "backupRestorePolicy"));
            assert.ok(restore.includes(config.backupKmsKeyArn as string), restore);
            const userData = await valueOf(output<Record<string, string>>(exports, "memberUserData"));
            assert.deepEqual(Object.keys(userData), ["etcd-0", "etcd-1", "etcd-2"]);
            const servers = (config.memberIps as string[]).map((ip) => `https://${ip}:2379`);
            assert.deepEqual(
                (await valueOf(output<{ etcdServers: string[] }>(exports, "apiServer"))).etcdServers,
                servers,
            );
        });
    });
});
