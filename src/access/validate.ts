// Rules for who administers and uses the keys: IAM principal ARNs and IAM role names, each once.
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";

/** An IAM role or user ARN (with any path), or an account's root. */
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;

export function roleNameListProblems(path: string, list: unknown): Problem[] {
    if (!Array.isArray(list)) {
        return [{ path, reason: 'must be a list of IAM role names, e.g. ["etcd-member"]' }];
    }
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    list.forEach((role: unknown, i) => {
        if (typeof role !== "string" || !/^[\w+=,.@-]{1,64}$/.test(role)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(role)} is not an IAM role name; give the role's name (not its ARN): 1 to 64 letters, digits and +=,.@_-`,
            });
        } else if (seen.has(role)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(role)} is already ${path}[${seen.get(role)}]; name each role once`,
            });
        } else {
            seen.set(role, i);
        }
    });
    return problems;
}

export function keyAdministratorArnsProblems(list: unknown, given: boolean): Problem[] {
    const path = "keyAdministratorArns";
    if (!Array.isArray(list)) {
        return [
            {
                path,
                reason: 'must be a list of IAM role or user ARNs, e.g. ["arn:aws:iam::123456789012:role/platform-admin"]',
            },
        ];
    }
    if (given && list.length === 0) {
        return [
            {
                path,
                reason: "is empty, which would leave the keys without administrators; name at least one, or leave it out for the account root",
            },
        ];
    }
    const problems: Problem[] = [];
    list.forEach((arn: unknown, i) => {
        if (typeof arn !== "string" || !IAM_PRINCIPAL_ARN.test(arn)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(arn)} is not an IAM role or user ARN; give arn:aws:iam::<account>:role/<name>, arn:aws:iam::<account>:user/<name> or arn:aws:iam::<account>:root (an assumed-role session ARN changes with every session)`,
            });
        } else if (list.indexOf(arn) !== i) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(arn)} is already ${path}[${list.indexOf(arn)}]; name each principal once`,
            });
        }
    });
    return problems;
}

interface AccessView {
    keyAdministratorArns: unknown;
    memberRoleNames: unknown;
    apiServerRoleNames: unknown;
}

export const ACCESS_RULES: ArgRule<AccessView>[] = [
    argRule(
        ["keyAdministratorArns"],
        (a, given) => ({ list: a.keyAdministratorArns, given: given.has("keyAdministratorArns") }),
        (v) => keyAdministratorArnsProblems(v.list, v.given),
    ),
    argRule(
        ["memberRoleNames"],
        (a) => a.memberRoleNames,
        (l) => roleNameListProblems("memberRoleNames", l),
    ),
    argRule(
        ["apiServerRoleNames"],
        (a) => a.apiServerRoleNames,
        (l) => roleNameListProblems("apiServerRoleNames", l),
    ),
];

/** A VPC endpoint id: `vpce-` and 8 (older) or 17 hex digits. */
export const VPC_ENDPOINT_ID = /^vpce-([0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * A list of VPC endpoint ids. The list itself must be plain (its length decides which resources
 * exist); each id may be an Output, checked when it resolves. Given empty, it would restrict nothing.
 */
export function vpcEndpointIdListProblems(path: string, list: unknown, given: boolean): Problem[] {
    if (!Array.isArray(list)) {
        return [
            {
                path,
                reason: 'must be a list of VPC endpoint ids, e.g. ["vpce-0123456789abcdef0"] (a list of Outputs is fine; an Output of a list is not)',
            },
        ];
    }
    if (given && list.length === 0) {
        return [{ path, reason: "is empty, which restricts nothing; name at least one VPC endpoint, or leave it out" }];
    }
    const problems: Problem[] = [];
    list.forEach((id: unknown, i) => {
        if (typeof id !== "string" || !VPC_ENDPOINT_ID.test(id)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(id)} is not a VPC endpoint id; give the endpoint's id, "vpce-" and 8 or 17 lowercase hex digits (e.g. "vpce-0123456789abcdef0"), not its ARN or DNS name`,
            });
        } else if (list.indexOf(id) !== i) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(id)} is already ${path}[${list.indexOf(id)}]; name each endpoint once`,
            });
        }
    });
    return problems;
}

/**
 * Two rules for one list of endpoint ids: its shape now (it must be a plain list), and its ids,
 * now or when the Outputs among them resolve.
 */
export function vpcEndpointIdRules<R, K extends keyof R & string>(
    key: K,
    applies: (args: R) => boolean = () => true,
): ArgRule<R>[] {
    return [
        argRule(
            [key],
            (a, given) => (applies(a) && given.has(key) && !Array.isArray(a[key]) ? true : undefined),
            (notAList) => (notAList ? vpcEndpointIdListProblems(key, undefined, true) : []),
        ),
        argRule(
            [key],
            (a, given) =>
                applies(a) && Array.isArray(a[key]) ? { list: a[key] as unknown[], given: given.has(key) } : undefined,
            (v) => (v === undefined ? [] : vpcEndpointIdListProblems(key, v.list, v.given)),
        ),
    ];
}
