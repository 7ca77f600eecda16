// The RBAC bootstrap as node files of the first member: the script, the backup client's
// credentials it authenticates with, the root password (only until root exists), and a systemd
// unit that runs the script until etcd answers and auth is on, then deletes the password.
import { NodeFile } from "../manifests/nodeFiles";
import { BOOTSTRAP_DEFAULTS } from "./bootstrapScript";

export const RBAC_SCRIPT_PATH = "/etc/secure-etcd/rbac-bootstrap.py";
export const ROOT_PASSWORD_PATH = "/etc/secure-etcd/root-password";
export const RBAC_UNIT = "secure-etcd-rbac.service";
export const RBAC_UNIT_PATH = `/etc/systemd/system/${RBAC_UNIT}`;

export interface RbacNodeFilesInput {
    script: string;
    backupCertPem: string;
    backupKeyPem: string;
    rootPassword: string;
}

export function renderRbacUnit(): string {
    return [
        "[Unit]",
        "Description=secure-etcd: create etcd's users and roles and enable auth (idempotent)",
        "After=network-online.target kubelet.service",
        "Wants=network-online.target",
        "# Done once: the password file is gone after the first success.",
        `ConditionPathExists=${ROOT_PASSWORD_PATH}`,
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        // etcd starts after the kubelet reads the manifest; until the cluster answers, retry.
        "Restart=on-failure",
        "RestartSec=15",
        `ExecStart=/usr/bin/python3 ${RBAC_SCRIPT_PATH} --root-password-file ${ROOT_PASSWORD_PATH}`,
        `ExecStartPost=/bin/rm -f ${ROOT_PASSWORD_PATH}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

export function rbacNodeFiles(input: RbacNodeFilesInput): NodeFile[] {
    const root = "0:0";
    const file = (path: string, mode: string, content: string, apply?: string[]): NodeFile => ({
        path,
        mode,
        owner: root,
        content,
        directory: false,
        ...(apply ? { apply } : {}),
    });
    return [
        // Root-only: the backup identity has etcd's root role, as snapshots need.
        file(BOOTSTRAP_DEFAULTS.cert, "0600", input.backupCertPem),
        file(BOOTSTRAP_DEFAULTS.key, "0600", input.backupKeyPem),
        file(ROOT_PASSWORD_PATH, "0600", input.rootPassword),
        file(RBAC_SCRIPT_PATH, "0700", input.script),
        file(RBAC_UNIT_PATH, "0644", renderRbacUnit(), ["systemctl", "enable", "--now", "--no-block", RBAC_UNIT]),
    ];
}
