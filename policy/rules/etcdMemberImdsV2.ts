// A node that runs an etcd member reads its secrets with the instance role, whose credentials come
// from the instance metadata service: only IMDSv2 (a session token first, which a forwarded request
// cannot get) and one hop (nothing behind a bridge network reaches it). Members are the instances and
// launch templates whose user data comes from a SecureEtcdCluster; an instance launched from a
// template takes the template's metadata options unless it sets its own.
import { PolicyResource } from "@pulumi/policy";
import { numberSetting } from "../lib/config";
import { clusterOf, dependencyUrns, labelOf, ofType, propsOf } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy, TYPES } from "../lib/types";
import { readNumber, readObject, readString, UNKNOWN } from "../lib/values";

const USER_DATA = ["userData", "userDataBase64"];

/**
 * The cluster whose user data a resource carries, if any: its user data was computed from the
 * cluster (the SDK records a component dependency as the component's children, so a child counts).
 */
function clusterOfUserData(resource: PolicyResource, byUrn: Map<string, PolicyResource>): PolicyResource | undefined {
    for (const urn of USER_DATA.flatMap((p) => dependencyUrns(resource, p))) {
        const source = byUrn.get(urn);
        const cluster = source && (source.type === COMPONENT.cluster ? source : clusterOf(source));
        if (cluster) {
            return cluster;
        }
    }
    return undefined;
}

/** The launch template an instance was launched from (by dependency), if any. */
function templateOf(instance: PolicyResource, templates: PolicyResource[]): PolicyResource | undefined {
    const urns = dependencyUrns(instance, "launchTemplate");
    return templates.find((t) => urns.includes(t.urn));
}

/** What is wrong with metadata options, or nothing (also when not known yet). */
export function metadataOptionsProblems(options: unknown, maxHopLimit: number): string[] {
    const o = readObject(options);
    if (o === UNKNOWN) {
        return [];
    }
    const endpoint = readString(o?.httpEndpoint);
    if (endpoint === "disabled") {
        return [];
    }
    const problems: string[] = [];
    const tokens = readString(o?.httpTokens);
    if (tokens !== UNKNOWN && tokens !== "required") {
        problems.push(
            `allows IMDSv1 (metadataOptions.httpTokens ${JSON.stringify(tokens ?? "optional")}); set httpTokens: "required"`,
        );
    }
    const hops = readNumber(o?.httpPutResponseHopLimit);
    if (hops !== UNKNOWN && (hops === undefined || hops > maxHopLimit)) {
        problems.push(
            `lets metadata responses travel ${hops ?? "the default number of"} hops (metadataOptions.httpPutResponseHopLimit); set it to ${maxHopLimit}`,
        );
    }
    return problems;
}

export const etcdMemberImdsV2: EtcdStackPolicy = {
    name: "etcd-member-imdsv2",
    description:
        "Instances and launch templates that run a SecureEtcdCluster member require IMDSv2 (httpTokens: required) with a response hop limit of 1, so the instance role that reads the member's keys cannot be borrowed.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        'Set metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 } on the instance or its launch template.',
    configSchema: {
        properties: {
            maxHopLimit: {
                type: "integer",
                minimum: 1,
                maximum: 64,
                default: 1,
                description: "The largest httpPutResponseHopLimit accepted.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const byUrn = new Map(args.resources.map((r) => [r.urn, r]));
        const templates = ofType(args.resources, TYPES.launchTemplate);
        const instances = ofType(args.resources, TYPES.instance);
        const maxHopLimit = numberSetting(args.getConfig(), "maxHopLimit", 1);
        let judged = 0;
        const judge = (resource: PolicyResource, cluster: PolicyResource, options: unknown, from?: PolicyResource) => {
            judged++;
            for (const problem of metadataOptionsProblems(options, maxHopLimit)) {
                const source = from ? ` (from ${labelOf(from)})` : "";
                reportViolation(
                    `${labelOf(resource)} runs a member of SecureEtcdCluster "${cluster.name}" and ${problem}${source}.`,
                    resource.urn,
                );
            }
        };
        for (const template of templates) {
            const cluster = clusterOfUserData(template, byUrn);
            if (cluster) {
                judge(template, cluster, propsOf(template).metadataOptions);
            }
        }
        for (const instance of instances) {
            const template = templateOf(instance, templates);
            const cluster = clusterOfUserData(instance, byUrn) ?? (template && clusterOfUserData(template, byUrn));
            if (!cluster) {
                continue;
            }
            const own = propsOf(instance).metadataOptions;
            if (own !== undefined || !template) {
                judge(instance, cluster, own);
            } else if (!clusterOfUserData(template, byUrn)) {
                // A template that carries no member's user data was not judged above.
                judge(instance, cluster, propsOf(template).metadataOptions, template);
            }
        }
        if (judged === 0) {
            args.notApplicable("no instance or launch template carries a SecureEtcdCluster member's user data");
        }
    },
};
