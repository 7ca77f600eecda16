// IAM and KMS policy documents as pure functions of ARNs: least privilege, one statement per need.

import { deployerPrincipalArns, keyPolicy, KeyPolicyScope } from "../access/keyPolicy";
import { denyOutsideVpcEndpoints } from "../access/vpcEndpoints";
import { policy, PolicyDocument } from "../core/policyDocument";

/**
 * A node's read access to its own secrets: GetSecretValue on exactly those ARNs, and Decrypt on
 * the secrets key only when Secrets Manager asks on its behalf, for those secrets.
 */
export function secretsReadPolicy(input: { secretArns: string[]; kmsKeyArn: string; region: string }): PolicyDocument {
    return policy(
        {
            Sid: "ReadOwnSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [...input.secretArns],
        },
        {
            Sid: "DecryptThroughSecretsManager",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: input.kmsKeyArn,
            Condition: {
                StringEquals: {
                    "kms:ViaService": `secretsmanager.${input.region}.amazonaws.com`,
                    "kms:EncryptionContext:SecretARN": [...input.secretArns],
                },
            },
        },
    );
}

/** Who uses the secrets key, by role name; administrators as `keyAdministratorArns` resolves. */
export interface SecretsKeyAccess {
    administrators: string[];
    memberRoleNames: string[];
    apiServerRoleNames: string[];
}

/**
 * The secrets key's policy: administrators manage it; the members' roles decrypt the members'
 * secrets, kube-apiserver's roles its own, the identity running `pulumi up` writes (and on refresh
 * reads) them — each only through Secrets Manager, for secrets under this cluster's name (Secrets
 * Manager puts the secret's ARN in every request's encryption context).
 */
export function secretsKeyPolicy(
    scope: KeyPolicyScope,
    access: SecretsKeyAccess,
    secretNameBase: string,
): PolicyDocument {
    const secrets = `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.accountId}:secret:${secretNameBase}/`;
    const through = (path: string) => ({
        StringEquals: { "kms:ViaService": `secretsmanager.${scope.region}.amazonaws.com` },
        StringLike: { "kms:EncryptionContext:SecretARN": `${secrets}${path}` },
    });
    return keyPolicy(scope, access.administrators, [
        {
            sid: "MembersDecryptTheirSecretsThroughSecretsManager",
            roles: access.memberRoleNames,
            actions: ["kms:Decrypt"],
            condition: through("members/*"),
        },
        {
            sid: "ApiServerDecryptsItsSecretsThroughSecretsManager",
            roles: access.apiServerRoleNames,
            actions: ["kms:Decrypt"],
            condition: through("kube-apiserver/*"),
        },
        {
            sid: "DeployerWritesSecretsThroughSecretsManager",
            principalArns: deployerPrincipalArns(scope),
            actions: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
            condition: through("*"),
        },
    ]);
}

/**
 * Every secret's resource policy when `secretsVpcEndpointIds` is given: no one reads a secret's
 * value except through those endpoints, bar the identity running `pulumi up` (it writes the
 * secrets and reads them back on refresh, from wherever it runs). Only the read is denied:
 * managing a secret (describe, tag, its policy, delete) stays where IAM puts it, so the deployer
 * and administrators are never locked out of the policy itself.
 */
export function secretsResourcePolicy(scope: KeyPolicyScope, endpointIds: string[]): PolicyDocument {
    return policy(
        denyOutsideVpcEndpoints({
            sid: "DenyReadsOutsideVpcEndpoints",
            // BatchGetSecretValue also needs GetSecretValue on each secret: this covers it too.
            actions: ["secretsmanager:GetSecretValue"],
            resources: "*",
            endpointIds,
            exemptPrincipalArns: deployerPrincipalArns(scope),
        }),
    );
}

/** What the AWS KMS plugin on a control-plane node needs: this key, these three actions. */
export function kmsPluginPolicy(kmsKeyArn: string): PolicyDocument {
    return policy({
        Sid: "EncryptionAtRestWithThisKey",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
        Resource: kmsKeyArn,
    });
}

/** The encryption-at-rest key (KMS v2 plugin): kube-apiserver's roles encrypt and decrypt with it. */
export function encryptionKeyPolicy(
    scope: KeyPolicyScope,
    access: Pick<SecretsKeyAccess, "administrators" | "apiServerRoleNames">,
): PolicyDocument {
    return keyPolicy(scope, access.administrators, [
        {
            sid: "KmsPluginEncryptsAndDecrypts",
            roles: access.apiServerRoleNames,
            actions: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
        },
    ]);
}

/** `arn:<partition>:kms:<region>:<account>:key/<id>`; aliases and bare ids are not key ARNs. */
export const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;

export function kmsKeyArnProblem(value: string): string | undefined {
    if (KMS_KEY_ARN.test(value)) {
        return undefined;
    }
    if (/:alias\//.test(value) || value.startsWith("alias/")) {
        return `${JSON.stringify(value)} is a key alias; give the key's ARN (arn:aws:kms:<region>:<account>:key/<id>): an alias can be re-pointed to another key, which would leave everything encrypted so far unreadable`;
    }
    return `${JSON.stringify(value)} is not a KMS key ARN; give arn:aws:kms:<region>:<account>:key/<id>`;
}
