// Nothing switched off: every SecureEtcdCluster keeps its security-group rules, its backups and its
// secrets store; going without one needs a named suppression with a reason.
import { strict as assert } from "assert";
import { COMPONENT, EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { clusterHasBackupBucket } from "../../../policy/rules/clusterHasBackupBucket";
import { clusterHasSecretStore } from "../../../policy/rules/clusterHasSecretStore";
import { clusterHasSecurityGroup } from "../../../policy/rules/clusterHasSecurityGroup";
import { compliantCluster, patched, without } from "./fixtures";
import { Fixture, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

async function messages(policy: EtcdPolicy, fixtures: Fixture[]): Promise<string[]> {
    const outcome = await runStackPolicy(policy, stackOf(fixtures));
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

describe("policy etcd-cluster-has-security-group", () => {
    const policy = clusterHasSecurityGroup;

    it("passes a cluster with its client and peer rules", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
    });

    it("fails a cluster without them", async () => {
        const fixtures = without(compliantCluster(), "prod-network-client-self", "prod-network-peer-self");
        assert.deepEqual(await messages(policy, fixtures), [
            'SecureEtcdCluster "prod" has no security-group rule for etcd ports 2379, 2380, so its network access control is gone; keep the component\'s security group (vpcId, or securityGroupId for a group you manage), or suppress this policy for "prod" with the reason another control replaces it.',
        ]);
        assert.deepEqual(await messages(policy, without(compliantCluster(), "prod-network-peer-self")), [
            'SecureEtcdCluster "prod" has no security-group rule for etcd port 2380, so its network access control is gone; keep the component\'s security group (vpcId, or securityGroupId for a group you manage), or suppress this policy for "prod" with the reason another control replaces it.',
        ]);
    });

    it("counts rules whose ports are not known yet (preview)", async () => {
        const fixtures = patched(compliantCluster(), "prod-network-peer-self", {
            fromPort: UNKNOWN.number,
            toPort: UNKNOWN.number,
        });
        assert.deepEqual(await messages(policy, fixtures), []);
    });

    it("does not apply without a cluster", async () => {
        assert.equal((await runStackPolicy(policy, stackOf([]))).notApplicable, "no SecureEtcdCluster in this stack");
    });
});

describe("policy etcd-cluster-has-backup-bucket", () => {
    const policy = clusterHasBackupBucket;
    const BACKUP = [
        "prod-backup",
        "prod-backup-key",
        "prod-backup-bucket",
        "prod-backup-versioning",
        "prod-backup-encryption",
        "prod-backup-public-access",
        "prod-backup-policy",
    ];

    it("passes a cluster with its bucket, or with the caller's own (a BackupBucket without a bucket)", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
        const brought = [
            ...without(compliantCluster(), ...BACKUP),
            { type: COMPONENT.backup, name: "prod-backup", parent: "prod" },
        ];
        assert.deepEqual(await messages(policy, brought), []);
    });

    it("fails a cluster with backups turned off", async () => {
        assert.deepEqual(await messages(policy, without(compliantCluster(), ...BACKUP)), [
            'SecureEtcdCluster "prod" has no backup bucket, so nothing can restore it after a loss of quorum or a bad write; keep the component\'s backups on (backups: true, the default), or suppress this policy for "prod" with the reason and where its backups go instead.',
        ]);
    });

    it("does not count a bucket outside the cluster", async () => {
        const fixtures = [...without(compliantCluster(), ...BACKUP), { type: TYPES.bucket[0], name: "elsewhere" }];
        assert.equal((await messages(policy, fixtures)).length, 1);
    });
});

describe("policy etcd-cluster-has-secret-store", () => {
    const policy = clusterHasSecretStore;

    it("passes a cluster with secrets and their versions", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
    });

    it("fails a cluster without secrets, or without versions", async () => {
        assert.deepEqual(
            await messages(
                policy,
                without(compliantCluster(), "prod-secrets-member-etcd-0", "prod-secrets-member-etcd-0-version"),
            ),
            [
                'SecureEtcdCluster "prod" has no Secrets Manager secrets, so its members have no protected way to fetch their keys at boot; keep the component\'s secrets store, or suppress this policy for "prod" with the reason how keys reach the members instead.',
            ],
        );
        assert.deepEqual(await messages(policy, without(compliantCluster(), "prod-secrets-member-etcd-0-version")), [
            'SecureEtcdCluster "prod" has no Secrets Manager secret versions, so its members have no protected way to fetch their keys at boot; keep the component\'s secrets store, or suppress this policy for "prod" with the reason how keys reach the members instead.',
        ]);
    });
});
