// The nodes that run members: IMDSv2 only, one hop, on the instance or the launch template it comes from.
import { strict as assert } from "assert";
import { EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { etcdMemberImdsV2 } from "../../../policy/rules/etcdMemberImdsV2";
import { compliantCluster } from "./fixtures";
import { Fixture, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

async function messages(policy: EtcdPolicy, fixtures: Fixture[], config?: object): Promise<string[]> {
    const outcome = await runStackPolicy(policy, stackOf(fixtures), config);
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

const SAFE = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 };

/** A member's instance: its user data from the cluster "prod", optionally launched from a template. */
const instance = (props: Record<string, unknown>, template?: string): Fixture => ({
    type: TYPES.instance,
    name: "etcd-0",
    props: { ...props, ...(template ? { launchTemplate: { id: "lt-1" } } : {}) },
    dependsOn: { userDataBase64: ["prod"], ...(template ? { launchTemplate: [template] } : {}) },
});
const template = (metadataOptions: unknown, userData = false): Fixture => ({
    type: TYPES.launchTemplate,
    name: "control-plane",
    props: { metadataOptions },
    dependsOn: userData ? { userData: ["prod"] } : {},
});

describe("policy etcd-member-imdsv2", () => {
    const policy = etcdMemberImdsV2;

    it("passes members with IMDSv2 required and one hop, on the instance or its template (the platform example's shape)", async () => {
        assert.deepEqual(await messages(policy, [...compliantCluster(), instance({ metadataOptions: SAFE })]), []);
        assert.deepEqual(
            await messages(policy, [...compliantCluster(), template(SAFE), instance({}, "control-plane")]),
            [],
        );
        // IMDS switched off altogether is safe too.
        assert.deepEqual(
            await messages(policy, [
                ...compliantCluster(),
                instance({ metadataOptions: { httpEndpoint: "disabled" } }),
            ]),
            [],
        );
    });

    it("fails IMDSv1 allowed or more than one hop, naming what to set", async () => {
        assert.deepEqual(
            await messages(policy, [
                ...compliantCluster(),
                instance({ metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 2 } }),
            ]),
            [
                'Instance "etcd-0" runs a member of SecureEtcdCluster "prod" and allows IMDSv1 (metadataOptions.httpTokens "optional"); set httpTokens: "required".',
                'Instance "etcd-0" runs a member of SecureEtcdCluster "prod" and lets metadata responses travel 2 hops (metadataOptions.httpPutResponseHopLimit); set it to 1.',
            ],
        );
        // No options at all: AWS's defaults may allow IMDSv1.
        assert.equal((await messages(policy, [...compliantCluster(), instance({})])).length, 2);
        assert.deepEqual(
            await messages(policy, [
                ...compliantCluster(),
                template({ ...SAFE, httpTokens: "optional" }),
                instance({}, "control-plane"),
            ]),
            [
                'Instance "etcd-0" runs a member of SecureEtcdCluster "prod" and allows IMDSv1 (metadataOptions.httpTokens "optional"); set httpTokens: "required" (from LaunchTemplate "control-plane").',
            ],
        );
        // A template that carries the member's user data is judged itself.
        assert.deepEqual(
            await messages(policy, [...compliantCluster(), template({ ...SAFE, httpPutResponseHopLimit: 3 }, true)]),
            [
                'LaunchTemplate "control-plane" runs a member of SecureEtcdCluster "prod" and lets metadata responses travel 3 hops (metadataOptions.httpPutResponseHopLimit); set it to 1.',
            ],
        );
    });

    it("takes a larger hop limit when configured, judges nothing unknown, and leaves other instances alone", async () => {
        const twoHops = instance({ metadataOptions: { ...SAFE, httpPutResponseHopLimit: 2 } });
        assert.deepEqual(await messages(policy, [...compliantCluster(), twoHops], { maxHopLimit: 2 }), []);
        assert.deepEqual(
            await messages(policy, [...compliantCluster(), instance({ metadataOptions: UNKNOWN.object })]),
            [],
        );
        const other: Fixture = {
            type: TYPES.instance,
            name: "app",
            props: { metadataOptions: { httpTokens: "optional" } },
        };
        assert.deepEqual(await messages(policy, [...compliantCluster(), other]), []);
        assert.equal(
            (await runStackPolicy(policy, stackOf([...compliantCluster(), other]))).notApplicable,
            "no instance or launch template carries a SecureEtcdCluster member's user data",
        );
    });
});
