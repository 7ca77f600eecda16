// etcd-key-policy-users: a key a SecureEtcdCluster uses (brought, or its own) lets each user the
// component names do what it needs. The statements needed are the component's own, rendered by the
// same functions the component uses, as its keyPolicyStatements output publishes them.
import { strict as assert } from "assert";
import { keyPolicy, useStatements } from "../../../src/access/keyPolicy";
import { PolicyStatement } from "../../../src/core/policyDocument";
import { secretsKeyPolicy } from "../../../src/secrets/policies";
import { COMPONENT, TYPES } from "../../../policy/lib/types";
import { etcdKeyPolicyUsers } from "../../../policy/rules/etcdKeyPolicyUsers";
import { MOCK_ACCOUNT, MOCK_CALLER_ARN, MOCK_POLICY_SCOPE } from "../../../testing/awsEmulator";
import { Fixture, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

const KEY_ARN = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/0badc0de-12ab-34cd-56ef-1234567890ab`;
const BASE = "secure-etcd/prod-a1b2c3";
const ACCESS = {
    administrators: [MOCK_CALLER_ARN],
    memberRoleNames: ["etcd-member"],
    apiServerRoleNames: ["kube-apiserver"],
};
/** What the cluster publishes for its secrets key, and the full policy the component would write. */
const USES = useStatements(secretsKeyPolicy(MOCK_POLICY_SCOPE, ACCESS, BASE));
const COMPONENT_POLICY = secretsKeyPolicy(MOCK_POLICY_SCOPE, ACCESS, BASE);
const ROOT = `arn:aws:iam::${MOCK_ACCOUNT}:root`;
const role = (name: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`;
const LABEL = `Key "app-secrets-key", SecureEtcdCluster "prod"'s secrets key (secretsKmsKeyArn): its policy lacks statement`;
const FIX = `add that statement from the cluster's keyPolicyStatements output ("secrets") to the key's policy (docs/least-privilege.md, keys you bring).`;

const document = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const ADMIN = {
    Sid: "Admins",
    Effect: "Allow",
    Principal: { AWS: MOCK_CALLER_ARN },
    Action: "kms:*",
    Resource: "*",
};

/** A cluster that brought its secrets key, defined beside it in the stack with this policy. */
function brought(policy: string | undefined, extra: Fixture[] = [], statements: unknown = JSON.stringify(USES)) {
    return stackOf([
        {
            type: COMPONENT.cluster,
            name: "prod",
            props: { secretsKmsKeyArn: KEY_ARN, keyPolicyStatements: { secrets: statements } },
        },
        { type: COMPONENT.secrets, name: "prod-secrets", parent: "prod" },
        {
            type: TYPES.secret,
            name: "prod-secrets-member-etcd-0",
            parent: "prod-secrets",
            props: { kmsKeyId: KEY_ARN },
            dependsOn: { kmsKeyId: ["app-secrets-key"] },
        },
        {
            type: TYPES.kmsKey,
            name: "app-secrets-key",
            props: { arn: KEY_ARN, keyId: KEY_ARN.split("/")[1], enableKeyRotation: true, policy },
        },
        ...extra,
    ]);
}

/** The statement a message says is missing. */
const lacking = (message: string) => /lacks statement (\w+)/.exec(message)?.[1];

async function messages(resources: ReturnType<typeof stackOf>): Promise<string[]> {
    const outcome = await runStackPolicy(etcdKeyPolicyUsers, resources);
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

describe("policy etcd-key-policy-users", () => {
    it("passes a brought key whose policy holds the published statements beside its own administrators", async () => {
        assert.deepEqual(await messages(brought(document(ADMIN, ...USES))), []);
        assert.deepEqual(await messages(brought(JSON.stringify(COMPONENT_POLICY))), []);
    });

    it("judges what the statements allow, not their text: roles as principals, a wildcard for the random part", async () => {
        const own = document(
            ADMIN,
            {
                Sid: "EtcdNodes",
                Effect: "Allow",
                // A role's ARN carries its path; the cluster knows it by name.
                Principal: { AWS: [role("platform/etcd/etcd-member"), role("kube-apiserver")] },
                Action: "kms:Decrypt",
                Resource: "*",
                Condition: {
                    StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" },
                    StringLike: {
                        "kms:EncryptionContext:SecretARN": `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:secure-etcd/prod-*`,
                    },
                },
            },
            {
                Sid: "Pulumi",
                Effect: "Allow",
                Principal: { AWS: MOCK_CALLER_ARN },
                Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                Resource: "*",
                Condition: { StringEquals: { "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com" } },
            },
        );
        assert.deepEqual(await messages(brought(own)), []);
    });

    it("fails AWS's default key policy: every named user is left to IAM, each statement named", async () => {
        const found = await messages(brought(undefined));
        assert.deepEqual(found, [
            `${LABEL} MembersDecryptTheirSecretsThroughSecretsManager (${role("etcd-member")} cannot kms:Decrypt: only "Enable IAM User Permissions", a statement for the whole account, allows it: IAM decides who, not the key policy); ${FIX}`,
            `${LABEL} ApiServerDecryptsItsSecretsThroughSecretsManager (${role("kube-apiserver")} cannot kms:Decrypt: only "Enable IAM User Permissions", a statement for the whole account, allows it: IAM decides who, not the key policy); ${FIX}`,
            `${LABEL} DeployerWritesSecretsThroughSecretsManager (${MOCK_CALLER_ARN} cannot kms:Encrypt: only "Enable IAM User Permissions", a statement for the whole account, allows it: IAM decides who, not the key policy; ${MOCK_CALLER_ARN} cannot kms:Decrypt: only "Enable IAM User Permissions", a statement for the whole account, allows it: IAM decides who, not the key policy; ${MOCK_CALLER_ARN} cannot kms:GenerateDataKey: only "Enable IAM User Permissions", a statement for the whole account, allows it: IAM decides who, not the key policy); ${FIX}`,
        ]);
        // A use the component leaves to IAM (no role named) may be left to IAM here too.
        const unnamed = useStatements(
            secretsKeyPolicy(MOCK_POLICY_SCOPE, { ...ACCESS, memberRoleNames: [], apiServerRoleNames: [] }, BASE),
        );
        const rootOnly = document({
            Sid: "Root",
            Effect: "Allow",
            Principal: { AWS: ROOT },
            Action: "kms:*",
            Resource: "*",
        });
        assert.deepEqual((await messages(brought(rootOnly, [], JSON.stringify(unnamed)))).map(lacking), [
            "DeployerWritesSecretsThroughSecretsManager",
        ]);
    });

    it("names the one statement missing, and the users and actions it leaves out", async () => {
        const partial = document(
            ADMIN,
            ...USES.filter((s) => s.Sid !== "MembersDecryptTheirSecretsThroughSecretsManager"),
        );
        assert.deepEqual(await messages(brought(partial)), [
            `${LABEL} MembersDecryptTheirSecretsThroughSecretsManager (${role("etcd-member")} cannot kms:Decrypt: no statement allows it); ${FIX}`,
        ]);
        // The right statement under the wrong condition (another service) allows nothing either.
        const elsewhere = USES.map((s): PolicyStatement =>
            s.Sid === "ApiServerDecryptsItsSecretsThroughSecretsManager"
                ? {
                      ...s,
                      Condition: { ...s.Condition, StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } },
                  }
                : s,
        );
        assert.deepEqual((await messages(brought(document(ADMIN, ...elsewhere)))).map(lacking), [
            "ApiServerDecryptsItsSecretsThroughSecretsManager",
        ]);
    });

    it("reports a deny that refuses a user, and a condition it cannot evaluate, without guessing", async () => {
        const denying = document(ADMIN, ...USES, {
            Sid: "OnlyFromTheOffice",
            Effect: "Deny",
            Principal: "*",
            Action: "kms:*",
            Resource: "*",
            Condition: { StringNotEquals: { "aws:PrincipalArn": MOCK_CALLER_ARN } },
        });
        const denied = await messages(brought(denying));
        assert.deepEqual(denied.map(lacking), [
            "MembersDecryptTheirSecretsThroughSecretsManager",
            "ApiServerDecryptsItsSecretsThroughSecretsManager",
        ]);
        assert.match(denied[0], /cannot kms:Decrypt: statement "OnlyFromTheOffice" denies it/);
        const numeric = document(ADMIN, ...USES, {
            Sid: "BusinessHours",
            Effect: "Deny",
            Principal: "*",
            Action: "kms:Decrypt",
            Resource: "*",
            Condition: { NumericGreaterThan: { "aws:MultiFactorAuthAge": "3600" } },
        });
        const undecided = await messages(brought(numeric));
        assert.equal(undecided.length, 3);
        assert.match(
            undecided[0],
            /"BusinessHours" decides it with NumericGreaterThan, which this check does not evaluate/,
        );
    });

    it("reads an aws.kms.KeyPolicy for the key over the key's own policy", async () => {
        const attached = (policy: string): Fixture => ({
            type: TYPES.kmsKeyPolicy,
            name: "app-secrets-key-policy",
            props: { keyId: KEY_ARN.split("/")[1], policy },
            dependsOn: { keyId: ["app-secrets-key"] },
        });
        assert.deepEqual(await messages(brought(undefined, [attached(document(ADMIN, ...USES))])), []);
        // ADMIN (the deployer, kms:*) still covers the deployer's statement; the nodes' are gone.
        assert.equal((await messages(brought(document(ADMIN, ...USES), [attached(document(ADMIN))]))).length, 2);
    });

    it("judges nothing unknown (preview), nor a key outside the stack", async () => {
        assert.deepEqual(await messages(brought(UNKNOWN.string)), []);
        assert.deepEqual(await messages(brought(undefined, [], UNKNOWN.string)), []);
        const elsewhere = brought(undefined).filter((r) => r.name !== "app-secrets-key");
        assert.equal(
            (await runStackPolicy(etcdKeyPolicyUsers, elsewhere)).notApplicable,
            "no KMS key a SecureEtcdCluster uses is defined in this stack with a known policy",
        );
    });

    it("the component's own key policy meets its own statements, with and without roles named", async () => {
        for (const access of [ACCESS, { ...ACCESS, memberRoleNames: [], apiServerRoleNames: [] }]) {
            const policy = secretsKeyPolicy(MOCK_POLICY_SCOPE, access, BASE);
            const uses = JSON.stringify(useStatements(policy));
            assert.deepEqual(await messages(brought(JSON.stringify(policy), [], uses)), []);
        }
        // keyPolicy's administrators alone (no use statement) meet none of them.
        const adminsOnly = JSON.stringify(keyPolicy(MOCK_POLICY_SCOPE, [MOCK_CALLER_ARN], []));
        assert.equal((await messages(brought(adminsOnly))).length, 3);
    });
});
