// Network access control: the exact security-group rule set for default and custom arguments,
// a bring-your-own group, and every source that is refused before anything is created.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { isOpenToWorld, parseCidr, sourceCidrProblem } from "../../src/network/networkRules";
import { buildCluster, rejectedArgs, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { valueOf } from "../../testing/program";
import { ProviderMocks } from "../../testing/mocks";

const GROUP = "aws:ec2/securityGroup:SecurityGroup";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";

interface RuleView {
    direction: "in" | "out";
    port: number;
    from: string;
}

/** Every rule as `direction port source`, the group itself written as `self`. */
function rulesOf(mocks: ProviderMocks, groupId: string): RuleView[] {
    const view = (direction: "in" | "out") => (r: { inputs: Record<string, unknown> }) => {
        const i = r.inputs;
        assert.equal(i.securityGroupId, groupId, "every rule is on the etcd group");
        assert.equal(i.ipProtocol, "tcp");
        assert.equal(i.fromPort, i.toPort, "one port per rule");
        assert.ok(typeof i.description === "string" && i.description.length > 10, "a rule says what it is for");
        assert.ok(i.description.length <= 255, "AWS's description limit");
        const sources = ["referencedSecurityGroupId", "cidrIpv4", "cidrIpv6", "prefixListId"].filter(
            (k) => i[k] !== undefined,
        );
        assert.equal(sources.length, 1, "one source per rule");
        const from = i[sources[0]] === groupId ? "self" : (i[sources[0]] as string);
        return { direction, port: i.fromPort as number, from };
    };
    return [...mocks.ofType(INGRESS).map(view("in")), ...mocks.ofType(EGRESS).map(view("out"))].sort((a, b) =>
        `${a.direction}${a.port}${a.from}`.localeCompare(`${b.direction}${b.port}${b.from}`),
    );
}

async function groupIdOf(cluster: SecureEtcdCluster): Promise<string> {
    return new Promise((resolve) => cluster.securityGroupId.apply(resolve));
}

describe("network: the etcd security group", function () {
    it("by default admits 2379 and 2380 from the members only, no metrics rule, egress only between members", async () => {
        const { cluster, mocks } = await buildCluster({ members: THREE_MEMBERS });
        const groups = mocks.ofType(GROUP);
        assert.equal(groups.length, 1);
        assert.equal(groups[0].inputs.vpcId, TEST_VPC_ID);
        assert.equal(groups[0].inputs.ingress, undefined, "no inline rules");
        assert.equal(groups[0].inputs.egress, undefined, "no inline rules");
        const id = await groupIdOf(cluster);
        assert.match(id, /^sg-[0-9a-f]{17}$/);
        assert.deepEqual(rulesOf(mocks, id), [
            { direction: "in", port: 2379, from: "self" },
            { direction: "in", port: 2380, from: "self" },
            { direction: "out", port: 2379, from: "self" },
            { direction: "out", port: 2380, from: "self" },
        ]);
    });

    it("admits named client groups and CIDRs to 2379 only, and a monitoring group to 2381", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            clientSecurityGroupIds: ["sg-0apiserver0000001", pulumi.output("sg-0backup000000002")],
            clientCidrs: ["10.0.2.0/24", "fd00:0:0:2::/64", "10.0.3.7"],
            hostFirewallClientCidrs: ["10.0.2.0/24"],
            metricsSecurityGroupIds: ["sg-0prometheus00003"],
            hostFirewallMetricsCidrs: ["10.0.9.0/24"],
        });
        const id = await groupIdOf(cluster);
        assert.deepEqual(rulesOf(mocks, id), [
            { direction: "in", port: 2379, from: "10.0.2.0/24" },
            { direction: "in", port: 2379, from: "10.0.3.7/32" },
            { direction: "in", port: 2379, from: "fd00:0:0:2::/64" },
            { direction: "in", port: 2379, from: "self" },
            { direction: "in", port: 2379, from: "sg-0apiserver0000001" },
            { direction: "in", port: 2379, from: "sg-0backup000000002" },
            { direction: "in", port: 2380, from: "self" },
            { direction: "in", port: 2381, from: "sg-0prometheus00003" },
            { direction: "out", port: 2379, from: "self" },
            { direction: "out", port: 2380, from: "self" },
        ]);
        // Exposed metrics: etcd serves them on the member's address as well as on loopback.
        const manifest = YAML.parse((await valueOf(cluster.etcdManifests))["etcd-1"]) as {
            spec: { containers: { command: string[] }[] };
        };
        assert.ok(
            manifest.spec.containers[0].command.includes(
                "--listen-metrics-urls=http://127.0.0.1:2381,http://10.0.1.11:2381",
            ),
        );
    });

    it("keeps metrics on loopback when no monitoring group is named", async () => {
        const { cluster } = await buildCluster({ members: THREE_MEMBERS });
        const manifest = (await valueOf(cluster.etcdManifests))["etcd-1"];
        assert.ok(manifest.includes("--listen-metrics-urls=http://127.0.0.1:2381\n"), manifest);
    });

    it("adds the rules to a group you bring, and creates none", async () => {
        const { cluster, mocks } = await buildCluster({
            members: THREE_MEMBERS,
            securityGroupId: "sg-0given0000000001",
        });
        assert.equal(mocks.ofType(GROUP).length, 0);
        assert.equal(await groupIdOf(cluster), "sg-0given0000000001");
        assert.equal(rulesOf(mocks, "sg-0given0000000001").length, 4);
    });

    it("names every rule after the component, so two clusters never collide", async () => {
        const { mocks } = await buildCluster({ members: THREE_MEMBERS }, "events");
        const names = [...mocks.ofType(INGRESS), ...mocks.ofType(EGRESS), ...mocks.ofType(GROUP)].map((r) => r.name);
        assert.ok(
            names.every((n) => n.startsWith("events-network-")),
            names.join(","),
        );
    });
});

describe("network: refused sources", function () {
    /** The problems' paths and reasons; the arguments are taken as given (no VPC added). */
    const problems = async (args: Partial<SecureEtcdClusterArgs>) =>
        (await rejectedArgs({ members: THREE_MEMBERS, ...args }, true)).errors ?? [];
    const expectProblem = async (args: Partial<SecureEtcdClusterArgs>, path: string, fragment: string) => {
        const found = await problems(args);
        const problem = found.find((p) => p.propertyPath === path);
        assert.ok(problem, `no problem at ${path}: ${JSON.stringify(found)}`);
        assert.ok(problem.reason.includes(fragment), problem.reason);
    };
    const vpc = { vpcId: TEST_VPC_ID };

    it("requires a VPC or a security group", () => expectProblem({}, "vpcId", "securityGroupId"));
    it("refuses 0.0.0.0/0 and ::/0, saying what to name instead", async () => {
        await expectProblem({ ...vpc, clientCidrs: ["0.0.0.0/0"] }, "clientCidrs[0]", "whole internet");
        await expectProblem({ ...vpc, clientCidrs: ["10.0.2.0/24", "::/0"] }, "clientCidrs[1]", "whole internet");
    });
    it("refuses CIDRs wider than the limit, and the limit is configurable", async () => {
        await expectProblem({ ...vpc, clientCidrs: ["10.0.0.0/8"] }, "clientCidrs[0]", "wider than /16");
        await expectProblem({ ...vpc, clientCidrs: ["fd00::/48"] }, "clientCidrs[0]", "wider than /56");
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            clientCidrs: ["10.0.0.0/8"],
            minClientCidrPrefixLength: 8,
        });
        assert.equal(mocks.ofType(INGRESS).filter((r) => r.inputs.cidrIpv4 === "10.0.0.0/8").length, 1);
        await expectProblem({ ...vpc, minClientCidrPrefixLength: 0 }, "minClientCidrPrefixLength", "1 to 32");
    });
    it("refuses what is not a CIDR", () =>
        expectProblem({ ...vpc, clientCidrs: ["10.0.2.0/33"] }, "clientCidrs[0]", "not a CIDR"));
    it("checks the host firewall's sources like the group's", () =>
        expectProblem({ ...vpc, hostFirewallClientCidrs: ["0.0.0.0/0"] }, "hostFirewallClientCidrs[0]", "internet"));
    it("refuses clients by group that the host firewall would drop, naming both ways out", () =>
        expectProblem(
            { ...vpc, clientSecurityGroupIds: ["sg-0apiserver0000001"] },
            "hostFirewallClientCidrs",
            "hostFirewall: false",
        ));
    it("accepts clients by group alone when the host firewall is off", async () => {
        const { mocks } = await buildCluster({
            members: THREE_MEMBERS,
            clientSecurityGroupIds: ["sg-0apiserver0000001"],
            hostFirewall: false,
        });
        assert.equal(mocks.ofType(INGRESS).length, 3);
    });
    it("refuses scrapers by group that the host firewall would drop, and host metrics sources without a group", async () => {
        await expectProblem(
            { ...vpc, metricsSecurityGroupIds: ["sg-0prometheus00003"] },
            "hostFirewallMetricsCidrs",
            "cannot see",
        );
        await expectProblem(
            { ...vpc, hostFirewallMetricsCidrs: ["10.0.9.0/24"] },
            "hostFirewallMetricsCidrs",
            "loopback",
        );
    });
});

describe("network: source predicates (shared with the policy pack)", function () {
    it("canonicalizes CIDRs and bare addresses", () => {
        assert.deepEqual(parseCidr("10.0.2.7/24"), { family: "ipv4", cidr: "10.0.2.0/24", prefixLength: 24 });
        assert.deepEqual(parseCidr("10.0.3.7"), { family: "ipv4", cidr: "10.0.3.7/32", prefixLength: 32 });
        assert.deepEqual(parseCidr("fd00:0:0:2::9/64"), { family: "ipv6", cidr: "fd00:0:0:2::/64", prefixLength: 64 });
    });
    it("knows the whole internet however it is written", () => {
        for (const open of ["0.0.0.0/0", "::/0", "10.1.2.3/0", "0:0::/0"]) {
            assert.equal(isOpenToWorld(open), true, open);
        }
        assert.equal(isOpenToWorld("10.0.0.0/16"), false);
        assert.equal(sourceCidrProblem("10.0.0.0/16"), undefined);
    });
});
