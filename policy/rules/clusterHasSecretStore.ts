// Every SecureEtcdCluster keeps its keys in Secrets Manager (under its KMS key), from where each
// member fetches only its own at boot; nothing else carries them to the nodes.
import { isDescendantOf, ofType } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy, TYPES } from "../lib/types";

export const clusterHasSecretStore: EtcdStackPolicy = {
    name: "etcd-cluster-has-secret-store",
    description:
        "Every SecureEtcdCluster has its Secrets Manager secrets (with their versions); none is dropped without a named suppression.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Keep the component's secrets store, or suppress this policy for the cluster with the reason how keys reach the members instead.",
    validateStack: (args, reportViolation) => {
        const clusters = ofType(args.resources, COMPONENT.cluster);
        if (clusters.length === 0) {
            args.notApplicable("no SecureEtcdCluster in this stack");
        }
        const secrets = ofType(args.resources, TYPES.secret);
        const versions = ofType(args.resources, TYPES.secretVersion);
        for (const cluster of clusters) {
            const has = (list: typeof secrets) => list.some((r) => isDescendantOf(r, cluster));
            if (!has(secrets) || !has(versions)) {
                reportViolation(
                    `SecureEtcdCluster "${cluster.name}" has no Secrets Manager ${has(secrets) ? "secret versions" : "secrets"}, so its members have no protected way to fetch their keys at boot; keep the component's secrets store, or suppress this policy for "${cluster.name}" with the reason how keys reach the members instead.`,
                    cluster.urn,
                );
            }
        }
    },
};
