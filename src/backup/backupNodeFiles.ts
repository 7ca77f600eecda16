// The backup agent on a member, as node files: its configuration, the backup client's
// credentials, and a hardened systemd service started by a timer.
//
// Why every member runs the timer, and why that yields one backup per period: the timers fire at
// the same wall-clock moments (UTC, from the same OnCalendar, no randomized delay) and each agent
// backs up only when its own member leads (`onlyIfLeader`), and a cluster has at most one leader.
// Losing any member, the leader included, loses nothing: the next leader's timer is already
// there. A oneshot service is "activating" until the agent exits, and a timer never starts a unit
// that is still active, so a slow backup is never overlapped by the next one on the same member.
import { BACKUP_CLIENT_PATHS, BACKUP_CONFIG_PATH, BackupAgentConfig, backupPrefix, BackupTiers } from "./agentConfig";
import { SERVICE_SANDBOX } from "../core/systemdSandbox";
import { enableTimer, NodeFile, rootFile } from "../manifests/nodeFiles";
import { ETCD_DATA_DIR, ETCD_PORTS, NODE_PATHS, urlHost } from "../manifests/nodeLayout";

export const BACKUP_SERVICE = "secure-etcd-backup.service";
export const BACKUP_TIMER = "secure-etcd-backup.timer";
export const BACKUP_SERVICE_PATH = `/etc/systemd/system/${BACKUP_SERVICE}`;
export const BACKUP_TIMER_PATH = `/etc/systemd/system/${BACKUP_TIMER}`;

export interface BackupAgentSettings {
    /** The Pulumi project and stack the component is deployed by: with `cluster`, the identity backups are bound to. */
    project: string;
    stack: string;
    /** The cluster's name (the component's). */
    cluster: string;
    bucket: string;
    region: string;
    kmsKeyArn: string;
    /** The retention tiers (absent: the agent writes under the prefix as before tiers). */
    tiers?: BackupTiers;
}

export interface BackupNodeFilesInput extends BackupAgentSettings {
    /** The member's own address: the agent talks to its local member only. */
    memberIp: string;
    /** The `secure-etcd` command on the node. */
    agentPath: string;
    /** Minutes between backups (validated: divides an hour, or whole hours dividing a day). */
    intervalMinutes: number;
    backupCertPem: string;
    backupKeyPem: string;
}

/** The agent's configuration for one member (holds no secret). */
export function renderBackupAgentConfig(input: BackupAgentSettings & { memberIp: string }): BackupAgentConfig {
    return {
        project: input.project,
        stack: input.stack,
        cluster: input.cluster,
        endpoints: [`https://${urlHost(input.memberIp)}:${ETCD_PORTS.client}`],
        cacert: BACKUP_CLIENT_PATHS.cacert,
        cert: BACKUP_CLIENT_PATHS.cert,
        key: BACKUP_CLIENT_PATHS.key,
        bucket: input.bucket,
        prefix: backupPrefix(input.cluster),
        region: input.region,
        kmsKeyArn: input.kmsKeyArn,
        onlyIfLeader: true,
        ...(input.tiers ? { tiers: input.tiers } : {}),
    };
}

/**
 * The timer's OnCalendar for an interval: `*-*-* *:00/30:00 UTC` every 30 minutes, `*-*-* 00/6:00:00
 * UTC` every 6 hours. In UTC, so members in different time zones still fire together.
 */
export function backupOnCalendar(intervalMinutes: number): string {
    if (intervalMinutes < 60) {
        return `*-*-* *:00/${intervalMinutes}:00 UTC`;
    }
    if (intervalMinutes === 60) {
        return "*-*-* *:00:00 UTC";
    }
    const hours = intervalMinutes / 60;
    return hours === 24 ? "*-*-* 00:00:00 UTC" : `*-*-* 00/${hours}:00:00 UTC`;
}

export function renderBackupTimer(intervalMinutes: number): string {
    return [
        "[Unit]",
        `Description=secure-etcd: back up etcd every ${intervalMinutes} minutes (the member that leads uploads)`,
        "",
        "[Timer]",
        `OnCalendar=${backupOnCalendar(intervalMinutes)}`,
        // Fire within a second of the moment on every member (the default is a minute), and
        // without a randomized delay, so all members ask "do I lead?" at the same time.
        "AccuracySec=1s",
        "# A period missed while the node was down runs at boot (still only on the leader).",
        "Persistent=true",
        `Unit=${BACKUP_SERVICE}`,
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ].join("\n");
}

export function renderBackupService(input: { agentPath: string; intervalMinutes: number }): string {
    // A hung run is stopped before the next period starts, so it cannot hold the unit forever.
    const timeoutSeconds = Math.floor(input.intervalMinutes * 60 * 0.9);
    return [
        "[Unit]",
        "Description=secure-etcd: encrypted etcd snapshot to S3, on the leader only",
        "After=network-online.target",
        "Wants=network-online.target",
        "# Started by secure-etcd-backup.timer only.",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${input.agentPath} backup --config ${BACKUP_CONFIG_PATH}`,
        `TimeoutStartSec=${timeoutSeconds}`,
        // Root, because the backup client's key is root's; without any capability, so it cannot
        // read the etcd user's keys or data either.
        "User=root",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "NoNewPrivileges=yes",
        "UMask=0077",
        "ProtectSystem=strict",
        "ProtectHome=tmpfs",
        ...SERVICE_SANDBOX,
        `ReadOnlyPaths=${[BACKUP_CONFIG_PATH, BACKUP_CLIENT_PATHS.cacert, BACKUP_CLIENT_PATHS.cert, BACKUP_CLIENT_PATHS.key].join(" ")}`,
        // What the agent never needs: etcd's own keys and data ('-': fine if absent).
        `InaccessiblePaths=${[NODE_PATHS.serverKey, NODE_PATHS.peerKey, ETCD_DATA_DIR].map((p) => `-${p}`).join(" ")}`,
        // Backups yield to etcd for CPU and disk.
        "Nice=10",
        "IOSchedulingClass=best-effort",
        "IOSchedulingPriority=7",
        "",
    ].join("\n");
}

/** Every file the backup agent needs on a member. */
export function backupNodeFiles(input: BackupNodeFilesInput): NodeFile[] {
    return [
        // Root-only: the backup identity has etcd's root role, as snapshots need.
        rootFile(BACKUP_CLIENT_PATHS.cert, "0600", input.backupCertPem),
        rootFile(BACKUP_CLIENT_PATHS.key, "0600", input.backupKeyPem),
        rootFile(BACKUP_CONFIG_PATH, "0600", `${JSON.stringify(renderBackupAgentConfig(input), null, 4)}\n`),
        rootFile(BACKUP_SERVICE_PATH, "0644", renderBackupService(input)),
        // Last: enabling the timer needs the service written.
        rootFile(BACKUP_TIMER_PATH, "0644", renderBackupTimer(input.intervalMinutes), enableTimer(BACKUP_TIMER)),
    ];
}

/**
 * Files from several sources, each path once: a later file with the same path must be the same
 * file (the first member gets the backup client's credentials for the RBAC bootstrap too).
 */
export function mergeNodeFiles(files: NodeFile[]): NodeFile[] {
    const byPath = new Map<string, NodeFile>();
    const merged: NodeFile[] = [];
    for (const f of files) {
        const earlier = byPath.get(f.path);
        if (earlier === undefined) {
            byPath.set(f.path, f);
            merged.push(f);
        } else if (!sameFile(earlier, f)) {
            throw new Error(`two different node files for ${f.path}: mode, owner, content or apply differ`);
        }
    }
    return merged;
}

function sameFile(a: NodeFile, b: NodeFile): boolean {
    return (
        a.mode === b.mode &&
        a.owner === b.owner &&
        a.content === b.content &&
        a.directory === b.directory &&
        JSON.stringify(a.apply ?? null) === JSON.stringify(b.apply ?? null)
    );
}
