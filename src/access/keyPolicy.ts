// KMS key policies as pure functions: administrators who manage a key but cannot use it, and
// named users, each allowed only the operations and the context they need.
import { PolicyDocument, PolicyStatement } from "../core/policyDocument";

/** The account a key lives in, and who is running `pulumi up` (it writes the secrets). */
export interface KeyPolicyScope {
    partition: string;
    accountId: string;
    region: string;
    /** `getCallerIdentity`'s ARN: an IAM user, an assumed-role session, or the root. */
    deployerArn: string;
}

/**
 * What administration means: everything that manages a key and nothing that uses one (no
 * Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign, Verify, and no CreateGrant, which would hand
 * use on: AWS's console default `kms:Create*` includes it).
 */
export const KEY_ADMINISTRATION_ACTIONS = [
    "kms:Describe*",
    "kms:Get*",
    "kms:List*",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:Enable*",
    "kms:Disable*",
    "kms:Put*",
    "kms:Update*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:RotateKeyOnDemand",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
];

export const accountRoot = (scope: Pick<KeyPolicyScope, "partition" | "accountId">) =>
    `arn:${scope.partition}:iam::${scope.accountId}:root`;

/**
 * `aws:PrincipalArn` patterns for IAM role names: a role's ARN carries its path, and a name is
 * unique in an account whatever the path, so `role/<name>` and `role/*\/<name>` match that role only.
 */
export function rolePrincipalArns(scope: Pick<KeyPolicyScope, "partition" | "accountId">, names: string[]): string[] {
    const base = `arn:${scope.partition}:iam::${scope.accountId}`;
    return names.flatMap((name) => [`${base}:role/${name}`, `${base}:role/*/${name}`]);
}

/**
 * The `aws:PrincipalArn` of the identity running `pulumi up`: an assumed-role session acts as its
 * role (the session name changes from run to run), a user or the root as itself.
 */
export function deployerPrincipalArns(scope: KeyPolicyScope): string[] {
    const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(scope.deployerArn);
    if (session) {
        return rolePrincipalArns({ partition: session[1], accountId: session[2] }, [session[3]]);
    }
    const user = /^arn:([^:]+):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(scope.deployerArn);
    if (user) {
        const base = `arn:${user[1]}:iam::${user[2]}:user`;
        return [`${base}/${user[3]}`, `${base}/*/${user[3]}`];
    }
    return [scope.deployerArn];
}

/** One use of a key: who, which operations, under which conditions. */
export interface KeyUse {
    sid: string;
    /** Role names; with none (and no principal or service) named, this use is left to IAM policies. */
    roles?: string[];
    /** `aws:PrincipalArn` patterns, when the user is not a role by name. */
    principalArns?: string[];
    /** A service principal, e.g. `cloudwatch.amazonaws.com`. */
    service?: string;
    actions: string[];
    condition?: PolicyStatement["Condition"];
}

/** Merges condition blocks: the same operator's keys side by side. */
function mergeConditions(...blocks: (PolicyStatement["Condition"] | undefined)[]): PolicyStatement["Condition"] {
    const merged: NonNullable<PolicyStatement["Condition"]> = {};
    for (const block of blocks) {
        for (const [operator, keys] of Object.entries(block ?? {})) {
            merged[operator] = { ...(merged[operator] ?? {}), ...keys };
        }
    }
    return Object.keys(merged).length > 0 ? merged : undefined;
}

function useStatement(scope: KeyPolicyScope, use: KeyUse): PolicyStatement {
    const statement = (principal: PolicyStatement["Principal"], condition: PolicyStatement["Condition"]) => ({
        Sid: use.sid,
        Effect: "Allow" as const,
        Principal: principal,
        Action: use.actions,
        Resource: "*",
        ...(condition ? { Condition: condition } : {}),
    });
    if (use.service) {
        return statement({ Service: use.service }, use.condition);
    }
    const named = [...rolePrincipalArns(scope, use.roles ?? []), ...(use.principalArns ?? [])];
    if (named.length === 0) {
        // Nobody named: the account delegates this use to IAM policies, as AWS's default key policy does.
        return statement({ AWS: accountRoot(scope) }, use.condition);
    }
    // The account as principal keeps IAM in the loop (the role's own policy must allow it too); the
    // condition narrows the key policy's part to the named principals.
    return statement(
        { AWS: accountRoot(scope) },
        mergeConditions({ ArnLike: { "aws:PrincipalArn": named } }, use.condition),
    );
}

/** The administrators' statement's Sid: every other statement of a key policy is a use. */
export const KEY_ADMINISTRATION_SID = "KeyAdministration";

/**
 * A key policy's use statements: what a key someone brings needs in its own policy, beside its
 * administrators, for the users the component names to work.
 */
export function useStatements(document: PolicyDocument): PolicyStatement[] {
    return document.Statement.filter((s) => s.Sid !== KEY_ADMINISTRATION_SID);
}

/** A key policy: the administrators' statement, then one statement per use. */
export function keyPolicy(scope: KeyPolicyScope, administrators: string[] | undefined, uses: KeyUse[]): PolicyDocument {
    const admins = administrators && administrators.length > 0 ? administrators : [accountRoot(scope)];
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: KEY_ADMINISTRATION_SID,
                Effect: "Allow",
                Principal: { AWS: admins.length === 1 ? admins[0] : admins },
                Action: KEY_ADMINISTRATION_ACTIONS,
                Resource: "*",
            },
            ...uses.map((use) => useStatement(scope, use)),
        ],
    };
}
