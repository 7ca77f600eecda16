// Every SecureEtcdCluster keeps its network access control: security-group rules for the client
// (2379) and peer (2380) ports. Removing them is allowed only by a named suppression with a reason.
import { ETCD_PORTS } from "secure-etcd/rules";
import { ingressRuleResources } from "../lib/etcdGroups";
import { coversPort, ingressOf } from "../lib/ingress";
import { isDescendantOf, ofType, propsOf } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy } from "../lib/types";
import { UNKNOWN } from "../lib/values";

export const clusterHasSecurityGroup: EtcdStackPolicy = {
    name: "etcd-cluster-has-security-group",
    description:
        "Every SecureEtcdCluster has its security-group rules for the client (2379) and peer (2380) ports; none is dropped without a named suppression.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Keep the component's network access control (vpcId, or securityGroupId for a group you manage), or suppress this policy for the cluster with the reason another control replaces it.",
    validateStack: (args, reportViolation) => {
        const clusters = ofType(args.resources, COMPONENT.cluster);
        if (clusters.length === 0) {
            args.notApplicable("no SecureEtcdCluster in this stack");
        }
        const rules = ingressRuleResources(args.resources);
        for (const cluster of clusters) {
            const own = rules.filter((r) => isDescendantOf(r, cluster)).map((r) => ingressOf(r.type, propsOf(r)));
            const admits = (port: number) =>
                own.some((views) => views === UNKNOWN || views.some((v) => coversPort(v, port) !== false));
            const missing = [ETCD_PORTS.client, ETCD_PORTS.peer].filter((port) => !admits(port));
            if (missing.length > 0) {
                reportViolation(
                    `SecureEtcdCluster "${cluster.name}" has no security-group rule for etcd port${missing.length > 1 ? "s" : ""} ${missing.join(", ")}, so its network access control is gone; keep the component's security group (vpcId, or securityGroupId for a group you manage), or suppress this policy for "${cluster.name}" with the reason another control replaces it.`,
                    cluster.urn,
                );
            }
        }
    },
};
