// A whole-cluster restore on a member, as node files: the restore request, whose `apply` runs the
// restore itself (before the boot script writes the static-pod manifest, so no etcd starts on an
// empty data dir meanwhile; a failure stops the boot there, with no manifest written), and a
// service that waits for the whole cluster and then lifts the quarantine.
import * as path from "path";
import { BACKUP_CONFIG_PATH } from "../backup/agentConfig";
import { SERVICE_SANDBOX } from "../core/systemdSandbox";
import { NodeFile } from "../manifests/nodeFiles";
import { NODE_PATHS } from "../manifests/nodeLayout";
import { RESTORE_CONFIG_PATH, RESTORE_STATE_DIR, renderRestoreConfig } from "./restoreConfig";

export const RESTORE_SERVICE = "secure-etcd-restore.service";
export const RESTORE_SERVICE_PATH = `/etc/systemd/system/${RESTORE_SERVICE}`;

export interface RestoreNodeFilesInput {
    cluster: string;
    restoreFromBackup: string;
    restoreOverRunningCluster: boolean;
    /** The member's static-pod manifest as rendered. */
    manifestYaml: string;
    agentPath: string;
}

export function renderRestoreService(agentPath: string): string {
    return [
        "[Unit]",
        "Description=secure-etcd: finish the whole-cluster restore (serve clients once every member is restored and running)",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${agentPath} restore-member --config ${RESTORE_CONFIG_PATH}`,
        // It waits up to an hour per run for the other members, and runs again until they are back.
        "TimeoutStartSec=65min",
        "Restart=on-failure",
        "RestartSec=30s",
        "User=root",
        // The data dir's owner (a restore that had not finished), and the quarantine's nftables table.
        "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "UMask=0077",
        "ProtectSystem=strict",
        "ProtectHome=tmpfs",
        ...SERVICE_SANDBOX,
        // The restore's state; the data dir's parent, where a restore stages beside the data dir
        // before renaming it into place; the manifests folder, where it holds the manifest.
        `ReadWritePaths=${[RESTORE_STATE_DIR, path.posix.dirname(NODE_PATHS.dataDir), "/etc/kubernetes/manifests"].map((p) => `-${p}`).join(" ")}`,
        `ReadOnlyPaths=${[RESTORE_CONFIG_PATH, BACKUP_CONFIG_PATH].join(" ")}`,
        "",
    ].join("\n");
}

/** The restore request and the service that finishes it, for one member. */
export function restoreNodeFiles(input: RestoreNodeFilesInput): NodeFile[] {
    const config = renderRestoreConfig({
        cluster: input.cluster,
        backup: input.restoreFromBackup,
        overRunningCluster: input.restoreOverRunningCluster,
        manifestContent: input.manifestYaml,
    });
    return [
        {
            path: RESTORE_CONFIG_PATH,
            mode: "0600",
            owner: "0:0",
            content: `${JSON.stringify(config, null, 4)}\n`,
            directory: false,
            // This member's restore, to the quarantine: the boot stops here if it fails.
            apply: [input.agentPath, "restore-member", "--config", RESTORE_CONFIG_PATH, "--no-wait"],
        },
        {
            path: RESTORE_SERVICE_PATH,
            mode: "0644",
            owner: "0:0",
            content: renderRestoreService(input.agentPath),
            directory: false,
            apply: ["systemctl", "start", "--no-block", RESTORE_SERVICE],
        },
    ];
}
