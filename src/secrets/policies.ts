// IAM and KMS policy documents as pure functions of ARNs: least privilege, one statement per need.

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal?: Record<string, string | string[]>;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

function policy(...statements: PolicyStatement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

/**
 * A node's read access to its own secrets: GetSecretValue on exactly those ARNs, and Decrypt on
 * the secrets key only when Secrets Manager asks on its behalf.
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
            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${input.region}.amazonaws.com` } },
        },
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

/**
 * An explicit key policy: the account administers the key, so IAM policies (such as the ones
 * above) decide who uses it. Written out rather than left to the service default, so a review
 * sees it.
 */
export function accountKeyPolicy(input: { partition: string; accountId: string }): PolicyDocument {
    return policy({
        Sid: "AccountAdministersThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:${input.partition}:iam::${input.accountId}:root` },
        Action: "kms:*",
        Resource: "*",
    });
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
