// Alerts on what maintenance reports from each member (node_exporter's textfile collector): a
// NOSPACE alarm the run could not clear (the cluster refuses writes), and runs that keep failing
// (fragmentation grows until the quota is reached).
import { MAINTENANCE_METRICS, MAINTENANCE_SERVICE, MAINTENANCE_STATE } from "../maintenance/maintenance";
import type { AlertRule } from "./prometheusRules";

export interface MaintenanceRulesInput {
    /** Minutes between maintenance runs; undefined when defragmentation is off (no rules then). */
    defragmentationIntervalMinutes?: number;
}

export function maintenanceRules(
    input: MaintenanceRulesInput,
    labels: Record<string, string>,
    cluster: string,
    selector: string,
): AlertRule[] {
    const interval = input.defragmentationIntervalMinutes;
    if (interval === undefined) {
        return [];
    }
    const journal = `\`journalctl -u ${MAINTENANCE_SERVICE}\` on the member that leads`;
    return [
        {
            alert: "EtcdSpaceAlarmNotCleared",
            // Any member's last run saw NOSPACE raised after it ended: one alert for the cluster.
            expr: `max by (etcd_cluster) (${MAINTENANCE_METRICS.spaceAlarm}{${selector}}) > 0`,
            for: `${Math.min(interval, 30)}m`,
            labels: { ...labels, severity: "critical" },
            annotations: {
                summary: "etcd refuses writes: the NOSPACE alarm stays raised",
                description:
                    `The NOSPACE alarm of etcd cluster ${cluster} is still raised after a maintenance run, so etcd refuses every write ` +
                    `(kube-apiserver cannot change anything). ${journal} says why: a member's live data is above quotaBackendBytes ` +
                    "(delete data or raise quotaBackendBytes, then the next run disarms the alarm), or the cluster was not healthy. " +
                    'Manual steps: docs/runbooks.md, "etcd is out of space".',
            },
        },
        {
            alert: "EtcdMaintenanceFailing",
            expr: `${MAINTENANCE_METRICS.consecutiveFailures}{${selector}} >= 3`,
            for: "0m",
            labels: { ...labels, severity: "warning" },
            annotations: {
                summary: "etcd maintenance on member {{ $labels.member }} keeps failing",
                description:
                    `Maintenance on member {{ $labels.member }} of etcd cluster ${cluster} has failed {{ $value }} runs in a row, so no ` +
                    `member is defragmented and a NOSPACE alarm would not be cleared. Check ${journal}: a member down or unhealthy, ` +
                    `the restart lock held for long, or the etcd-backup identity refused. State: ${MAINTENANCE_STATE.statePath} on the node.`,
            },
        },
    ];
}
