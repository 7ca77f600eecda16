// The peer port 2380 of an etcd members' group admits the group itself and nothing else: a peer
// connection carries every write of the cluster. Stack-level, because telling which group is the
// etcd group (and whether a source is that same group) needs the resource tree and, during a
// preview, the property dependencies that link a rule to a group whose id is not known yet.
import { PolicyResource } from "@pulumi/policy";
import { ETCD_PORTS } from "secure-etcd/rules";
import { EtcdGroup, etcdGroups, ingressRuleResources, ruleIsOn } from "../lib/etcdGroups";
import { coversPort, IngressView, ingressOf } from "../lib/ingress";
import { labelOf, propsOf } from "../lib/stack";
import { EtcdStackPolicy } from "../lib/types";
import { readString, UNKNOWN } from "../lib/values";

const PEER = ETCD_PORTS.peer;

/**
 * The sources of a rule other than the group itself (known ones only: an unknown source is not
 * judged). `ruleResource` is the rule's own resource; absent for a group's inline blocks.
 */
function foreignSources(rule: IngressView, group: EtcdGroup, ruleResource: PolicyResource | undefined): string[] {
    const sources: string[] = [];
    for (const cidr of rule.cidrs) {
        if (cidr !== UNKNOWN) {
            sources.push(cidr);
        }
    }
    for (const list of rule.prefixLists) {
        if (list !== UNKNOWN) {
            sources.push(`prefix list ${list}`);
        }
    }
    // The group itself: its id, or the rule's own securityGroupId. A source not known yet is not judged;
    // a known one cannot be a group that does not exist yet.
    const ownId = ruleResource ? readString(propsOf(ruleResource).securityGroupId) : undefined;
    for (const source of rule.groups) {
        if (source !== UNKNOWN && !group.ids.includes(source) && source !== ownId) {
            sources.push(`security group ${source}`);
        }
    }
    return sources;
}

export const etcdPeerPortMembersOnly: EtcdStackPolicy = {
    name: "etcd-peer-port-members-only",
    description:
        "On an etcd members' security group, port 2380 (peer) is admitted only from that group itself: referencedSecurityGroupId equal to securityGroupId, or self: true.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Remove the rule, or make its source the etcd group itself; clients reach etcd on 2379 (clientSecurityGroupIds).",
    validateStack: (args, reportViolation) => {
        const groups = etcdGroups(args.resources);
        if (groups.length === 0) {
            args.notApplicable("no SecureEtcdCluster security group in this stack");
        }
        const report = (label: string, resource: PolicyResource, group: EtcdGroup, sources: string[]) =>
            reportViolation(
                `The ${label} of ${labelOf(resource)} admits ${sources.join(", ")} to etcd's peer port ${PEER} on the members' security group of SecureEtcdCluster "${group.cluster.name}". Peer traffic must come from the members only: make the source the group itself (referencedSecurityGroupId equal to securityGroupId, or self: true), and admit clients on ${ETCD_PORTS.client} instead.`,
                resource.urn,
            );
        for (const resource of ingressRuleResources(args.resources)) {
            const rules = ingressOf(resource.type, propsOf(resource));
            if (rules === UNKNOWN) {
                continue;
            }
            for (const group of groups) {
                if (ruleIsOn(resource, group) !== true) {
                    continue; // Another group, or not known yet.
                }
                for (const rule of rules.filter((r) => coversPort(r, PEER) === true && r.self !== true)) {
                    const sources = foreignSources(rule, group, resource);
                    if (sources.length > 0) {
                        report(rule.label, resource, group, sources);
                    }
                }
            }
        }
        // Inline rules on the group itself.
        for (const group of groups) {
            const rules = group.resource ? ingressOf(group.resource.type, propsOf(group.resource)) : [];
            if (rules === UNKNOWN) {
                continue;
            }
            for (const rule of rules.filter((r) => coversPort(r, PEER) === true && r.self !== true)) {
                const sources = foreignSources(rule, group, undefined);
                if (sources.length > 0) {
                    report(rule.label, group.resource!, group, sources);
                }
            }
        }
    },
};
