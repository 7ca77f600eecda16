// Suppressions, as cdk-nag has them: a named resource exempted from one policy, always with a reason.
// Each policy's config takes `suppressions: [{ resource, reason }]` (the policy is the config key it
// sits under). A suppression without a reason is itself a violation and is not applied.
import { PolicyResource, ReportViolation } from "@pulumi/policy";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { EtcdPolicy, EtcdResourcePolicy, EtcdStackPolicy, isStackPolicy } from "./types";
import { plainProps } from "./values";

export interface Suppression {
    /** The resource's URN or its name. */
    resource?: unknown;
    /** Why the exemption is acceptable (ticket, accepted risk, expiry). Required. */
    reason?: unknown;
}

export const SUPPRESSIONS_SCHEMA: PolicyConfigJSONSchema = {
    type: "array",
    description:
        "Resources exempted from this policy: { resource: URN or resource name, reason: why (required; a suppression without a reason is a violation and is not applied) }.",
    items: {
        type: "object",
        properties: {
            resource: { type: "string", description: "The resource's URN, or its name." },
            reason: { type: "string", description: "Why this exemption is acceptable, e.g. a ticket and an expiry." },
        },
        // A reason is not required here but checked by the policy: its absence is a violation, not a config error.
        required: ["resource"],
        additionalProperties: false,
    },
    default: [],
};

function suppressionsOf(config: unknown): Suppression[] {
    const list = plainProps(config).suppressions;
    return Array.isArray(list) ? list.map((s: unknown) => (typeof s === "object" && s !== null ? s : {})) : [];
}

const hasReason = (s: Suppression) => typeof s.reason === "string" && s.reason.trim().length > 0;

const matches = (s: Suppression, urn: string | undefined, name: string | undefined) =>
    typeof s.resource === "string" && s.resource.length > 0 && (s.resource === urn || s.resource === name);

function unexplained(policy: string, s: Suppression): string {
    const which =
        typeof s.resource === "string" && s.resource.length > 0 ? JSON.stringify(s.resource) : "(no resource)";
    return `The suppression of ${which} from ${policy} has no reason, so it is not applied. Give every suppression a reason, e.g. { "resource": ${which === "(no resource)" ? '"<urn or name>"' : which}, "reason": "accepted risk: <why>, <ticket>, until <date>" }, or remove it.`;
}

/** The same policy, honouring (and checking) the suppressions in its config. */
export function withSuppressions(policy: EtcdPolicy): EtcdPolicy {
    return isStackPolicy(policy) ? suppressibleStack(policy) : suppressibleResource(policy);
}

function withSchema<P extends EtcdPolicy>(policy: P): P["configSchema"] {
    return {
        ...policy.configSchema,
        properties: { ...(policy.configSchema?.properties ?? {}), suppressions: SUPPRESSIONS_SCHEMA },
    };
}

function suppressibleStack(policy: EtcdStackPolicy): EtcdStackPolicy {
    return {
        ...policy,
        configSchema: withSchema(policy),
        validateStack: async (args, reportViolation) => {
            const suppressions = suppressionsOf(args.getConfig());
            const byUrn = new Map<string, PolicyResource>(args.resources.map((r) => [r.urn, r]));
            for (const s of suppressions.filter((x) => !hasReason(x))) {
                const target = args.resources.find((r) => matches(s, r.urn, r.name));
                reportViolation(unexplained(policy.name, s), target?.urn);
            }
            const report: ReportViolation = (message, urn) => {
                const name = urn === undefined ? undefined : byUrn.get(urn)?.name;
                if (urn === undefined || !suppressions.some((s) => hasReason(s) && matches(s, urn, name))) {
                    reportViolation(message, urn);
                }
            };
            await policy.validateStack(args, report);
        },
    };
}

function suppressibleResource(policy: EtcdResourcePolicy): EtcdResourcePolicy {
    return {
        ...policy,
        configSchema: withSchema(policy),
        validateResource: async (args, reportViolation) => {
            const matching = suppressionsOf(args.getConfig()).filter((s) => matches(s, args.urn, args.name));
            for (const s of matching.filter((x) => !hasReason(x))) {
                reportViolation(unexplained(policy.name, s));
            }
            if (matching.some(hasReason)) {
                return;
            }
            await policy.validateResource(args, reportViolation);
        },
    };
}
