// Network policies: etcd's ports never open to the internet (resource-level, every spelling of a
// rule), and the peer port of an etcd group admitting only the group itself (stack-level).
import { strict as assert } from "assert";
import { sourceCidrProblem } from "../../../src/network/networkRules";
import { COMPONENT, TYPES } from "../../../policy/lib/types";
import { etcdPeerPortMembersOnly } from "../../../policy/rules/etcdPeerPortMembersOnly";
import { etcdPortsNotOpenToWorld } from "../../../policy/rules/etcdPortsNotOpenToWorld";
import { compliantCluster, SG_ID } from "./fixtures";
import { Fixture, runResourcePolicy, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

const WORLD_V4 = sourceCidrProblem("0.0.0.0/0")!;
const WORLD_V6 = sourceCidrProblem("::/0")!;

const ingressRule = (props: Record<string, unknown>) => ({
    type: TYPES.ingressRule,
    props: { securityGroupId: SG_ID, ipProtocol: "tcp", fromPort: 2379, toPort: 2379, ...props },
});

describe("policy etcd-ports-not-open-to-world", () => {
    const policy = etcdPortsNotOpenToWorld;
    const messages = async (input: { type: string; props: Record<string, unknown> }, config?: object) => {
        const outcome = await runResourcePolicy(policy, input, config);
        assert.equal(outcome.unknownValueError, undefined);
        return outcome.violations.map((v) => v.message);
    };

    it("passes rules from security groups and narrow subnets", async () => {
        assert.deepEqual(await messages(ingressRule({ referencedSecurityGroupId: "sg-0apiserver0000001" })), []);
        assert.deepEqual(await messages(ingressRule({ cidrIpv4: "10.0.2.0/24" })), []);
        assert.deepEqual(
            await messages(ingressRule({ cidrIpv4: "10.0.0.0/8" })),
            [],
            "width is only limited when configured",
        );
    });

    it("fails a vpc ingress rule from 0.0.0.0/0, in the component's own words", async () => {
        assert.deepEqual(await messages(ingressRule({ cidrIpv4: "0.0.0.0/0" })), [
            `The ingress rule opens etcd port 2379 to 0.0.0.0/0: ${WORLD_V4}.`,
        ]);
    });

    it("fails ::/0 on all protocols (every etcd port at once)", async () => {
        assert.deepEqual(
            await messages(ingressRule({ ipProtocol: "-1", fromPort: undefined, toPort: undefined, cidrIpv6: "::/0" })),
            [`The ingress rule opens etcd ports 2379, 2380, 2381 to ::/0: ${WORLD_V6}.`],
        );
    });

    it("fails an ec2 SecurityGroupRule of type ingress over a range, not one of type egress", async () => {
        const rule = {
            type: "ingress",
            securityGroupId: SG_ID,
            protocol: "tcp",
            fromPort: 2000,
            toPort: 3000,
            cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"],
        };
        assert.deepEqual(await messages({ type: TYPES.securityGroupRule, props: rule }), [
            `The security-group rule opens etcd ports 2379, 2380, 2381 to 0.0.0.0/0: ${WORLD_V4}.`,
        ]);
        assert.deepEqual(await messages({ type: TYPES.securityGroupRule, props: { ...rule, type: "egress" } }), []);
    });

    it("fails inline ingress on a SecurityGroup", async () => {
        const ingress = [
            { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
            { protocol: "tcp", fromPort: 2380, toPort: 2380, ipv6CidrBlocks: ["::/0"] },
        ];
        assert.deepEqual(await messages({ type: TYPES.securityGroup, props: { ingress } }), [
            `The inline ingress[1] opens etcd port 2380 to ::/0: ${WORLD_V6}.`,
        ]);
    });

    it("ignores other ports and other protocols", async () => {
        assert.deepEqual(await messages(ingressRule({ fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" })), []);
        assert.deepEqual(await messages(ingressRule({ ipProtocol: "udp", cidrIpv4: "0.0.0.0/0" })), []);
    });

    it("is configurable: ports to protect, and a widest prefix", async () => {
        assert.deepEqual(
            await messages(ingressRule({ fromPort: 2381, toPort: 2381, cidrIpv4: "0.0.0.0/0" }), { ports: [2379] }),
            [],
        );
        assert.deepEqual(await messages(ingressRule({ cidrIpv4: "10.0.0.0/8" }), { minPrefixLengthIpv4: 16 }), [
            "The ingress rule opens etcd port 2379 to 10.0.0.0/8, wider than /16 (this policy's minPrefixLengthIpv4); name the clients' own subnets or their security groups instead.",
        ]);
    });

    it("reports nothing for values a preview does not know yet", async () => {
        for (const props of [
            { cidrIpv4: UNKNOWN.string },
            { cidrIpv4: "0.0.0.0/0", ipProtocol: UNKNOWN.string },
            { cidrIpv4: "0.0.0.0/0", fromPort: UNKNOWN.number },
        ]) {
            assert.deepEqual(await messages(ingressRule(props)), [], JSON.stringify(props));
        }
        assert.deepEqual(
            await messages({
                type: TYPES.securityGroupRule,
                props: { type: UNKNOWN.string, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] },
            }),
            [],
        );
        assert.deepEqual(
            await messages({
                type: TYPES.securityGroupRule,
                props: { type: "ingress", protocol: "-1", cidrBlocks: UNKNOWN.array },
            }),
            [],
        );
        assert.deepEqual(await messages({ type: TYPES.securityGroup, props: { ingress: UNKNOWN.array } }), []);
        assert.deepEqual(await messages({ type: TYPES.securityGroup, props: { ingress: [UNKNOWN.object] } }), []);
        assert.deepEqual(await messages({ type: TYPES.securityGroup, props: {} }), [], "no ingress at all");
    });

    it("does not apply to other resource types", async () => {
        const outcome = await runResourcePolicy(policy, { type: TYPES.bucket[0], props: {} });
        assert.equal(outcome.notApplicable, "applies to security groups and their ingress rules");
    });
});

describe("policy etcd-peer-port-members-only", () => {
    const policy = etcdPeerPortMembersOnly;
    const run = async (fixtures: Fixture[]) => {
        const outcome = await runStackPolicy(policy, stackOf(fixtures));
        assert.equal(outcome.unknownValueError, undefined);
        return outcome;
    };
    const onEtcdGroup = (
        name: string,
        props: Record<string, unknown>,
        dependsOn: Record<string, string[]> = {},
    ): Fixture => ({
        type: TYPES.ingressRule,
        name,
        props: { securityGroupId: SG_ID, ipProtocol: "tcp", fromPort: 2380, toPort: 2380, ...props },
        dependsOn: { securityGroupId: ["prod-network-group"], ...dependsOn },
    });
    const peerMessage = (label: string, resource: string, sources: string) =>
        `The ${label} of ${resource} admits ${sources} to etcd's peer port 2380 on the members' security group of SecureEtcdCluster "prod". Peer traffic must come from the members only: make the source the group itself (referencedSecurityGroupId equal to securityGroupId, or self: true), and admit clients on 2379 instead.`;

    it("passes the component's rules: 2380 from the group itself", async () => {
        assert.deepEqual((await run(compliantCluster())).violations, []);
    });

    it("fails 2380 from another security group, by name and URN", async () => {
        const outcome = await run([
            ...compliantCluster(),
            onEtcdGroup("peer-from-apiserver", { referencedSecurityGroupId: "sg-0apiserver0000001" }),
        ]);
        assert.deepEqual(
            outcome.violations.map((v) => [v.message, v.urn]),
            [
                [
                    peerMessage(
                        "ingress rule",
                        'SecurityGroupIngressRule "peer-from-apiserver"',
                        "security group sg-0apiserver0000001",
                    ),
                    "urn:pulumi:test::secure-etcd::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::peer-from-apiserver",
                ],
            ],
        );
    });

    it("fails a client range 2379-2381 on the etcd group, which takes in the peer port", async () => {
        const outcome = await run([
            ...compliantCluster(),
            onEtcdGroup("clients-wide", { fromPort: 2379, toPort: 2381, cidrIpv4: "10.0.2.0/24" }),
        ]);
        assert.deepEqual(
            outcome.violations.map((v) => v.message),
            [peerMessage("ingress rule", 'SecurityGroupIngressRule "clients-wide"', "10.0.2.0/24")],
        );
    });

    it("judges ec2 SecurityGroupRules: self passes, a source group or CIDR fails", async () => {
        const rule = (name: string, props: Record<string, unknown>): Fixture => ({
            type: TYPES.securityGroupRule,
            name,
            props: { type: "ingress", securityGroupId: SG_ID, protocol: "tcp", fromPort: 2380, toPort: 2380, ...props },
        });
        const outcome = await run([
            ...compliantCluster(),
            rule("self", { self: true }),
            rule("same-group", { sourceSecurityGroupId: SG_ID }),
            rule("other-group", { sourceSecurityGroupId: "sg-0other" }),
            rule("subnet", { cidrBlocks: ["10.0.1.0/24"] }),
        ]);
        assert.deepEqual(
            outcome.violations.map((v) => v.message),
            [
                peerMessage("security-group rule", 'SecurityGroupRule "other-group"', "security group sg-0other"),
                peerMessage("security-group rule", 'SecurityGroupRule "subnet"', "10.0.1.0/24"),
            ],
        );
    });

    it("fails inline 2380 ingress on the etcd group", async () => {
        const fixtures = compliantCluster().map((f) =>
            f.name === "prod-network-group"
                ? {
                      ...f,
                      props: {
                          ...f.props,
                          ingress: [{ protocol: "tcp", fromPort: 2380, toPort: 2380, cidrBlocks: ["10.0.0.0/16"] }],
                      },
                  }
                : f,
        );
        assert.deepEqual(
            (await run(fixtures)).violations.map((v) => v.message),
            [peerMessage("inline ingress[0]", 'SecurityGroup "prod-network-group"', "10.0.0.0/16")],
        );
    });

    it("finds a group the cluster did not create (securityGroupId) by the id its rules name", async () => {
        const byo = "sg-0byo000000000001";
        const fixtures: Fixture[] = [
            { type: COMPONENT.cluster, name: "prod" },
            { type: COMPONENT.network, name: "prod-network", parent: "prod" },
            {
                type: TYPES.ingressRule,
                name: "prod-network-peer-self",
                parent: "prod-network",
                props: {
                    securityGroupId: byo,
                    ipProtocol: "tcp",
                    fromPort: 2380,
                    toPort: 2380,
                    referencedSecurityGroupId: byo,
                },
            },
            {
                type: TYPES.ingressRule,
                name: "peer-from-bastion",
                props: { securityGroupId: byo, ipProtocol: "-1", referencedSecurityGroupId: "sg-0bastion" },
            },
        ];
        assert.deepEqual(
            (await run(fixtures)).violations.map((v) => v.message),
            [peerMessage("ingress rule", 'SecurityGroupIngressRule "peer-from-bastion"', "security group sg-0bastion")],
        );
    });

    it("leaves other groups alone", async () => {
        const other: Fixture = {
            type: TYPES.ingressRule,
            name: "web",
            props: {
                securityGroupId: "sg-0web",
                ipProtocol: "tcp",
                fromPort: 0,
                toPort: 65535,
                referencedSecurityGroupId: "sg-0lb",
            },
        };
        assert.deepEqual((await run([...compliantCluster(), other])).violations, []);
    });

    it("in a preview, ties a rule to the group by dependency, and judges only known sources", async () => {
        const fixtures = [
            ...compliantCluster(),
            // Group id not known yet, but the rule is computed from the etcd group: a known CIDR fails.
            onEtcdGroup("peer-from-subnet", { securityGroupId: UNKNOWN.string, cidrIpv4: "10.0.5.0/24" }),
            // The source is computed from the etcd group (self, once known): not judged while unknown.
            onEtcdGroup(
                "peer-self-later",
                { securityGroupId: UNKNOWN.string, referencedSecurityGroupId: UNKNOWN.string },
                { referencedSecurityGroupId: ["prod-network-group"] },
            ),
            // A source not known yet, from nowhere we can see: not judged.
            onEtcdGroup("peer-unknown", { securityGroupId: UNKNOWN.string, referencedSecurityGroupId: UNKNOWN.string }),
            // Not tied to any group we know: not judged.
            {
                type: TYPES.ingressRule,
                name: "unattached",
                props: {
                    securityGroupId: UNKNOWN.string,
                    ipProtocol: "tcp",
                    fromPort: 2380,
                    toPort: 2380,
                    cidrIpv4: "0.0.0.0/0",
                },
            },
        ];
        assert.deepEqual(
            (await run(fixtures)).violations.map((v) => v.message),
            [peerMessage("ingress rule", 'SecurityGroupIngressRule "peer-from-subnet"', "10.0.5.0/24")],
        );
    });

    it("does not apply without an etcd group", async () => {
        const outcome = await run([{ type: TYPES.securityGroup, name: "web" }]);
        assert.equal(outcome.notApplicable, "no SecureEtcdCluster security group in this stack");
    });
});
