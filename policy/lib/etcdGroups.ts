// Which security groups are etcd members' groups: the group a SecureEtcdCluster created, or the
// existing group it added its rules to (securityGroupId), wherever else in the stack it is defined.
import { PolicyResource } from "@pulumi/policy";
import { ingressOf } from "./ingress";
import { clusterOf, dependencyUrns, ofType, propsOf, refersTo } from "./stack";
import { TYPES } from "./types";
import { readString, UNKNOWN, Unknown } from "./values";

export interface EtcdGroup {
    cluster: PolicyResource;
    /** The group's resource, when it is in this stack. */
    resource?: PolicyResource;
    /** Known group ids (`sg-...`). */
    ids: string[];
}

/** `arn:aws:ec2:<region>:<account>:security-group/sg-...` -> `sg-...` (outputs carry the ARN, not the id). */
function idsOfGroupResource(group: PolicyResource): string[] {
    const props = propsOf(group);
    const ids: string[] = [];
    const id = readString(props.id);
    if (typeof id === "string") {
        ids.push(id);
    }
    const arn = readString(props.arn);
    if (typeof arn === "string" && arn.includes(":security-group/")) {
        ids.push(arn.slice(arn.lastIndexOf("/") + 1));
    }
    return ids;
}

const RULE_TYPES: string[] = [TYPES.ingressRule, TYPES.securityGroupRule];

export function etcdGroups(resources: PolicyResource[]): EtcdGroup[] {
    const groups: EtcdGroup[] = [];
    const sgs = ofType(resources, TYPES.securityGroup);
    for (const sg of sgs) {
        const cluster = clusterOf(sg);
        if (cluster) {
            groups.push({ cluster, resource: sg, ids: idsOfGroupResource(sg) });
        }
    }
    // A group the cluster did not create: its rules name it.
    for (const rule of ofType(resources, RULE_TYPES)) {
        const cluster = clusterOf(rule);
        if (!cluster) {
            continue;
        }
        const byDependency = dependencyUrns(rule, "securityGroupId");
        if (groups.some((g) => g.resource && byDependency.includes(g.resource.urn))) {
            continue;
        }
        const owner = sgs.find((sg) => byDependency.includes(sg.urn));
        const id = readString(propsOf(rule).securityGroupId);
        const known = typeof id === "string" ? [id] : [];
        const existing = groups.find(
            (g) => (owner && g.resource?.urn === owner.urn) || known.some((k) => g.ids.includes(k)),
        );
        if (existing) {
            existing.ids.push(...known.filter((k) => !existing.ids.includes(k)));
        } else if (owner || known.length > 0) {
            const resource = owner ?? sgs.find((sg) => idsOfGroupResource(sg).some((i) => known.includes(i)));
            groups.push({ cluster, resource, ids: [...known, ...(resource ? idsOfGroupResource(resource) : [])] });
        }
    }
    return groups;
}

/** Whether a rule (by its securityGroupId) belongs to a group; UNKNOWN when that cannot be told yet. */
export function ruleIsOn(rule: PolicyResource, group: EtcdGroup): boolean | Unknown {
    if (group.resource) {
        return refersTo(rule, "securityGroupId", group.resource, group.ids);
    }
    const id = readString(propsOf(rule).securityGroupId);
    return id === UNKNOWN ? UNKNOWN : id !== undefined && group.ids.includes(id);
}

/** Every ingress rule resource (either type) in the stack. */
export function ingressRuleResources(resources: PolicyResource[]): PolicyResource[] {
    return ofType(resources, RULE_TYPES).filter((r) => {
        const rules = ingressOf(r.type, propsOf(r));
        return rules === UNKNOWN || rules.length > 0;
    });
}
