// Whether a KMS key's policy lets each user a SecureEtcdCluster names do what it needs. The needs
// come from the component's own use statements (its keys carry them; its `keyPolicyStatements`
// output publishes them): one request per principal and action, with a context that satisfies the
// statement's conditions. A key policy is judged by evaluating those requests against it as KMS
// does for the key policy's part of a decision: a matching Deny refuses, else a matching Allow is
// needed. Condition operators outside the string, ARN, Bool and Null families are not evaluated: a
// statement that depends on one is reported as undecided, never guessed. A test checks these
// decisions against an independent IAM simulator.

/** A policy statement as found in a key policy: any shape JSON allows, read defensively. */
interface AnyStatement {
    Sid?: unknown;
    Effect?: unknown;
    Principal?: unknown;
    NotPrincipal?: unknown;
    Action?: unknown;
    NotAction?: unknown;
    Condition?: unknown;
}

/** One request a named user must be able to make with the key. */
export interface KeyNeed {
    /** The component's statement that grants it (its Sid): what to add when it is missing. */
    statement: string;
    /** An IAM principal ARN, or a service principal such as `cloudwatch.amazonaws.com`. */
    principal: string;
    /**
     * Whether the component names this user in its key policy; false when it leaves the use to
     * IAM (no role named), where a statement for the account root is what the component writes too.
     */
    named: boolean;
    action: string;
    context: Record<string, string>;
}

/**
 * Operations a wildcard in the component's statements stands for that a user actually needs:
 * Secrets Manager writes with GenerateDataKey and reads with Decrypt; ReEncrypt* only serves a
 * secret moving to another key, so a key you bring need not grant it.
 */
const NEEDED_FOR_WILDCARD: Record<string, string[]> = {
    "kms:GenerateDataKey*": ["kms:GenerateDataKey"],
    "kms:ReEncrypt*": [],
};

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
const strings = (v: unknown): string[] => list(v).filter((s): s is string => typeof s === "string");

/** A value matching an IAM `*`/`?` pattern: the example request's value for a `Like` condition. */
const exampleOf = (pattern: string) => pattern.replace(/\*/g, "example").replace(/\?/g, "x");

/** The account a root principal (`arn:...:iam::<account>:root`) stands for. */
function accountOfRoot(principal: unknown): { partition: string; accountId: string } | undefined {
    for (const p of strings((principal as { AWS?: unknown } | undefined)?.AWS)) {
        const m = /^arn:([^:]+):iam::(\d{12}):root$/.exec(p);
        if (m) {
            return { partition: m[1], accountId: m[2] };
        }
    }
    return undefined;
}

/** The requests the users of the component's use statements must be able to make. */
export function keyNeeds(statements: readonly AnyStatement[]): KeyNeed[] {
    return statements.flatMap((s) => {
        if (s.Effect !== "Allow" || typeof s.Sid !== "string") {
            return [];
        }
        const sid = s.Sid;
        const conditions = (s.Condition ?? {}) as Record<string, Record<string, unknown>>;
        const named = strings(conditions.ArnLike?.["aws:PrincipalArn"]).filter((p) => !p.includes("*"));
        const context: Record<string, string> = {};
        for (const [operator, keys] of Object.entries(conditions)) {
            for (const [key, values] of Object.entries(keys)) {
                const [first] = strings(values);
                if (key === "aws:PrincipalArn" || first === undefined) {
                    continue;
                }
                context[key] = /Like$/.test(operator) ? exampleOf(first) : first;
            }
        }
        const services = strings((s.Principal as { Service?: unknown } | undefined)?.Service);
        const root = accountOfRoot(s.Principal);
        const principals: [string, boolean][] =
            services.length > 0
                ? services.map((svc) => [svc, true])
                : named.length > 0
                  ? named.map((arn) => [arn, true])
                  : root
                    ? [[`arn:${root.partition}:iam::${root.accountId}:role/any-role-iam-allows`, false]]
                    : [];
        const actions = strings(s.Action).flatMap((a) => (a.includes("*") ? (NEEDED_FOR_WILDCARD[a] ?? []) : [a]));
        return principals.flatMap(([principal, isNamed]) =>
            actions.map((action) => ({ statement: sid, principal, named: isNamed, action, context })),
        );
    });
}

/** How a key policy answers one need. */
export type KeyNeedDecision =
    | { result: "allowed"; by: string }
    /** Allowed only by a statement for the whole account: IAM, not the key policy, decides who. */
    | { result: "left-to-iam"; by: string }
    | { result: "denied"; by: string }
    | { result: "not-allowed" }
    /** A condition operator this evaluator does not know decides it. */
    | { result: "undecided"; by: string; operator: string };

const wildcard = (pattern: string, value: string, caseless: boolean) =>
    new RegExp(
        `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
        caseless ? "i" : "",
    ).test(value);

/** An IAM principal's account; undefined for a service principal. */
const accountOf = (arn: string) => /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

interface PrincipalMatch {
    matches: boolean;
    /** Matched only as a member of an account named as a whole (the root or the account id). */
    asAccount: boolean;
}

/**
 * A role or user ARN without its path: names are unique in an account whatever the path, and the
 * component knows roles by name, so `role/etcd` and `role/platform/etcd` are the same role.
 */
const withoutPath = (arn: string) =>
    arn.replace(/^(arn:[^:]+:iam::\d{12}:(?:role|user)\/)(?:[^/]+\/)*([^/]+)$/, "$1$2");

function principalMatch(principal: unknown, who: string): PrincipalMatch {
    if (principal === "*") {
        return { matches: true, asAccount: false };
    }
    const p = (principal ?? {}) as { AWS?: unknown; Service?: unknown };
    if (who.endsWith(".amazonaws.com")) {
        return { matches: strings(p.Service).includes(who), asAccount: false };
    }
    const aws = strings(p.AWS);
    if (aws.includes("*") || aws.some((a) => withoutPath(a) === withoutPath(who))) {
        return { matches: true, asAccount: false };
    }
    const account = accountOf(who);
    const asAccount = aws.some((a) => a === account || a === `arn:${who.split(":")[1]}:iam::${account}:root`);
    return { matches: asAccount, asAccount };
}

type Tri = boolean | { operator: string };

const COMPARE: Record<string, (pattern: string, value: string) => boolean> = {
    StringEquals: (p, v) => p === v,
    StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
    StringLike: (p, v) => wildcard(p, v, false),
    ArnEquals: (p, v) => p === v,
    ArnLike: (p, v) => wildcard(p, v, false),
    Bool: (p, v) => p.toLowerCase() === v.toLowerCase(),
};

/**
 * One condition operator over the request's context; `{ operator }` when it is not one of the
 * string, ARN, Bool or Null operators (numbers, dates, IP addresses are not modelled, and the
 * request's context holds only what the need sets: a guess there could hide a refusal).
 */
function conditionHolds(operator: string, key: string, values: string[], context: Record<string, string>): Tri {
    const qualified = /^(ForAnyValue:|ForAllValues:)?(.+?)(IfExists)?$/.exec(operator)!;
    const base = qualified[2];
    const value = context[key];
    if (base === "Null") {
        return values.includes(String(value === undefined));
    }
    const test = COMPARE[base.replace("Not", "")];
    if (test === undefined) {
        return { operator };
    }
    if (value === undefined) {
        return qualified[3] !== undefined || qualified[1] === "ForAllValues:" || base.includes("Not");
    }
    const any = values.some((p) => test(p, value));
    return base.includes("Not") ? !any : any;
}

function conditionsHold(condition: unknown, context: Record<string, string>): Tri {
    for (const [operator, keys] of Object.entries((condition ?? {}) as Record<string, Record<string, unknown>>)) {
        for (const [key, values] of Object.entries(keys ?? {})) {
            const holds = conditionHolds(operator, key, strings(values), context);
            if (holds !== true) {
                return holds;
            }
        }
    }
    return true;
}

const actionMatches = (patterns: string[], action: string) => patterns.some((p) => wildcard(p, action, true));

/** What the key policy says to one need (the key-policy half of KMS's decision). */
export function decideKeyNeed(policy: { Statement?: unknown }, need: KeyNeed): KeyNeedDecision {
    const context: Record<string, string> = { ...need.context };
    if (!need.principal.endsWith(".amazonaws.com")) {
        context["aws:PrincipalArn"] = need.principal;
        context["aws:PrincipalAccount"] = accountOf(need.principal) ?? "";
        context["kms:CallerAccount"] = accountOf(need.principal) ?? "";
    }
    context["aws:SecureTransport"] = "true";
    if (context["kms:ViaService"] !== undefined) {
        context["aws:ViaAWSService"] = "true";
    }
    let allowed: KeyNeedDecision = { result: "not-allowed" };
    for (const [i, raw] of list(policy.Statement).entries()) {
        const s = (raw ?? {}) as AnyStatement;
        const sid = typeof s.Sid === "string" && s.Sid !== "" ? s.Sid : `statement ${i + 1}`;
        const actionHit =
            s.Action !== undefined
                ? actionMatches(strings(s.Action), need.action)
                : s.NotAction !== undefined && !actionMatches(strings(s.NotAction), need.action);
        const who =
            s.Principal !== undefined
                ? principalMatch(s.Principal, need.principal)
                : s.NotPrincipal !== undefined
                  ? { matches: !principalMatch(s.NotPrincipal, need.principal).matches, asAccount: false }
                  : { matches: false, asAccount: false };
        if (!actionHit || !who.matches) {
            continue;
        }
        const holds = conditionsHold(s.Condition, context);
        if (s.Effect === "Deny") {
            if (holds === true) {
                return { result: "denied", by: sid };
            }
            if (holds !== false) {
                return { result: "undecided", by: sid, operator: holds.operator };
            }
        } else if (s.Effect === "Allow" && holds === true && allowed.result !== "allowed") {
            // A statement for the whole account that narrows to principals by ARN names them too.
            const names = JSON.stringify(s.Condition ?? {}).includes('"aws:PrincipalArn"');
            allowed = who.asAccount && !names ? { result: "left-to-iam", by: sid } : { result: "allowed", by: sid };
        } else if (s.Effect === "Allow" && typeof holds === "object" && allowed.result === "not-allowed") {
            allowed = { result: "undecided", by: sid, operator: holds.operator };
        }
    }
    return allowed;
}

/** A statement the key's policy lacks (or that refuses), with the needs it leaves unmet. */
export interface KeyPolicyFinding {
    statement: string;
    unmet: { need: KeyNeed; decision: KeyNeedDecision }[];
}

/**
 * The component's use statements a key policy does not honour: a named user must be allowed by a
 * statement that names it (a statement for the whole account leaves the choice to IAM, which is
 * what naming the roles prevents); a use the component leaves to IAM may be allowed either way.
 */
export function keyPolicyFindings(
    policy: { Statement?: unknown },
    useStatements: readonly AnyStatement[],
): KeyPolicyFinding[] {
    const findings = new Map<string, KeyPolicyFinding>();
    for (const need of keyNeeds(useStatements)) {
        const decision = decideKeyNeed(policy, need);
        const ok = decision.result === "allowed" || (decision.result === "left-to-iam" && !need.named);
        if (!ok) {
            const finding = findings.get(need.statement) ?? { statement: need.statement, unmet: [] };
            finding.unmet.push({ need, decision });
            findings.set(need.statement, finding);
        }
    }
    return [...findings.values()];
}

/** Who cannot do what, and why, for each unmet need of a finding. */
export function keyPolicyFindingText(finding: KeyPolicyFinding): string {
    const parts = finding.unmet.map(({ need, decision }) => {
        const why =
            decision.result === "denied"
                ? `statement ${JSON.stringify(decision.by)} denies it`
                : decision.result === "left-to-iam"
                  ? `only ${JSON.stringify(decision.by)}, a statement for the whole account, allows it: IAM decides who, not the key policy`
                  : decision.result === "undecided"
                    ? `${JSON.stringify(decision.by)} decides it with ${decision.operator}, which this check does not evaluate`
                    : "no statement allows it";
        return `${need.principal} cannot ${need.action}: ${why}`;
    });
    return [...new Set(parts)].join("; ");
}
