// Every member's etcd has a backend quota, and not above etcd's recommended maximum: a database
// that reaches the quota raises NOSPACE and etcd refuses every write; one far above 8 GiB makes
// snapshots, restores and new members slow. Read from the component's (non-secret) etcdManifests.
import * as YAML from "yaml";
import { quotaBackendBytesFinding } from "../lib/quotaBackendBytes";
import { ofType, propsOf } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy } from "../lib/types";
import { readObject, UNKNOWN } from "../lib/values";

/** The etcd container's command in a static pod's YAML; undefined when it is not one. */
function etcdCommand(yaml: string): string[] | undefined {
    try {
        const pod = YAML.parse(yaml) as { spec?: { containers?: { name?: string; command?: unknown }[] } };
        const container = pod?.spec?.containers?.find((c) => c.name === "etcd") ?? pod?.spec?.containers?.[0];
        const command = container?.command;
        return Array.isArray(command) && command.every((a) => typeof a === "string") ? command : undefined;
    } catch {
        return undefined;
    }
}

export const etcdQuotaBackendBytes: EtcdStackPolicy = {
    name: "etcd-quota-backend-bytes",
    description:
        "Every member's etcd sets --quota-backend-bytes, at most 8 GiB (etcd's recommended maximum), in the component's static pods.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps:
        "Set quotaBackendBytes (8 GiB by default, at most 8 GiB) and keep defragmentation on so the database stays under it.",
    validateStack: (args, reportViolation) => {
        const clusters = ofType(args.resources, COMPONENT.cluster);
        if (clusters.length === 0) {
            args.notApplicable("no SecureEtcdCluster in this stack");
        }
        for (const cluster of clusters) {
            const manifests = readObject(propsOf(cluster).etcdManifests);
            if (manifests === UNKNOWN || manifests === undefined) {
                continue; // not known yet (preview), or not visible: nothing to judge
            }
            for (const [member, yaml] of Object.entries(manifests)) {
                const command = typeof yaml === "string" ? etcdCommand(yaml) : undefined;
                const finding = command && quotaBackendBytesFinding(command);
                if (finding) {
                    reportViolation(
                        `SecureEtcdCluster "${cluster.name}": member ${member}'s etcd ${finding}.`,
                        cluster.urn,
                    );
                }
            }
        }
    },
};
