// Membership as code through the component, under the provider stand-ins: the member set is
// recorded once deployed, a change etcd cannot take in one step is refused at preview and at up
// with nothing registered, and an accepted change renders the joiner for a running cluster, with
// the membership credential in the bundles of the members that carry the change out and no other.
import { strict as assert } from "assert";
import * as zlib from "zlib";
import * as YAML from "yaml";
import { MemberArgs, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { NODE_SYNC_CONFIG_PATH, NodeSyncConfig } from "../../src/nodes/nodeSync";
import { ProviderMocks } from "../../testing/mocks";
import { attemptProgram, runProgram, valueOf } from "../../testing/program";
import { capturedWarnings, TEST_VPC_ID } from "../harness/cluster";
import { certFacts, issuedBy } from "../harness/certs";

const member = (i: number, ip = `10.0.1.${10 + i}`): MemberArgs => ({ name: `etcd-${i}`, ip });
const THREE = [0, 1, 2].map((i) => member(i));
const RECORD = "/secure-etcd/project/stack/prod/members";

interface Deployed {
    mocks: ProviderMocks;
    manifests: Record<string, string>;
    bundles: Record<string, { membershipCredential?: { certPem: string; keyPem: string } }>;
    nodeFiles: Record<string, { path: string; content: string }[]>;
    caCertPem: string;
    userData: Record<string, string>;
}

async function up(
    members: MemberArgs[],
    previous?: ProviderMocks,
    extra: Partial<SecureEtcdClusterArgs> = {},
): Promise<Deployed> {
    const { result, mocks } = await runProgram(
        () => new SecureEtcdCluster("prod", { members, vpcId: TEST_VPC_ID, ...extra }),
        { previous },
    );
    const versions = mocks.ofType("aws:secretsmanager/secretVersion:SecretVersion");
    const bundles = Object.fromEntries(
        members.map((m) => {
            const v = versions.find((r) => r.name.endsWith(`-member-${m.name}-version`))!;
            return [m.name, JSON.parse(String(v.inputs.secretString))];
        }),
    );
    return {
        mocks,
        manifests: await valueOf(result.etcdManifests),
        bundles,
        nodeFiles: await valueOf(result.nodeFiles),
        caCertPem: await valueOf(result.caCertPem),
        userData: await valueOf(result.memberUserData),
    };
}

function recordOf(mocks: ProviderMocks): { founders: string[]; members: { name: string; ip: string }[] } {
    const record = mocks.ofType("aws:ssm/parameter:Parameter").find((r) => r.inputs.name === RECORD);
    return JSON.parse(String(record!.inputs.insecureValue)) as {
        founders: string[];
        members: { name: string; ip: string }[];
    };
}

const stateFlag = (manifest: string) => /--initial-cluster-state=(\w+)/.exec(manifest)?.[1];

describe("membership as code: the component", function () {
    this.timeout(120_000);

    it("records the member set once deployed; the founders render a new cluster, no credential anywhere", async () => {
        const first = await up(THREE);
        assert.deepEqual(recordOf(first.mocks).founders, ["etcd-0", "etcd-1", "etcd-2"]);
        assert.deepEqual(Object.values(first.manifests).map(stateFlag), ["new", "new", "new"]);
        assert.deepEqual(
            Object.values(first.bundles).filter((b) => b.membershipCredential),
            [],
        );
    });

    it("grows by one: the joiner renders for a running cluster, leaves its manifest to node sync, and alone holds a credential of the etcd CA", async () => {
        const first = await up(THREE);
        const warnings = await capturedWarnings(async () => {
            const grown = await up([...THREE, member(3)], first.mocks);
            assert.deepEqual(
                Object.entries(grown.manifests).map(([m, y]) => `${m} ${stateFlag(y)}`),
                ["etcd-0 new", "etcd-1 new", "etcd-2 new", "etcd-3 existing"],
            );
            for (const m of ["etcd-0", "etcd-1", "etcd-2"]) {
                assert.match(grown.manifests[m], /--initial-cluster=etcd-0=.*,etcd-3=https:\/\/10\.0\.1\.13:2380/);
            }
            assert.deepEqual(
                Object.entries(grown.bundles)
                    .filter(([, b]) => b.membershipCredential)
                    .map(([m]) => m),
                ["etcd-3"],
            );
            const credential = grown.bundles["etcd-3"].membershipCredential!;
            assert.equal(certFacts(credential.certPem).subjectCn, "secure-etcd-membership");
            assert.ok(issuedBy(credential.certPem, grown.caCertPem));
            const config = JSON.parse(
                grown.nodeFiles["etcd-3"].find((f) => f.path === NODE_SYNC_CONFIG_PATH)!.content,
            ) as NodeSyncConfig;
            assert.equal(config.membership?.joining, true);
            // The boot leaves the manifest to node sync (decoded from the user data's plan).
            assert.match(
                decodedPlan(grown.userData["etcd-3"]),
                new RegExp(`"deferred":\\s*\\[\\s*"${NODE_PATHS.manifest}"\\s*\\]`),
            );
            assert.doesNotMatch(decodedPlan(grown.userData["etcd-0"]), /"deferred":\s*\[/);
            assert.deepEqual(recordOf(grown.mocks).founders, ["etcd-0", "etcd-1", "etcd-2"]);
            // The next update, nothing changed: the same credential (same bytes), the joiner still joining.
            const again = await up([...THREE, member(3)], grown.mocks);
            assert.deepEqual(again.bundles["etcd-3"], grown.bundles["etcd-3"]);
            assert.equal(stateFlag(again.manifests["etcd-3"]), "existing");
        });
        assert.ok(
            warnings.some((w) => /growing to 4 members/.test(w)),
            warnings.join("\n"),
        );
    });

    for (const [label, next, pattern] of [
        [
            "two members added",
            [...THREE, member(3), member(4)],
            /members: this update changes 2 members at once \(joining etcd-3 \(10\.0\.1\.13\), etcd-4/,
        ],
        ["two members removed", [member(0)], /members: this update changes 2 members at once \(leaving etcd-1/],
        ["one removed and two added", [member(0), member(1), member(5), member(6)], /changes 3 members at once/],
    ] as const) {
        it(`refuses ${label} at preview and at up, registering nothing`, async () => {
            const first = await up(THREE);
            for (const preview of [true, false]) {
                const attempt = await attemptProgram(
                    () => new SecureEtcdCluster("prod", { members: [...next], vpcId: TEST_VPC_ID }),
                    { previous: first.mocks, preview },
                );
                assert.ok(attempt.error, "the change was not refused");
                assert.match(
                    attempt.error.message,
                    /^SecureEtcdCluster "prod" has invalid arguments:\n {2}- members: /,
                );
                assert.match(attempt.error.message, pattern);
                assert.match(
                    attempt.error.message,
                    /one member at a time.*\(recorded in SSM parameter \/secure-etcd\/project\/stack\/prod\/members\)/s,
                );
                assert.deepEqual(
                    attempt.mocks.registrations.filter((r) => r.custom).map((r) => r.name),
                    [],
                    "no child registered",
                );
            }
        });
    }

    it("refuses a change of members while nodeSync is off, saying what to do", async () => {
        const first = await up(THREE, undefined, { nodeSync: false });
        const attempt = await attemptProgram(
            () =>
                new SecureEtcdCluster("prod", { members: [...THREE, member(3)], vpcId: TEST_VPC_ID, nodeSync: false }),
            { previous: first.mocks, preview: true },
        );
        assert.match(
            attempt.error?.message ?? "",
            /members: changes the member set while nodeSync is off.*Set nodeSync: true/,
        );
    });

    it("refuses a change of members in the same update as a whole-cluster restore, registering nothing", async () => {
        const first = await up(THREE);
        const attempt = await attemptProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: [member(0), member(1), member(2, "10.0.1.99")],
                    vpcId: TEST_VPC_ID,
                    restoreFromBackup: "latest",
                }),
            { previous: first.mocks },
        );
        assert.match(
            attempt.error?.message ?? "",
            /members: changes the member set in the same update as restoreFromBackup \(latest\).*Keep members as deployed/,
        );
        assert.deepEqual(
            attempt.mocks.registrations.filter((r) => r.custom).map((r) => r.name),
            [],
            "no child registered",
        );
        // The same restore with the members as deployed goes ahead.
        await up(THREE, first.mocks, { restoreFromBackup: "latest" });
    });

    it("a replacement on a new address: the remover (first member) and the joiner hold the credential; the joiner is no founder", async () => {
        const first = await up(THREE);
        const moved = await up([member(0), member(1), member(2, "10.0.1.99")], first.mocks);
        assert.deepEqual(
            Object.entries(moved.bundles)
                .filter(([, b]) => b.membershipCredential)
                .map(([m]) => m)
                .sort(),
            ["etcd-0", "etcd-2"],
        );
        assert.equal(stateFlag(moved.manifests["etcd-2"]), "existing");
        assert.deepEqual(recordOf(moved.mocks).founders, ["etcd-0", "etcd-1"]);
    });
});

/** The boot plan inside a member's user data (gzip + base64 inside the cloud-config). */
function decodedPlan(userData: string): string {
    const config = YAML.parse(userData.replace(/^#cloud-config\n/, "")) as { write_files: { content: string }[] };
    return zlib.gunzipSync(Buffer.from(config.write_files[0].content, "base64")).toString("utf8");
}
