// Maintenance on the members: the contract between the component, which renders the configuration
// and units below into the members' node files, and `secure-etcd maintenance`, which reads them.
// With backups on, a timer fires on every member at the same moments and only the run on the member
// that leads acts; with backups off, only the first member (which holds the etcd-backup identity for
// the RBAC bootstrap anyway) has the timer. Either way one run acts, under node sync's restart lock,
// so at most one member is ever blocked (by a restart or a defragmentation). Pure: no Pulumi.
import { BACKUP_CLIENT_PATHS } from "../backup/agentConfig";
import { backupOnCalendar } from "../backup/backupNodeFiles";
import { SERVICE_SANDBOX } from "../core/systemdSandbox";
import { enableTimer, NodeFile, rootFile } from "../manifests/nodeFiles";
import { ETCD_DATA_DIR, ETCD_PORTS, NODE_PATHS, urlHost } from "../manifests/nodeLayout";
import { BOOTSTRAP_STATE } from "../nodes/bootstrapUnit";
import { RESTART_LOCK_KEY } from "../nodes/nodeSync";

export const MAINTENANCE_SERVICE = "secure-etcd-maintenance.service";
export const MAINTENANCE_TIMER = "secure-etcd-maintenance.timer";
export const MAINTENANCE_SERVICE_PATH = `/etc/systemd/system/${MAINTENANCE_SERVICE}`;
export const MAINTENANCE_TIMER_PATH = `/etc/systemd/system/${MAINTENANCE_TIMER}`;
export const MAINTENANCE_CONFIG_PATH = "/etc/secure-etcd/maintenance.json";

export const MAINTENANCE_STATE = {
    statePath: "/var/lib/secure-etcd/maintenance.json",
    /** Read by node_exporter's textfile collector, beside node sync's. */
    metricsPath: "/var/lib/prometheus/node-exporter/secure_etcd_maintenance.prom",
} as const;

/** Metric names the monitoring rules read. */
export const MAINTENANCE_METRICS = {
    lastSuccess: "secure_etcd_maintenance_last_success_timestamp_seconds",
    consecutiveFailures: "secure_etcd_maintenance_consecutive_failures",
    /** 1 while a NOSPACE alarm is raised after the run (it could not clear it), else 0. */
    spaceAlarm: "secure_etcd_maintenance_space_alarm",
    defragmented: "secure_etcd_maintenance_defragmented_members",
} as const;

export interface MaintenanceThresholds {
    quotaBackendBytes: number;
    fragmentedRatio: number;
    quotaRatio: number;
    minFragmentedBytes: number;
}

export interface MaintenanceConfig extends MaintenanceThresholds {
    cluster: string;
    member: string;
    /** Every member's client URL, this member's included. */
    endpoints: string[];
    /** This member's own client URL. */
    memberEndpoint: string;
    /**
     * Act only while this member leads (every member has the timer: backups put the etcd-backup
     * identity on every member). False on the one member that runs it when backups are off.
     */
    onlyIfLeader: boolean;
    /** The etcd-backup identity (root role: defragmenting and disarming need it). */
    cacert: string;
    cert: string;
    key: string;
    /** Node sync's restart lock: a defragmentation blocks a member as a restart does. */
    lockKey: string;
    lockTtlSeconds: number;
    lockWaitSeconds: number;
    /** Seconds to wait for a defragmented member, and the cluster, to answer healthy again. */
    healthTimeoutSeconds: number;
    statePath: string;
    metricsPath: string;
}

export interface MaintenanceInput extends MaintenanceThresholds {
    cluster: string;
    member: string;
    memberIp: string;
    memberIps: string[];
    /** The `secure-etcd` command on the node. */
    agentPath: string;
    intervalMinutes: number;
    onlyIfLeader: boolean;
    /** The etcd-backup client's certificate and key (the same files the backup agent uses). */
    backupCertPem: string;
    backupKeyPem: string;
}

const clientUrl = (ip: string) => `https://${urlHost(ip)}:${ETCD_PORTS.client}`;

export function renderMaintenanceConfig(input: MaintenanceInput): MaintenanceConfig {
    return {
        cluster: input.cluster,
        member: input.member,
        endpoints: input.memberIps.map(clientUrl),
        memberEndpoint: clientUrl(input.memberIp),
        onlyIfLeader: input.onlyIfLeader,
        ...BACKUP_CLIENT_PATHS,
        lockKey: RESTART_LOCK_KEY,
        lockTtlSeconds: 120,
        lockWaitSeconds: 300,
        healthTimeoutSeconds: 300,
        quotaBackendBytes: input.quotaBackendBytes,
        fragmentedRatio: input.fragmentedRatio,
        quotaRatio: input.quotaRatio,
        minFragmentedBytes: input.minFragmentedBytes,
        ...MAINTENANCE_STATE,
    };
}

export function renderMaintenanceTimer(intervalMinutes: number): string {
    return [
        "[Unit]",
        `Description=secure-etcd: defragment etcd when worth it and clear NOSPACE, every ${intervalMinutes} minutes (the member that leads acts)`,
        "",
        "[Timer]",
        `OnCalendar=${backupOnCalendar(intervalMinutes)}`,
        `Unit=${MAINTENANCE_SERVICE}`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

export function renderMaintenanceService(input: { agentPath: string }): string {
    return [
        "[Unit]",
        "Description=secure-etcd: defragment members one at a time (leader last) and disarm NOSPACE, under the cluster's restart lock",
        "After=network-online.target secure-etcd-bootstrap.service",
        "Wants=network-online.target",
        `ConditionPathExists=${BOOTSTRAP_STATE.donePath}`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${input.agentPath} maintenance --config ${MAINTENANCE_CONFIG_PATH}`,
        // A lock wait, then a defragmentation and health wait per member.
        "TimeoutStartSec=3600",
        // Root, because the etcd-backup key is root's; no capability, so etcd's keys and data stay out of reach.
        "User=root",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "NoNewPrivileges=yes",
        "UMask=0022",
        // Everything read-only but /var (its state and metrics), /dev and /proc.
        "ProtectSystem=full",
        "ProtectHome=tmpfs",
        ...SERVICE_SANDBOX,
        `InaccessiblePaths=${[NODE_PATHS.serverKey, NODE_PATHS.peerKey, ETCD_DATA_DIR].map((p) => `-${p}`).join(" ")}`,
        "SyslogIdentifier=secure-etcd-maintenance",
        "",
    ].join("\n");
}

/** The files that run maintenance on a member: the etcd-backup credentials, configuration, service, timer (enabled last). */
export function maintenanceNodeFiles(input: MaintenanceInput): NodeFile[] {
    return [
        // The same files as the backup agent's (merged as one when both are on): root-only.
        rootFile(BACKUP_CLIENT_PATHS.cert, "0600", input.backupCertPem),
        rootFile(BACKUP_CLIENT_PATHS.key, "0600", input.backupKeyPem),
        rootFile(MAINTENANCE_CONFIG_PATH, "0644", `${JSON.stringify(renderMaintenanceConfig(input), null, 4)}\n`),
        rootFile(MAINTENANCE_SERVICE_PATH, "0644", renderMaintenanceService(input)),
        rootFile(
            MAINTENANCE_TIMER_PATH,
            "0644",
            renderMaintenanceTimer(input.intervalMinutes),
            enableTimer(MAINTENANCE_TIMER),
        ),
    ];
}
