// Composition into platform stacks: two clusters side by side in one stack, things the platform
// already has used instead of created, explicit providers reaching every child, and typed
// outputs feeding another component. Everything runs under the mocks.
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import {
    ApiServerFragment,
    ClientCredentials,
    EncryptionProvider,
    SecureEtcdCluster,
    SecureEtcdClusterArgs,
} from "../../src";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { ProviderMocks, Registration } from "../../testing/mocks";
import { resolve, runProgram, valueOf } from "../../testing/program";

const KEY = "aws:kms/key:Key";
const ALIAS = "aws:kms/alias:Alias";
const SECRET = "aws:secretsmanager/secret:Secret";
const GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";
const BUCKET = "aws:s3/bucket:Bucket";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const TOPIC = "aws:sns/topic:Topic";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

const EVENTS_MEMBERS = [
    // The same member names as THREE_MEMBERS on purpose: every platform calls its members etcd-0..2.
    { name: "etcd-0", ip: "10.0.2.10" },
    { name: "etcd-1", ip: "10.0.2.11" },
    { name: "etcd-2", ip: "10.0.2.12" },
];

/** Example ARNs and names of things a platform already has, in the provider's formats. */
const GIVEN = {
    secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
    backupKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1c2d3e4f-5061-4b7c-9d8e-0f1a2b3c4d5e",
    encryptionKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/2d3e4f50-6172-4c8d-8e9f-1a2b3c4d5e6f",
    securityGroupId: "sg-0a1b2c3d4e5f60789",
    backupBucketName: "acme-platform-etcd-backups",
    secretNamePrefix: "platform/etcd/",
    alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:platform-alarms",
};

/** Registrations by the cluster whose component name starts theirs (every child name does). */
function ofCluster(mocks: ProviderMocks, cluster: string): Registration[] {
    return mocks.registrations.filter((r) => r.name === cluster || r.name.startsWith(`${cluster}-`));
}

/**
 * The names a resource takes in AWS, by kind: they must be unique where AWS wants them unique
 * (per account and region, per role for inline policies, globally for buckets).
 */
function physicalNames(r: Registration): string[] {
    if (!r.custom || !r.type.startsWith("aws:")) {
        return [];
    }
    const i = r.inputs;
    const names: string[] = [];
    const add = (kind: string, value: unknown) => {
        if (typeof value === "string" && value !== "") {
            names.push(`${kind}=${value}`);
        }
    };
    if (r.type === ROLE_POLICY) {
        // Inline policy names are unique per role only.
        add("role-policy", `${i.role as string}/${i.name as string}`);
    } else if (r.type === BUCKET || r.type === "aws:s3/bucketV2:BucketV2") {
        add("bucket", i.bucket);
        add("bucket-prefix", i.bucketPrefix);
    } else {
        // `name`/`namePrefix` are the physical names of secrets, groups, aliases, roles, alarms...
        add(`${r.type} name`, i.name);
        add(`${r.type} name-prefix`, i.namePrefix);
    }
    add(`${r.type} Name tag`, (i.tags as Record<string, unknown> | undefined)?.Name);
    return names;
}

function duplicates(values: string[]): string[] {
    const seen = new Set<string>();
    const repeated = new Set<string>();
    for (const v of values) {
        if (seen.has(v)) {
            repeated.add(v);
        }
        seen.add(v);
    }
    return [...repeated];
}

/** `urn::id`, the form the engine (and so the mocks) record a provider reference in. */
async function providerRef(provider: pulumi.ProviderResource): Promise<string> {
    return `${await valueOf(provider.urn)}::${await valueOf(provider.id)}`;
}

describe("composition: two clusters in one stack", function () {
    let run: Awaited<ReturnType<typeof twoClusters>>;
    const twoClusters = () =>
        runProgram(() => {
            // One existing role on both: each cluster's inline policy must keep its own name.
            const shared = { vpcId: TEST_VPC_ID, backupWriterRoleNames: ["control-plane"] };
            return {
                main: new SecureEtcdCluster("main", { members: THREE_MEMBERS, ...shared }),
                events: new SecureEtcdCluster("events", { members: EVENTS_MEMBERS, ...shared }),
            };
        });
    before(async () => {
        run = await twoClusters();
    });

    it("collide on no URN: every type and name is registered once", () => {
        const { mocks } = run;
        // Both clusters' children have the same parent types, so the same type and name would be the same URN.
        const keys = mocks.registrations.map((r) => `${r.type}::${r.name}`);
        assert.deepEqual(duplicates(keys), []);
        // Every registration belongs to exactly one of the two (nothing shared, nothing unnamed).
        const main = ofCluster(mocks, "main");
        const events = ofCluster(mocks, "events");
        assert.equal(main.length + events.length, mocks.registrations.length);
        assert.equal(main.length, events.length, "the same resources for each");
        assert.ok(main.length > 50, `${main.length}`);
    });

    it("collide on no physical name: secrets, groups, buckets, inline policies, aliases, parameters, Name tags", () => {
        const { mocks } = run;
        const names = mocks.registrations.flatMap(physicalNames);
        assert.deepEqual(duplicates(names), []);
        // The check saw what matters (a check of nothing passes too).
        const kinds = (prefix: string) => names.filter((n) => n.startsWith(prefix)).length;
        assert.equal(kinds(`${SECRET} name=`), mocks.ofType(SECRET).length);
        assert.ok(mocks.ofType(SECRET).length >= 2 * (3 + 4));
        assert.equal(kinds("bucket="), 2);
        assert.equal(kinds("role-policy=control-plane/"), 2);
        assert.equal(kinds(`${GROUP} Name tag=`), 2);
        // Each cluster's records (the guards' memory: key ring, CA rotation stages, member set) are its own.
        assert.equal(kinds("aws:ssm/parameter:Parameter name="), 2 * 3);
        // Aliases name KMS keys account-wide; the component creates none today, and any it adds must differ.
        assert.equal(kinds(`${ALIAS} name=`), mocks.ofType(ALIAS).length);
    });

    it("keep their Secrets Manager names, backup prefixes, buckets and groups apart", async () => {
        const { result, mocks } = run;
        const secretNames = (cluster: string) =>
            ofCluster(mocks, cluster)
                .filter((r) => r.type === SECRET)
                .map((r) => r.inputs.name as string);
        const mainNames = secretNames("main");
        const eventsNames = secretNames("events");
        assert.ok(
            mainNames.every((n) => /^secure-etcd\/main-[0-9a-f]{6}\//.test(n)),
            mainNames.join("\n"),
        );
        assert.ok(
            eventsNames.every((n) => /^secure-etcd\/events-[0-9a-f]{6}\//.test(n)),
            eventsNames.join("\n"),
        );
        // Both have members/etcd-0: only the base name tells them apart.
        assert.ok(mainNames.some((n) => n.endsWith("/members/etcd-0")));
        assert.ok(eventsNames.some((n) => n.endsWith("/members/etcd-0")));

        const { main, events } = result;
        assert.equal(await valueOf(main.backupPrefix), "etcd-backups/main/");
        assert.equal(await valueOf(events.backupPrefix), "etcd-backups/events/");
        const mainBucket = (await valueOf(main.backupBucketName))!;
        const eventsBucket = (await valueOf(events.backupBucketName))!;
        assert.match(mainBucket, /^etcd-backup-main-[0-9a-f]+$/);
        assert.match(eventsBucket, /^etcd-backup-events-[0-9a-f]+$/);
        // Each writer may write its own prefix in its own bucket and nothing of the other's.
        const mainWriter = (await valueOf(main.backupWriterPolicy))!;
        assert.ok(mainWriter.includes(`${mainBucket}/etcd-backups/main/`), mainWriter);
        assert.ok(!mainWriter.includes(eventsBucket) && !mainWriter.includes("etcd-backups/events/"), mainWriter);

        const mainGroup = await valueOf(main.securityGroupId);
        const eventsGroup = await valueOf(events.securityGroupId);
        assert.notEqual(mainGroup, eventsGroup);
        // Every rule lands on its own cluster's group, and peers are admitted from it alone.
        for (const [cluster, group] of [
            ["main", mainGroup],
            ["events", eventsGroup],
        ]) {
            const rules = ofCluster(mocks, cluster).filter((r) => r.type === INGRESS || r.type === EGRESS);
            assert.ok(rules.length > 0);
            for (const rule of rules) {
                assert.equal(rule.inputs.securityGroupId, group, rule.name);
                if (rule.inputs.referencedSecurityGroupId !== undefined) {
                    assert.equal(rule.inputs.referencedSecurityGroupId, group, rule.name);
                }
            }
        }

        // Each member reads its own cluster's secret only.
        const mainArns = Object.values(await valueOf(main.secretArns));
        const eventsArns = Object.values(await valueOf(events.secretArns));
        assert.equal(mainArns.filter((a) => eventsArns.includes(a)).length, 0);
        const policy = (await valueOf(main.memberSecretsPolicies))["etcd-0"];
        assert.ok(
            eventsArns.every((arn) => !policy.includes(arn)),
            policy,
        );
    });

    it("may share one bucket and backup key they bring, each under its own prefix", async () => {
        const { result } = await runProgram(() => {
            const shared = {
                vpcId: TEST_VPC_ID,
                backupBucketName: GIVEN.backupBucketName,
                backupKmsKeyArn: GIVEN.backupKmsKeyArn,
            };
            return {
                main: new SecureEtcdCluster("main", { members: THREE_MEMBERS, ...shared }),
                events: new SecureEtcdCluster("events", { members: EVENTS_MEMBERS, ...shared }),
            };
        });
        const { main, events } = result;
        // A bucket has one policy: with one key, both clusters ask for the same document.
        assert.equal(await valueOf(main.backupBucketPolicy), await valueOf(events.backupBucketPolicy));
        for (const [own, other, cluster] of [
            ["etcd-backups/main/", "etcd-backups/events/", main],
            ["etcd-backups/events/", "etcd-backups/main/", events],
        ] as const) {
            assert.equal(await valueOf(cluster.backupPrefix), own);
            for (const document of [
                (await valueOf(cluster.backupWriterPolicy))!,
                (await valueOf(cluster.backupRestorePolicy))!,
            ]) {
                assert.ok(document.includes(own) && !document.includes(other), document);
            }
        }
        // The S3 metrics configurations the alarms read (created by the bucket's owner) differ too.
        assert.notEqual(await valueOf(main.backupMetricsFilterId), await valueOf(events.backupMetricsFilterId));
    });
});

describe("composition: bring your own", function () {
    const build = (args: Partial<SecureEtcdClusterArgs>) =>
        runProgram(() => new SecureEtcdCluster("byo", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }));
    const count = (mocks: ProviderMocks, type: string) => mocks.ofType(type).length;
    const keyNames = (mocks: ProviderMocks) =>
        mocks
            .ofType(KEY)
            .map((r) => r.name)
            .sort();
    /** A cluster given nothing, and its KMS keys: each test below expects exactly one of them gone. */
    let baseline: ProviderMocks;
    let createdKeys: string[];
    const keysBut = (missing: string) => {
        assert.ok(createdKeys.includes(missing), `${missing} is not a created key: ${createdKeys.join(", ")}`);
        return createdKeys.filter((k) => k !== missing);
    };

    before(async () => {
        baseline = (await build({})).mocks;
        createdKeys = keyNames(baseline);
    });

    it("creates keys for secrets, backups and alarms, a group, a bucket and a topic when given nothing", () => {
        for (const key of ["byo-backup-kms-key", "byo-secrets-kms-key"]) {
            assert.ok(createdKeys.includes(key), key);
        }
        assert.equal(count(baseline, GROUP), 1);
        assert.equal(count(baseline, BUCKET), 1);
        assert.equal(count(baseline, TOPIC), 1);
    });

    it("secretsKmsKeyArn: every secret is encrypted under it, and no secrets key is created", async () => {
        const { result, mocks } = await build({ secretsKmsKeyArn: GIVEN.secretsKmsKeyArn });
        assert.deepEqual(keyNames(mocks), keysBut("byo-secrets-kms-key"));
        assert.ok(count(mocks, SECRET) > 0);
        for (const secret of mocks.ofType(SECRET)) {
            assert.equal(secret.inputs.kmsKeyId, GIVEN.secretsKmsKeyArn, secret.name);
        }
        assert.equal(await valueOf(result.secretsKmsKeyArn), GIVEN.secretsKmsKeyArn);
        // The members' read policies may decrypt with it.
        const policy = (await valueOf(result.memberSecretsPolicies))["etcd-0"];
        assert.ok(policy.includes(GIVEN.secretsKmsKeyArn), policy);
    });

    it("backupKmsKeyArn: the bucket encrypts under it, and no backup key is created", async () => {
        const { result, mocks } = await build({ backupKmsKeyArn: GIVEN.backupKmsKeyArn });
        assert.deepEqual(keyNames(mocks), keysBut("byo-backup-kms-key"));
        const sse = mocks.named("byo-backup-encryption");
        const rules = sse.inputs.rules as { applyServerSideEncryptionByDefault: { kmsMasterKeyId: string } }[];
        assert.equal(rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId, GIVEN.backupKmsKeyArn);
        assert.equal(await valueOf(result.backupKmsKeyArn), GIVEN.backupKmsKeyArn);
        assert.ok((await valueOf(result.backupWriterPolicy))!.includes(GIVEN.backupKmsKeyArn));
    });

    it("encryptionKmsKeyArn (kms): the plugin and its policy use it, and no encryption key is created", async () => {
        const kms = {
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: "registry.example/aws-encryption-provider:v0.5.0",
        };
        const created = keyNames((await build(kms)).mocks);
        assert.deepEqual(created, [...createdKeys, "byo-encryption-kms-key"].sort());
        const { result, mocks } = await build({ ...kms, encryptionKmsKeyArn: GIVEN.encryptionKmsKeyArn });
        assert.deepEqual(keyNames(mocks), createdKeys);
        assert.equal(await valueOf(result.encryptionKmsKeyArn), GIVEN.encryptionKmsKeyArn);
        assert.ok((await valueOf(result.kmsPluginManifest))!.includes(GIVEN.encryptionKmsKeyArn));
        assert.ok((await valueOf(result.kmsPluginPolicy))!.includes(GIVEN.encryptionKmsKeyArn));
    });

    it("securityGroupId: the rules go on it, and no group is created", async () => {
        const { result, mocks } = await build({ vpcId: undefined, securityGroupId: GIVEN.securityGroupId });
        assert.equal(count(mocks, GROUP), 0);
        assert.equal(await valueOf(result.securityGroupId), GIVEN.securityGroupId);
        const rules = [...mocks.ofType(INGRESS), ...mocks.ofType(EGRESS)];
        assert.equal(rules.length, 4);
        for (const rule of rules) {
            assert.equal(rule.inputs.securityGroupId, GIVEN.securityGroupId, rule.name);
        }
    });

    it("backupBucketName: no bucket resources, and the policies and node files name it", async () => {
        const { result, mocks } = await build({ backupBucketName: GIVEN.backupBucketName });
        assert.deepEqual(
            mocks.registrations.filter((r) => r.type.startsWith("aws:s3/")).map((r) => r.type),
            [],
        );
        // Nor the bucket name's random part: the only RandomId left is the secrets' name suffix.
        assert.deepEqual(
            mocks.ofType("random:index/randomId:RandomId").map((r) => r.name),
            ["byo-secrets-suffix"],
        );
        assert.equal(await valueOf(result.backupBucketName), GIVEN.backupBucketName);
        assert.equal(await valueOf(result.backupBucketArn), `arn:aws:s3:::${GIVEN.backupBucketName}`);
        assert.ok((await valueOf(result.backupBucketPolicy))!.includes(`arn:aws:s3:::${GIVEN.backupBucketName}`));
        assert.ok((await valueOf(result.backupWriterPolicy))!.includes(`arn:aws:s3:::${GIVEN.backupBucketName}/`));
        const files = (await valueOf(result.nodeFiles))["etcd-1"];
        const agentConfig = files.find((f) => f.path.endsWith("/backup.json"));
        assert.ok(agentConfig, files.map((f) => f.path).join("\n"));
        assert.equal((JSON.parse(agentConfig.content) as { bucket: string }).bucket, GIVEN.backupBucketName);
    });

    it("alarmTopicArn: the backup alarms notify it, and no topic or topic key is created", async () => {
        const { result, mocks } = await build({ alarmTopicArn: GIVEN.alarmTopicArn });
        assert.equal(count(mocks, TOPIC), 0);
        // The topic's own key goes with it.
        const topicKeys = createdKeys.filter((k) => k.includes("topic"));
        assert.equal(topicKeys.length, 1, createdKeys.join(", "));
        assert.deepEqual(keyNames(mocks), keysBut(topicKeys[0]));
        assert.equal(await valueOf(result.alarmTopicArn), GIVEN.alarmTopicArn);
        assert.ok(count(mocks, ALARM) > 0);
        for (const alarm of mocks.ofType(ALARM)) {
            assert.deepEqual(alarm.inputs.alarmActions, [GIVEN.alarmTopicArn], alarm.name);
        }
    });

    it("secretNamePrefix: every secret is named under it", async () => {
        const { mocks } = await build({ secretNamePrefix: GIVEN.secretNamePrefix });
        assert.ok(count(mocks, SECRET) > 0);
        for (const secret of mocks.ofType(SECRET)) {
            assert.match(secret.inputs.name as string, /^platform\/etcd\/byo-[0-9a-f]{6}\//, secret.name);
        }
    });

    it("all of them at once: no KMS key, bucket, group or topic is created", async () => {
        const { mocks } = await runProgram(
            () =>
                new SecureEtcdCluster("byo", {
                    members: THREE_MEMBERS,
                    ...GIVEN,
                    encryptionProvider: EncryptionProvider.Kms,
                    kmsPluginImage: "registry.example/aws-encryption-provider:v0.5.0",
                }),
        );
        const awsTypes = Object.keys(mocks.countsByType((r) => r.type.startsWith("aws:"))).sort();
        const brought = awsTypes.filter((t) => [KEY, GROUP, TOPIC].includes(t) || t.startsWith("aws:s3/"));
        assert.deepEqual(brought, [], awsTypes.join("\n"));
        // What is left is the cluster's own: its secrets, the rules on the given group, the alarms.
        for (const type of [SECRET, INGRESS, EGRESS]) {
            assert.ok(awsTypes.includes(type), type);
        }
    });
});

describe("composition: explicit providers", function () {
    const members = [{ name: "solo", ip: "10.0.0.5" }];
    /** Every registration of a package's resources, which must all go through `expected`. */
    const expectAll = (mocks: ProviderMocks, pkg: string, expected: string) => {
        const children = mocks.registrations.filter((r) => r.custom && r.type.startsWith(`${pkg}:`));
        assert.ok(children.length > 0, `no ${pkg} resources`);
        for (const child of children) {
            assert.equal(child.provider, expected, `${child.type} ${child.name}`);
        }
        return children.length;
    };
    const expectInvokes = (mocks: ProviderMocks, expected: string) => {
        const invokes = mocks.invokes.filter((i) => i.token.startsWith("aws:"));
        // Region, partition, account, and the key ring the rotation guard reads.
        assert.ok(invokes.length >= 4, `${invokes.length} invokes`);
        for (const invoke of invokes) {
            assert.equal(invoke.provider, expected, invoke.token);
        }
    };

    it("`providers` for aws (another region), tls and random: every child and invoke uses them", async () => {
        const { result, mocks } = await runProgram(() => {
            const providers = {
                aws: new aws.Provider("aws-eu", { region: "eu-west-1" }),
                tls: new tls.Provider("tls-explicit"),
                random: new random.Provider("random-explicit"),
            };
            const cluster = new SecureEtcdCluster("prov", { members, vpcId: TEST_VPC_ID }, { providers });
            return { cluster, providers };
        });
        const { aws: awsEu, tls: tlsP, random: randomP } = result.providers;
        const counts = {
            aws: expectAll(mocks, "aws", await providerRef(awsEu)),
            tls: expectAll(mocks, "tls", await providerRef(tlsP)),
            random: expectAll(mocks, "random", await providerRef(randomP)),
        };
        assert.ok(counts.aws >= 10 && counts.tls >= 10 && counts.random >= 3, JSON.stringify(counts));
        expectInvokes(mocks, await providerRef(awsEu));
    });

    it("`provider` (aws): every aws child and invoke uses it; the other packages keep their defaults", async () => {
        const { result, mocks } = await runProgram(() => {
            const provider = new aws.Provider("aws-eu", { region: "eu-west-1" });
            const cluster = new SecureEtcdCluster("prov", { members, vpcId: TEST_VPC_ID }, { provider });
            return { cluster, provider };
        });
        const ref = await providerRef(result.provider);
        expectAll(mocks, "aws", ref);
        expectInvokes(mocks, ref);
        const others = mocks.registrations.filter((r) => /^(tls|random):/.test(r.type));
        assert.ok(others.every((r) => r.provider !== ref));
    });

    it("inherits the providers of a platform component it is created in", async () => {
        const { result, mocks } = await runProgram(() => {
            const awsEu = new aws.Provider("aws-eu", { region: "eu-west-1" });
            const platform = new PlatformStack("platform", { providers: [awsEu] });
            new SecureEtcdCluster("nested", { members, vpcId: TEST_VPC_ID }, { parent: platform });
            return awsEu;
        });
        const ref = await providerRef(result);
        expectAll(mocks, "aws", ref);
        expectInvokes(mocks, ref);
    });
});

/** A platform's own wrapper component: its children inherit its providers. */
class PlatformStack extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("platform:index:Stack", name, {}, opts);
        this.registerOutputs({});
    }
}

// ------------------------------------------------------------------ typed outputs downstream

interface KubeApiServerArgs {
    /** The etcd side of kube-apiserver, exactly as SecureEtcdCluster gives it. */
    etcd: pulumi.Input<ApiServerFragment>;
    /** The IAM policy its nodes need to fetch their etcd client bundle. */
    etcdSecretsPolicy: pulumi.Input<string>;
    /** Where its nodes find their etcd client credentials (kept secret). */
    etcdClient: pulumi.Input<ClientCredentials>;
    securityGroupIds: pulumi.Input<string>[];
}

/** A stand-in for a platform's control-plane component that consumes the cluster's outputs. */
class KubeApiServer extends pulumi.ComponentResource {
    public readonly command: pulumi.Output<string[]>;

    constructor(name: string, args: KubeApiServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:index:KubeApiServer", name, {}, opts);
        this.command = pulumi
            .output(args.etcd)
            .apply((etcd) => [
                "kube-apiserver",
                "--secure-port=6443",
                "--service-cluster-ip-range=10.96.0.0/12",
                ...etcd.flags,
            ]);
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(`${name}-etcd`, { role: role.name, policy: args.etcdSecretsPolicy }, { parent: this });
        new aws.ec2.LaunchTemplate(
            `${name}-template`,
            {
                vpcSecurityGroupIds: args.securityGroupIds,
                userData: this.command.apply((c) => Buffer.from(`#!/bin/sh\nexec ${c.join(" ")}\n`).toString("base64")),
            },
            { parent: this },
        );
        new aws.ssm.Parameter(
            `${name}-etcd-client`,
            { type: "SecureString", value: pulumi.output(args.etcdClient).apply((c) => JSON.stringify(c)) },
            { parent: this },
        );
        this.registerOutputs({ command: this.command });
    }
}

describe("composition: typed outputs feed other components", function () {
    it("kube-apiserver takes flags, policy, credentials and group from the cluster's outputs", async () => {
        const { result, mocks } = await runProgram(() => {
            const etcd = new SecureEtcdCluster("main", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID });
            const apiServer = new KubeApiServer("apiserver", {
                etcd: etcd.apiServer,
                etcdSecretsPolicy: etcd.apiServerSecretsPolicy,
                etcdClient: etcd.clientCredentials.apply((c) => c["kube-apiserver-etcd-client"]),
                securityGroupIds: [etcd.securityGroupId],
            });
            return { etcd, apiServer };
        });
        const { etcd, apiServer } = result;
        const command = await valueOf(apiServer.command);
        assert.ok(
            command.includes("--etcd-servers=https://10.0.1.10:2379,https://10.0.1.11:2379,https://10.0.1.12:2379"),
            command.join(" "),
        );
        for (const flag of (await valueOf(etcd.apiServer)).flags) {
            assert.ok(command.includes(flag), flag);
        }

        const template = mocks.named("apiserver-template");
        const userData = Buffer.from(template.inputs.userData as string, "base64").toString();
        assert.ok(userData.includes("--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt"), userData);
        assert.deepEqual(template.inputs.vpcSecurityGroupIds, [await valueOf(etcd.securityGroupId)]);
        assert.deepEqual(template.secretInputs, [], "the fragment holds no secret");

        // The policy arrives as the cluster rendered it, and the engine orders it after the secrets it names.
        const policy = mocks.named("apiserver-etcd");
        assert.equal(policy.inputs.policy, await valueOf(etcd.apiServerSecretsPolicy));
        const dependencies = mocks.optionsOf(policy)?.dependencies ?? [];
        assert.ok(
            dependencies.some((urn) => urn.includes(`$${SECRET}::main-secrets-kube-apiserver-etcd-client`)),
            dependencies.join("\n"),
        );

        // Secret in, secret out: the client key stays secret in the other component's resource.
        const parameter = mocks.named("apiserver-etcd-client");
        assert.deepEqual(parameter.secretInputs, ["value"]);
        const stored = JSON.parse(parameter.inputs.value as string) as ClientCredentials;
        assert.match(stored.keyPem, /PRIVATE KEY/);
        assert.equal(stored.caCertPem, await valueOf(etcd.caCertPem));
        assert.equal((await resolve(apiServer.command)).secret, false);
    });
});
