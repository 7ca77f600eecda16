// Suppressions: a named resource exempted from one policy, only with a reason. A suppression without
// a reason is itself a violation and is not applied.
import { strict as assert } from "assert";
import { POLICIES } from "../../../policy/policies";
import { EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { compliantCluster, SG_ID, without } from "./fixtures";
import { runResourcePolicy, runStackPolicy, stackOf, urnOf } from "./policyHarness";

const policy = (name: string): EtcdPolicy => POLICIES.find((p) => p.name === name)!;

const WORLD_RULE = {
    type: TYPES.ingressRule,
    name: "lab-etcd",
    props: { securityGroupId: SG_ID, ipProtocol: "tcp", fromPort: 2379, toPort: 2379, cidrIpv4: "0.0.0.0/0" },
};
const WORLD_URN = urnOf(TYPES.ingressRule, "lab-etcd");

describe("suppressions", () => {
    const open = policy("etcd-ports-not-open-to-world");
    const messages = async (suppressions: unknown[]) =>
        (await runResourcePolicy(open, WORLD_RULE, { suppressions })).violations.map((v) => v.message);

    it("every policy accepts them in its config", () => {
        for (const p of POLICIES) {
            assert.equal(p.configSchema?.properties.suppressions?.type, "array", p.name);
        }
    });

    it("exempt a resource named by URN or by name, with a reason", async () => {
        assert.equal((await messages([])).length, 1, "violates without one");
        assert.deepEqual(
            await messages([
                { resource: WORLD_URN, reason: "isolated lab VPC, no internet gateway (SEC-42, until 2026-12-31)" },
            ]),
            [],
        );
        assert.deepEqual(await messages([{ resource: "lab-etcd", reason: "isolated lab VPC (SEC-42)" }]), []);
    });

    it("without a reason, or with an empty one, are violations and are not applied", async () => {
        for (const reason of [undefined, "", "   "]) {
            assert.deepEqual(await messages([{ resource: "lab-etcd", reason }]), [
                'The suppression of "lab-etcd" from etcd-ports-not-open-to-world has no reason, so it is not applied. Give every suppression a reason, e.g. { "resource": "lab-etcd", "reason": "accepted risk: <why>, <ticket>, until <date>" }, or remove it.',
                'The ingress rule opens etcd port 2379 to 0.0.0.0/0: "0.0.0.0/0" admits the whole internet; name the clients\' subnets (e.g. "10.0.2.0/24") or their security groups instead.',
            ]);
        }
    });

    it("for another resource change nothing", async () => {
        assert.equal((await messages([{ resource: "another-rule", reason: "unrelated" }])).length, 1);
    });

    it("apply to stack policies by the violating resource's name, and are checked there too", async () => {
        const complete = policy("etcd-cluster-has-secret-store");
        const resources = stackOf(
            without(compliantCluster(), "prod-secrets-member-etcd-0", "prod-secrets-member-etcd-0-version"),
        );
        const run = async (suppressions: unknown[]) =>
            (await runStackPolicy(complete, resources, { suppressions })).violations.map((v) => [
                v.message.split(",")[0],
                v.urn,
            ]);
        assert.equal((await run([])).length, 1);
        assert.deepEqual(
            await run([{ resource: "prod", reason: "keys delivered by the platform's Vault agent (PLAT-7)" }]),
            [],
        );
        const clusterUrn = "urn:pulumi:test::secure-etcd::secure-etcd:index:SecureEtcdCluster::prod";
        assert.deepEqual(await run([{ resource: "prod" }, {}]), [
            ['The suppression of "prod" from etcd-cluster-has-secret-store has no reason', clusterUrn],
            ["The suppression of (no resource) from etcd-cluster-has-secret-store has no reason", undefined],
            ['SecureEtcdCluster "prod" has no Secrets Manager secrets', clusterUrn],
        ]);
    });
});
