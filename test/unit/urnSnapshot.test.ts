// The safety net for refactors: every child's URN (its parent type chain, type and name) for a
// default, a richly configured, a KMS and a bring-your-own cluster, compared with a committed
// snapshot. A URN that disappears is a resource `pulumi up` would delete and create anew, unless
// a resource registered now carries an alias that stands for it (declared beside the component;
// none is needed so far: the move into concern folders kept every child's type, name and parent).
// A new URN fails too, so every change to the resource graph is seen
// in review: rewrite the snapshot with `npm run snapshot:urns` when the change is intended.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    BackupObjectLockMode,
    EncryptionProvider,
    EtcdPermission,
    KeyAlgorithm,
    SecureEtcdCluster,
    SecureEtcdClusterArgs,
} from "../../src";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { MOCK_CALLER_ARN } from "../../testing/awsEmulator";
import { runProgram } from "../../testing/program";

const SNAPSHOT = path.join(__dirname, "../../../test/unit/urn-snapshot.json");

const CONFIGURATIONS: Record<string, SecureEtcdClusterArgs> = {
    default: { members: THREE_MEMBERS, vpcId: TEST_VPC_ID },
    rich: {
        members: [
            ...THREE_MEMBERS,
            { name: "etcd-3", ip: "10.0.1.13" },
            { name: "etcd-4", ip: "10.0.1.14", dnsNames: ["etcd-4.internal"] },
        ],
        vpcId: TEST_VPC_ID,
        keyAlgorithm: KeyAlgorithm.Rsa2048,
        clients: [{ name: "auditor", roles: ["events-reader"] }, { name: "nobody" }],
        etcdRoles: [{ name: "events-reader", permissions: [{ key: "/events/", permission: EtcdPermission.Read }] }],
        clientSecurityGroupIds: ["sg-0123456789abcdef0"],
        clientCidrs: ["10.0.8.0/24"],
        metricsSecurityGroupIds: ["sg-0fedcba9876543210"],
        hostFirewallMetricsCidrs: ["10.0.9.0/24"],
        encryptionKeyNames: ["key-2", "key-1"],
        backupObjectLockMode: BackupObjectLockMode.Governance,
        backupWriterRoleNames: ["etcd-member-role"],
        backupReaderRoleNames: ["etcd-restore-role"],
        backupAccessLogBucketName: "acme-s3-access-logs",
        keyAdministratorArns: [MOCK_CALLER_ARN, "arn:aws:iam::123456789012:role/platform-admin"],
        memberRoleNames: ["etcd-member-role"],
        apiServerRoleNames: ["kube-apiserver-role"],
        secretsVpcEndpointIds: ["vpce-0a1b2c3d4e5f60718"],
        backupVpcEndpointIds: ["vpce-1a2b3c4d"],
    },
    kms: {
        members: THREE_MEMBERS,
        vpcId: TEST_VPC_ID,
        encryptionProvider: EncryptionProvider.Kms,
        kmsPluginImage: "registry.example/aws-encryption-provider:v0.5.0",
    },
    bringYourOwn: {
        members: THREE_MEMBERS,
        securityGroupId: "sg-0a1b2c3d4e5f60789",
        secretsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
        backupBucketName: "acme-platform-etcd-backups",
        backupKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1c2d3e4f-5061-4b7c-9d8e-0f1a2b3c4d5e",
        encryptionProvider: EncryptionProvider.Kms,
        encryptionKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/2d3e4f50-6172-4c8d-8e9f-1a2b3c4d5e6f",
        kmsPluginImage: "registry.example/aws-encryption-provider:v0.5.0",
        alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:platform-alarms",
    },
};

interface Graph {
    /** Every URN registered, sorted. */
    urns: string[];
    /** URN -> the URNs its aliases stand for. */
    aliases: Map<string, string[]>;
}

async function graphOf(args: SecureEtcdClusterArgs): Promise<Graph> {
    const { mocks } = await runProgram(() => new SecureEtcdCluster("prod", args), {
        project: "platform",
        stack: "prod",
    });
    const aliases = new Map<string, string[]>();
    for (const r of mocks.registrations) {
        const options = mocks.optionsOf(r);
        assert.ok(options, `${r.type} ${r.name}: no options recorded`);
        aliases.set(options.urn, options.aliases);
    }
    return { urns: [...aliases.keys()].sort(), aliases };
}

describe("URN snapshot (nothing a user deployed is replaced by a refactor)", function () {
    this.timeout(120_000);
    const graphs: Record<string, Graph> = {};

    before(async () => {
        for (const [name, args] of Object.entries(CONFIGURATIONS)) {
            graphs[name] = await graphOf(args);
        }
        if (process.env.UPDATE_URN_SNAPSHOT === "1") {
            // A released URN that an alias carries stays listed: users may still have it deployed.
            const previous = fs.existsSync(SNAPSHOT)
                ? (JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as Record<string, string[]>)
                : {};
            const rewritten = Object.fromEntries(
                Object.entries(graphs).map(([name, g]) => {
                    const carried = new Set([...g.aliases.values()].flat());
                    const released = (previous[name] ?? []).filter((urn) => carried.has(urn));
                    return [name, [...new Set([...g.urns, ...released])].sort()];
                }),
            );
            fs.writeFileSync(SNAPSHOT, JSON.stringify(rewritten, null, 2) + "\n");
        }
    });

    let snapshot: Record<string, string[]> = {};
    before(() => {
        snapshot = JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")) as Record<string, string[]>;
    });

    it("covers the same configurations as the snapshot", () => {
        assert.deepEqual(Object.keys(snapshot).sort(), Object.keys(CONFIGURATIONS).sort());
    });

    for (const name of Object.keys(CONFIGURATIONS)) {
        it(`${name}: every deployed URN is still registered, or an alias carries it`, () => {
            const now = new Set(graphs[name].urns);
            const carried = new Set([...graphs[name].aliases.values()].flat());
            const replaced = snapshot[name].filter((urn) => !now.has(urn) && !carried.has(urn));
            assert.deepEqual(replaced, [], "these resources would be deleted and created anew: add an alias");
        });

        it(`${name}: no URN appears that the snapshot does not list (npm run snapshot:urns when intended)`, () => {
            const known = new Set(snapshot[name]);
            const carriers = [...graphs[name].aliases.entries()].filter(([, a]) => a.some((u) => known.has(u)));
            const moved = new Set(carriers.map(([urn]) => urn));
            const added = graphs[name].urns.filter((urn) => !known.has(urn) && !moved.has(urn));
            assert.deepEqual(added, []);
        });
    }

    it("the snapshot holds every kind of child, under the component's type", () => {
        const all = Object.values(snapshot).flat();
        assert.ok(all.length > 200, `${all.length} URNs`);
        const component = all.filter((u) => u.includes("::secure-etcd:index:SecureEtcdCluster::"));
        assert.equal(component.length, Object.keys(CONFIGURATIONS).length);
        assert.ok(all.every((u) => u.startsWith("urn:pulumi:prod::platform::secure-etcd:index:SecureEtcdCluster")));
    });
});
