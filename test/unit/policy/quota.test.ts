// etcd-quota-backend-bytes: every member's etcd command (the component's etcdManifests output) sets
// a backend quota of at most 8 GiB. Judged on fixtures and on the component's real output.
import { strict as assert } from "assert";
import { SecureEtcdCluster } from "../../../src";
import { etcdQuotaBackendBytes } from "../../../policy/rules/etcdQuotaBackendBytes";
import { THREE_MEMBERS, withNetwork } from "../../harness/cluster";
import { captureStack, policyView } from "./componentStack";
import { compliantCluster, patched } from "./fixtures";
import { runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

const pod = (...flags: string[]) =>
    ["apiVersion: v1", "kind: Pod", "spec:", "  containers:", "    - name: etcd", "      command:", "        - etcd"]
        .concat(flags.map((f) => `        - ${f}`))
        .join("\n");

async function messages(manifests: unknown): Promise<string[]> {
    const outcome = await runStackPolicy(
        etcdQuotaBackendBytes,
        stackOf(patched(compliantCluster(), "prod", { etcdManifests: manifests })),
    );
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

describe("policy etcd-quota-backend-bytes", function () {
    this.timeout(120_000);

    it("passes a quota up to 8 GiB, fails none or a larger one, skips what is unknown", async () => {
        assert.deepEqual(await messages({ "etcd-0": pod("--quota-backend-bytes=8589934592") }), []);
        assert.deepEqual(
            await messages({ "etcd-0": pod("--name=etcd-0"), "etcd-1": pod("--quota-backend-bytes=17179869184") }),
            [
                'SecureEtcdCluster "prod": member etcd-0\'s etcd sets no --quota-backend-bytes, so etcd uses its 2 GiB default; set quotaBackendBytes (8 GiB by default).',
                "SecureEtcdCluster \"prod\": member etcd-1's etcd sets --quota-backend-bytes to 17179869184, above etcd's recommended maximum of 8589934592 (8 GiB); set quotaBackendBytes to at most that.",
            ],
        );
        assert.deepEqual(await messages(UNKNOWN.object), []);
    });

    it("judges the component's real manifests, which pass", async () => {
        const { resources } = await captureStack(
            () =>
                new SecureEtcdCluster(
                    "prod",
                    withNetwork({ members: THREE_MEMBERS, quotaBackendBytes: 4 * 1024 ** 3 }),
                ),
        );
        const view = policyView(resources);
        const cluster = view.resources.find((r) => r.type === "secure-etcd:index:SecureEtcdCluster")!;
        assert.equal(
            Object.keys(cluster.props.etcdManifests as object).length,
            3,
            "the policy sees every member's manifest",
        );
        const outcome = await runStackPolicy(etcdQuotaBackendBytes, view.resources);
        assert.deepEqual(outcome.violations, []);
    });
});
