// Node sync: what keeps a running member equal to its bundle after the first boot. A systemd timer
// runs `secure-etcd node-sync` on every member; the agent reads the member's bundle from Secrets
// Manager, writes only what changed (mode and owner before content, atomically), and applies a
// changed static-pod manifest only while the cluster is healthy and under a lock held in etcd
// itself, so members restart one at a time. This file is the contract between the component,
// which renders the configuration and units below into every member's node files, and the agent,
// which reads them. Pure: no Pulumi.
import { ETCD_PORTS, NODE_PATHS, urlHost } from "../manifests/nodeLayout";
import { enableTimer, NodeFile, rootFile } from "../manifests/nodeFiles";
import { SERVICE_SANDBOX } from "../core/systemdSandbox";
import { BOOTSTRAP_STATE } from "./bootstrapUnit";

export const NODE_SYNC_SERVICE = "secure-etcd-node-sync.service";
export const NODE_SYNC_TIMER = "secure-etcd-node-sync.timer";
export const NODE_SYNC_SERVICE_PATH = `/etc/systemd/system/${NODE_SYNC_SERVICE}`;
export const NODE_SYNC_TIMER_PATH = `/etc/systemd/system/${NODE_SYNC_TIMER}`;
export const NODE_SYNC_CONFIG_PATH = "/etc/secure-etcd/node-sync.json";

/**
 * Where the boot script records which secret holds this member's bundle (its ARN and region).
 * Written at boot, not rendered: the bundle cannot name the secret it is stored in.
 */
export const BUNDLE_SOURCE_PATH = BOOTSTRAP_STATE.bundleSourcePath;

/** What node sync leaves behind, none of it secret. */
export const NODE_SYNC_STATE = {
    statePath: "/var/lib/secure-etcd/node-sync.json",
    /** Read by node_exporter's textfile collector, beside the bootstrap's metrics. */
    metricsPath: "/var/lib/prometheus/node-exporter/secure_etcd_node_sync.prom",
} as const;

/** Metric names the monitoring rules read. */
export const NODE_SYNC_METRICS = {
    lastSuccess: "secure_etcd_node_sync_last_success_timestamp_seconds",
    consecutiveFailures: "secure_etcd_node_sync_consecutive_failures",
    certificateExpiry: "secure_etcd_node_certificate_expiry_timestamp_seconds",
} as const;

/** The lock members take before a restart; its lease ends it if the holder dies. */
export const RESTART_LOCK_KEY = "/secure-etcd/node-sync/restart-lock";
/**
 * The etcd role every member's identity gets once auth is on: read and write on the lock's
 * prefix, nothing else.
 */
export const NODE_SYNC_ROLE = "secure-etcd-node-sync";
export const NODE_SYNC_KEY_PREFIX = "/secure-etcd/node-sync/";

/** Paths whose change restarts etcd (the kubelet restarts a static pod whose manifest changed). */
export const RESTART_PATH_PREFIXES = ["/etc/kubernetes/manifests/"] as const;

/** The bundle a member's secret holds: every file of the member, in the order it is written. */
export interface MemberBundle {
    version: 2;
    files: NodeFile[];
    /**
     * Only while a membership change this member carries out is pending: the client certificate and
     * key of the etcd user that may change membership. Node sync holds it in memory, never on disk.
     */
    membershipCredential?: { certPem: string; keyPem: string };
}

export function memberBundle(
    files: NodeFile[],
    membershipCredential?: MemberBundle["membershipCredential"],
): MemberBundle {
    return { version: 2, files, ...(membershipCredential ? { membershipCredential } : {}) };
}

export interface NodeSyncConfig {
    cluster: string;
    member: string;
    /** The file the boot script wrote: `{ "secretArn": ..., "region": ... }`. */
    bundleSource: string;
    /** Every member's client URL: the lock and the health checks go through any that answers. */
    endpoints: string[];
    /** This member's own client URL (among `endpoints`). */
    memberEndpoint: string;
    /** The member's own server certificate is its client identity (etcd user = the member's name). */
    cacert: string;
    cert: string;
    key: string;
    /** The local member's metrics listener (plain HTTP on loopback): `/health` and its start time. */
    localMetricsUrl: string;
    restartPathPrefixes: string[];
    lockKey: string;
    /** Seconds the lock's lease lives without keep-alives: a holder that dies frees it then. */
    lockTtlSeconds: number;
    /** Seconds to wait for the lock, and for the member to restart and report healthy, before giving up this run. */
    lockWaitSeconds: number;
    restartTimeoutSeconds: number;
    statePath: string;
    metricsPath: string;
    /** The member set after the last `pulumi up`: node sync converges etcd's membership to it (absent: rendered before membership as code). */
    membership?: {
        members: { name: string; peerUrl: string; clientUrl: string }[];
        /** This member joined (or joins) a running cluster: it registers itself as a learner first. */
        joining: boolean;
    };
}

export interface NodeSyncInput {
    cluster: string;
    member: string;
    memberIp: string;
    memberIps: string[];
    /** Every member, in `members` order. */
    members: { name: string; ip: string }[];
    joining: boolean;
    /** The `secure-etcd` command on the node. */
    agentPath: string;
    intervalMinutes: number;
}

const clientUrl = (ip: string) => `https://${urlHost(ip)}:${ETCD_PORTS.client}`;

export function renderNodeSyncConfig(input: NodeSyncInput): NodeSyncConfig {
    return {
        cluster: input.cluster,
        member: input.member,
        bundleSource: BUNDLE_SOURCE_PATH,
        endpoints: input.memberIps.map(clientUrl),
        memberEndpoint: clientUrl(input.memberIp),
        cacert: NODE_PATHS.caCert,
        cert: NODE_PATHS.serverCert,
        key: NODE_PATHS.serverKey,
        localMetricsUrl: `http://127.0.0.1:${ETCD_PORTS.metrics}`,
        restartPathPrefixes: [...RESTART_PATH_PREFIXES],
        lockKey: RESTART_LOCK_KEY,
        lockTtlSeconds: 120,
        lockWaitSeconds: 300,
        restartTimeoutSeconds: 300,
        ...NODE_SYNC_STATE,
        membership: {
            members: input.members.map((m) => ({
                name: m.name,
                peerUrl: `https://${urlHost(m.ip)}:${ETCD_PORTS.peer}`,
                clientUrl: clientUrl(m.ip),
            })),
            joining: input.joining,
        },
    };
}

/** Intervals that divide an hour: the timer fires on the wall clock, whatever the unit's history. */
export const NODE_SYNC_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] as const;

export function renderNodeSyncTimer(intervalMinutes: number): string {
    return [
        "[Unit]",
        `Description=secure-etcd: converge this member to its bundle every ${intervalMinutes} minutes`,
        "",
        "[Timer]",
        intervalMinutes === 60 ? "OnCalendar=*-*-* *:00:00 UTC" : `OnCalendar=*-*-* *:00/${intervalMinutes}:00 UTC`,
        // Members apart by up to a minute (the lock orders restarts in any case).
        `RandomizedDelaySec=${Math.min(60, intervalMinutes * 30)}s`,
        `Unit=${NODE_SYNC_SERVICE}`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

export function renderNodeSyncService(input: { agentPath: string; intervalMinutes: number }): string {
    return [
        "[Unit]",
        "Description=secure-etcd: write what changed in this member's bundle; restart etcd only under the cluster's lock",
        "After=network-online.target secure-etcd-bootstrap.service",
        "Wants=network-online.target",
        // Nothing to converge before the first boot wrote the files.
        `ConditionPathExists=${BOOTSTRAP_STATE.donePath}`,
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${input.agentPath} node-sync --config ${NODE_SYNC_CONFIG_PATH}`,
        // Long enough for a lock wait and a restart; never longer than the interval plus that.
        `TimeoutStartSec=${input.intervalMinutes * 60 + 600}`,
        // Root: it writes root's and the etcd user's files and chowns them. No other privilege.
        "User=root",
        "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "UMask=0077",
        "ProtectHome=yes",
        ...SERVICE_SANDBOX,
        `InaccessiblePaths=-${NODE_PATHS.dataDir}`,
        "SyslogIdentifier=secure-etcd-node-sync",
        "",
    ].join("\n");
}

/** The files that run node sync on a member: its configuration, the service and the timer (enabled last). */
export function nodeSyncNodeFiles(input: NodeSyncInput): NodeFile[] {
    const file = (path: string, content: string, apply?: string[]) => rootFile(path, "0644", content, apply);
    return [
        file(NODE_SYNC_CONFIG_PATH, `${JSON.stringify(renderNodeSyncConfig(input), null, 4)}\n`),
        file(NODE_SYNC_SERVICE_PATH, renderNodeSyncService(input)),
        file(NODE_SYNC_TIMER_PATH, renderNodeSyncTimer(input.intervalMinutes), enableTimer(NODE_SYNC_TIMER)),
    ];
}
