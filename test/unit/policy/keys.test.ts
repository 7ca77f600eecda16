// Key policies: KMS keys a SecureEtcdCluster creates rotate; its Secrets Manager secrets are under a
// customer-managed key (an alias refused exactly as the component refuses it as an argument).
import { strict as assert } from "assert";
import { kmsKeyArnProblem } from "../../../src/secrets/policies";
import { EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { etcdKmsKeyRotation } from "../../../policy/rules/etcdKmsKeyRotation";
import { etcdSecretsCustomerManagedKey } from "../../../policy/rules/etcdSecretsCustomerManagedKey";
import { compliantCluster, patched } from "./fixtures";
import { Fixture, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

async function messages(policy: EtcdPolicy, fixtures: Fixture[], config?: object): Promise<string[]> {
    const outcome = await runStackPolicy(policy, stackOf(fixtures), config);
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

describe("policy etcd-kms-key-rotation", () => {
    const policy = etcdKmsKeyRotation;
    const SECRETS_KEY = 'Key "prod-secrets-kms-key" of SecureEtcdCluster "prod"';

    it("passes keys with rotation on (secrets and backup keys)", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
    });

    it("fails a key with rotation off or left at the provider's default (off)", async () => {
        const expected = `${SECRETS_KEY} does not rotate its key material; set enableKeyRotation: true (only symmetric ENCRYPT_DECRYPT keys can rotate, and etcd's keys are such keys).`;
        assert.deepEqual(
            await messages(policy, patched(compliantCluster(), "prod-secrets-kms-key", { enableKeyRotation: false })),
            [expected],
        );
        assert.deepEqual(
            await messages(
                policy,
                patched(compliantCluster(), "prod-secrets-kms-key", { enableKeyRotation: undefined }),
            ),
            [expected],
        );
    });

    it("fails a rotation period beyond the configured limit (365 days by default)", async () => {
        const slow = patched(compliantCluster(), "prod-backup-key", { rotationPeriodInDays: 730 });
        assert.deepEqual(await messages(policy, slow), [
            'Key "prod-backup-key" of SecureEtcdCluster "prod" rotates every 730 days, longer than 365; set rotationPeriodInDays to 365 or less.',
        ]);
        assert.deepEqual(await messages(policy, slow, { maxRotationPeriodDays: 730 }), []);
    });

    it("judges only keys inside a cluster, and nothing unknown (preview)", async () => {
        const outside: Fixture = { type: TYPES.kmsKey, name: "app-key", props: { enableKeyRotation: false } };
        assert.deepEqual(await messages(policy, [...compliantCluster(), outside]), []);
        const later = patched(compliantCluster(), "prod-secrets-kms-key", { enableKeyRotation: UNKNOWN.boolean });
        assert.deepEqual(await messages(policy, later), []);
        assert.equal(
            (await runStackPolicy(policy, stackOf([outside]))).notApplicable,
            "no KMS key inside a SecureEtcdCluster in this stack",
        );
    });
});

describe("policy etcd-secrets-customer-managed-key", () => {
    const policy = etcdSecretsCustomerManagedKey;
    const SECRET = 'Secret "prod-secrets-member-etcd-0" of SecureEtcdCluster "prod"';
    const withKey = (kmsKeyId: unknown) => patched(compliantCluster(), "prod-secrets-member-etcd-0", { kmsKeyId });
    const AWS_MANAGED = `${SECRET} is encrypted under the AWS-managed aws/secretsmanager key, which any principal of the account allowed to read secrets can use; set kmsKeyId to a customer-managed key's ARN (leave the component's secretsKmsKeyArn unset to get one).`;

    it("passes a customer-managed key, by ARN or by key id", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
        assert.deepEqual(await messages(policy, withKey("1234abcd-12ab-34cd-56ef-1234567890ab")), []);
    });

    it("fails no key (the AWS-managed default) and the aws/secretsmanager alias", async () => {
        assert.deepEqual(await messages(policy, withKey(undefined)), [AWS_MANAGED]);
        assert.deepEqual(await messages(policy, withKey("alias/aws/secretsmanager")), [AWS_MANAGED]);
        assert.deepEqual(
            await messages(policy, withKey("arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager")),
            [AWS_MANAGED],
        );
    });

    it("fails any other alias, in the component's own words", async () => {
        const alias = "arn:aws:kms:us-east-1:123456789012:alias/etcd";
        assert.deepEqual(await messages(policy, withKey(alias)), [`${SECRET}: kmsKeyId ${kmsKeyArnProblem(alias)}.`]);
    });

    it("reports nothing for a key not known yet (preview)", async () => {
        assert.deepEqual(await messages(policy, withKey(UNKNOWN.string)), []);
    });
});
