// Renders the script that turns on etcd's RBAC: a self-contained Python 3 (stdlib only) program that
// drives etcdctl to converge roles, users and `auth enable` to a ResolvedRbac. Run once, on one
// member, with the backup client's certificate (its user keeps the root role, so reruns work after
// auth is on). The program is assets/rbac_bootstrap.py; rendering fills in its DESIRED state. Pure:
// the same state renders the same text.
import { BACKUP_CLIENT_PATHS } from "../backup/agentConfig";
import { renderPythonAsset } from "../core/assets";
import { ResolvedRbac, ROOT_ROLE, ROOT_USER } from "./roles";

/** Where the script looks for its inputs, unless told otherwise; kubeadm's layout on a member. */
export const BOOTSTRAP_DEFAULTS = {
    endpoints: "https://127.0.0.1:2379",
    ...BACKUP_CLIENT_PATHS,
    etcdctl: "etcdctl",
} as const;

/** The environment variables the script reads (its options win). Not ETCDCTL_*: etcdctl reads those itself. */
export const BOOTSTRAP_ENV = {
    endpoints: "SECURE_ETCD_ENDPOINTS",
    cacert: "SECURE_ETCD_CACERT",
    cert: "SECURE_ETCD_CERT",
    key: "SECURE_ETCD_KEY",
    rootPasswordFile: "SECURE_ETCD_ROOT_PASSWORD_FILE",
    etcdctl: "SECURE_ETCD_ETCDCTL",
} as const;

/** The etcdctl subcommands that change state; a run that changes nothing issues none of them. */
export const ETCDCTL_WRITE_COMMANDS: readonly string[] = [
    "role add",
    "role delete",
    "role grant-permission",
    "role revoke-permission",
    "user add",
    "user delete",
    "user passwd",
    "user grant-role",
    "user revoke-role",
    "auth enable",
    "auth disable",
];

/** The program, by its path from src/. Its defaults and environment variables are the two above (a test checks). */
export const RBAC_BOOTSTRAP_ASSET = "rbac/assets/rbac_bootstrap.py";

/** The desired state as embedded in the script: what `ResolvedRbac` says, plus the root user. */
interface EmbeddedState {
    rootUser: string;
    rootRole: string;
    roles: ResolvedRbac["roles"];
    users: ResolvedRbac["users"];
}

/**
 * The bootstrap script for `rbac`: `python3 bootstrap-etcd-rbac.py [--endpoints URLS] [--cacert F]
 * [--cert F] [--key F] [--root-password-file F] [--etcdctl PATH] [--dry-run]`. Holds no secret.
 * Whether auth is already enabled: `etcdctl auth status -w json` on 3.5+; etcdctl 3.4 has no such
 * command, so there it authenticates as a user that does not exist with a random password: etcd
 * refuses that ("authentication failed") only when auth is enabled, and etcdctl ignores etcd's
 * "authentication is not enabled" otherwise. Read-only either way.
 */
export function renderBootstrapScript(rbac: ResolvedRbac): string {
    const state: EmbeddedState = { rootUser: ROOT_USER, rootRole: ROOT_ROLE, roles: rbac.roles, users: rbac.users };
    // Pretty-printed: an operator reading the script on the node sees what it will converge to.
    return renderPythonAsset(RBAC_BOOTSTRAP_ASSET, state, { indent: 4 });
}
