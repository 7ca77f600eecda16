// Alerts on what node sync reports from each member (node_exporter's textfile collector): runs
// that keep failing, a member that stopped converging, and — what the component's own expiry
// rules cannot see — a certificate on a node that is close to expiry, whatever Pulumi issued since.
import { NODE_SYNC_METRICS, NODE_SYNC_SERVICE, NODE_SYNC_STATE } from "../nodes/nodeSync";
import type { AlertRule } from "./prometheusRules";

export interface NodeSyncRulesInput {
    cluster: string;
    /** Minutes between node-sync runs; undefined when node sync is off (no rules then). */
    nodeSyncIntervalMinutes?: number;
    certificateExpiryWarningDays: number;
    certificateExpiryCriticalDays: number;
}

const SECONDS_PER_DAY = 86400;

function rule(
    alert: string,
    severity: string,
    labels: Record<string, string>,
    expr: string,
    forDuration: string,
    summary: string,
    description: string,
): AlertRule {
    return { alert, expr, for: forDuration, labels: { ...labels, severity }, annotations: { summary, description } };
}

/** Failing and stalled runs: the health group's part. */
export function nodeSyncHealthRules(
    input: NodeSyncRulesInput,
    labels: Record<string, string>,
    cluster: string,
    selector: string,
): AlertRule[] {
    const interval = input.nodeSyncIntervalMinutes;
    if (interval === undefined) {
        return [];
    }
    // Three runs, and never less than a quarter of an hour: one failed run is a blip (a lock wait).
    const window = Math.max(15, 3 * interval);
    const journal = `\`journalctl -u ${NODE_SYNC_SERVICE}\``;
    return [
        rule(
            "EtcdNodeSyncFailing",
            "warning",
            labels,
            `${NODE_SYNC_METRICS.consecutiveFailures}{${selector}} > 0`,
            `${window}m`,
            "etcd member {{ $labels.member }} does not converge to its bundle",
            `Node sync on member {{ $labels.member }} ({{ $labels.instance }}) of etcd cluster ${cluster} has failed {{ $value }} run(s) in a row, ` +
                `so renewed certificates, CRLs and configuration do not reach it. Check ${journal}, which names the reason: Secrets Manager ` +
                "unreachable or refused (instance role, key policy), or a restart deferred because another member is unhealthy or " +
                `holds the restart lock. State: ${NODE_SYNC_STATE.statePath} on the node.`,
        ),
        rule(
            "EtcdNodeSyncStalled",
            "warning",
            labels,
            `time() - ${NODE_SYNC_METRICS.lastSuccess}{${selector}} > ${(window + interval) * 60}`,
            "10m",
            "etcd member {{ $labels.member }} has not converged for a while",
            `Node sync last succeeded on member {{ $labels.member }} ({{ $labels.instance }}) of etcd cluster ${cluster} ` +
                `{{ $value | humanizeDuration }} ago (it runs every ${interval} minutes). If no run failed, check the timer: ` +
                `\`systemctl status ${NODE_SYNC_SERVICE.replace(".service", ".timer")}\`.`,
        ),
    ];
}

/** Certificates on the nodes themselves: the certificates group's part. */
export function nodeCertificateRules(
    input: NodeSyncRulesInput,
    labels: Record<string, string>,
    cluster: string,
    selector: string,
): AlertRule[] {
    if (input.nodeSyncIntervalMinutes === undefined) {
        return [];
    }
    const thresholds: [string, number][] = [
        ["warning", input.certificateExpiryWarningDays],
        ["critical", input.certificateExpiryCriticalDays],
    ];
    return thresholds.map(([severity, days]) =>
        rule(
            "EtcdNodeCertificateExpiring",
            severity,
            labels,
            `(${NODE_SYNC_METRICS.certificateExpiry}{${selector}} - time()) / ${SECONDS_PER_DAY} < ${days}`,
            "1h",
            "a certificate on etcd member {{ $labels.member }} expires soon",
            `{{ $labels.path }} (CN {{ $labels.subject }}) on member {{ $labels.member }} of etcd cluster ${cluster} expires in ` +
                `{{ $value | printf "%.1f" }} days, as the file on the node says. If \`pulumi up\` already renewed it, the renewal ` +
                "has not reached this node: see EtcdNodeSyncFailing and the node-sync journal; otherwise run `pulumi up`.",
        ),
    );
}
