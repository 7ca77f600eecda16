// etcd's role-based access control as data: which roles exist, what each may touch, and which
// client-certificate CN (the etcd user name once auth is enabled) holds which roles. Pure: the
// bootstrap script (bootstrapScript.ts) converges a cluster to what `resolveRbac` returns.
import { BUILT_IN_CLIENTS } from "../pki/profiles";
import { MEMBERSHIP_USER } from "../nodes/membership";
import { NODE_SYNC_KEY_PREFIX, NODE_SYNC_ROLE } from "../nodes/nodeSync";
import { Problem } from "../core/problems";

/** What a role may do with a key or prefix; the values are etcdctl's spelling. */
export enum EtcdPermission {
    /** Get, range and watch. */
    Read = "read",
    /** Put and delete. */
    Write = "write",
    /** Both. */
    ReadWrite = "readwrite",
}

export interface EtcdRolePermissionArgs {
    /**
     * The key, or the key prefix, the permission applies to. Absolute (starts with `/`), printable
     * ASCII without spaces. A prefix permission on `/` alone (every key) is rejected: name the
     * `root` role for the client instead, if it really needs everything.
     */
    key: string;
    /**
     * Whether `key` is a prefix (every key starting with it) rather than one exact key. End a
     * prefix with `/` so that `/app/` does not also match `/app-other`.
     * @default true
     */
    prefix?: boolean;
    /** Read, write, or both. */
    permission: EtcdPermission;
}

export interface EtcdRoleArgs {
    /**
     * The role's name: letters, digits, `.`, `_` and `-`, starting with a letter or digit.
     * `root` and `kube-apiserver` are reserved (etcd's own and the component's).
     */
    name: string;
    /** What the role may do; at least one permission. */
    permissions: EtcdRolePermissionArgs[];
}

export interface EtcdClientRolesArgs {
    /** The client certificate's CN: the etcd user it authenticates as once auth is enabled. */
    commonName: string;
    /**
     * Roles the user gets: names from `etcdRoles`, `kube-apiserver` or `root` (every key, and
     * managing auth: only for a backup or admin tool).
     * @default [] (no key access: only what needs no permission, such as health and status)
     */
    roles: string[];
}

export interface RbacArgs {
    /** The members' names: each member's server certificate authenticates as a user of that name (node sync). */
    memberNames?: string[];
    /**
     * kube-apiserver's `--etcd-prefix`; the `kube-apiserver` role gets read and write on
     * everything under it (a trailing `/` is added so `/registry` does not match `/registry-x`).
     * @default "/registry"
     */
    apiServerPrefix?: string;
    /**
     * Roles beyond the built-in ones, for extra clients.
     * @default []
     */
    roles?: EtcdRoleArgs[];
    /**
     * The extra clients (not the built-in ones), in the order of the component's `clients`.
     * @default []
     */
    clients?: EtcdClientRolesArgs[];
}

/** One permission as etcd stores it: a key and the end of its range. */
export interface ResolvedPermission {
    /** The key, or the first key of the range. */
    key: string;
    /**
     * The exclusive end of the range: for a prefix, what `etcdctl --prefix` computes (the key with
     * its last byte incremented); `""` for a single key.
     */
    rangeEnd: string;
    /** Whether the range is `key` as a prefix. */
    prefix: boolean;
    /** What the role may do in the range. */
    permission: EtcdPermission;
}

export interface ResolvedRole {
    /** The etcd role name. */
    name: string;
    /** Exactly the permissions the role has once converged. */
    permissions: ResolvedPermission[];
}

export interface ResolvedUser {
    /** The user name: the client certificate's CN. */
    name: string;
    /** The roles granted, in order; `root` is etcd's built-in role, never an entry in `roles`. */
    roles: string[];
}

/** The whole auth state, except the `root` user itself, which the bootstrap adds with a password. */
export interface ResolvedRbac {
    /** Every role to create, built-in ones first. Never includes `root` (built into etcd). */
    roles: ResolvedRole[];
    /** Every certificate user: the built-in clients, then the extra clients. */
    users: ResolvedUser[];
}

/** etcd's built-in role: every key, plus managing auth and snapshots. */
export const ROOT_ROLE = "root";
/** The user etcd requires before `auth enable`; the only one with a password (break-glass). */
export const ROOT_USER = "root";
/** The role of kube-apiserver's certificate. */
export const KUBE_APISERVER_ROLE = "kube-apiserver";
/** kube-apiserver's default `--etcd-prefix`. */
export const DEFAULT_API_SERVER_PREFIX = "/registry";

const RESERVED_ROLES: readonly string[] = [ROOT_ROLE, KUBE_APISERVER_ROLE, NODE_SYNC_ROLE];

/** The roles of each built-in client, by client name; a client not listed gets none. */
const BUILT_IN_ROLES: Readonly<Record<string, readonly string[]>> = {
    "kube-apiserver-etcd-client": [KUBE_APISERVER_ROLE],
    // etcdctl endpoint health counts "permission denied" as healthy: no key access needed.
    "kube-etcd-healthcheck-client": [],
    // Maintenance.Snapshot needs the root role once auth is enabled.
    "etcd-backup": [ROOT_ROLE],
};

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
// Printable ASCII, no space: range ends stay valid text, and keys survive any shell or log.
const KEY_TEXT = /^[\x21-\x7e]+$/;

/**
 * The exclusive range end etcd uses for a prefix (clientv3's GetPrefixRangeEnd): the last byte
 * below 0xff incremented, the rest dropped; `"\0"` (every key from here on) when there is none.
 * Byte-wise, so the result is text only for ASCII keys, the only ones the arguments accept.
 */
export function prefixRangeEnd(key: string): string {
    const bytes = Buffer.from(key, "utf8");
    for (let i = bytes.length - 1; i >= 0; i--) {
        if (bytes[i] < 0xff) {
            const end = Buffer.from(bytes.subarray(0, i + 1));
            end[i] += 1;
            return end.toString("latin1");
        }
    }
    return "\0";
}

/** kube-apiserver's prefix as a key prefix: with exactly one trailing `/`. */
export function apiServerKeyPrefix(apiServerPrefix: string = DEFAULT_API_SERVER_PREFIX): string {
    return apiServerPrefix.endsWith("/") ? apiServerPrefix : `${apiServerPrefix}/`;
}

function resolvePermission(p: EtcdRolePermissionArgs): ResolvedPermission {
    const prefix = p.prefix ?? true;
    return { key: p.key, rangeEnd: prefix ? prefixRangeEnd(p.key) : "", prefix, permission: p.permission };
}

function keyProblem(key: unknown): string | undefined {
    if (typeof key !== "string" || key === "") {
        return 'is empty; give an absolute key or prefix such as "/app/"';
    }
    if (!key.startsWith("/")) {
        return `${JSON.stringify(key)} is not absolute; start it with "/", e.g. ${JSON.stringify("/" + key)}`;
    }
    if (!KEY_TEXT.test(key)) {
        return `${JSON.stringify(key)} has characters other than printable ASCII (or a space); use only those`;
    }
    return undefined;
}

/**
 * Everything wrong with the RBAC arguments, each with its path (`etcdRoles[1].permissions[0].key`,
 * `clients[2].roles[0]`, `apiServerPrefix`) and how to fix it. Empty when `resolveRbac` will succeed.
 */
export function rbacProblems(args: RbacArgs): Problem[] {
    const problems: Problem[] = [];
    const add = (path: string, reason: string) => problems.push({ path, reason });
    apiServerPrefixProblems(args, add);
    const defined = roleProblems(args.roles ?? [], add);
    clientRoleProblems(args.clients ?? [], [ROOT_ROLE, KUBE_APISERVER_ROLE, ...defined], add);
    return problems;
}

type AddProblem = (path: string, reason: string) => void;

function apiServerPrefixProblems(args: RbacArgs, add: AddProblem): void {
    if (args.apiServerPrefix !== undefined) {
        const problem = keyProblem(args.apiServerPrefix);
        if (problem) {
            add("apiServerPrefix", `${problem} (kube-apiserver's --etcd-prefix; the default is "/registry")`);
        } else if (args.apiServerPrefix === "/") {
            add(
                "apiServerPrefix",
                '"/" would give kube-apiserver every key in etcd; give the prefix its --etcd-prefix names, e.g. "/registry"',
            );
        }
    }
}

/** The roles' own problems; returns the names of the roles defined. */
function roleProblems(roles: EtcdRoleArgs[], add: AddProblem): string[] {
    const firstRole = new Map<string, number>();
    roles.forEach((role, i) => {
        const at = `etcdRoles[${i}]`;
        if (typeof role.name !== "string" || !ROLE_NAME.test(role.name)) {
            add(
                `${at}.name`,
                `${JSON.stringify(role.name)} is not a valid role name; use 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit`,
            );
        } else if (RESERVED_ROLES.includes(role.name)) {
            add(
                `${at}.name`,
                `"${role.name}" is reserved (${role.name === ROOT_ROLE ? "etcd's built-in role" : role.name === NODE_SYNC_ROLE ? "the component's role for node sync's restart lock" : "the component's role for kube-apiserver"}); ` +
                    `choose another name, or name "${role.name}" in a client's roles to grant it`,
            );
        } else if (firstRole.has(role.name)) {
            add(
                `${at}.name`,
                `"${role.name}" is already defined by etcdRoles[${firstRole.get(role.name)}]; rename one, or merge their permissions`,
            );
        } else {
            firstRole.set(role.name, i);
        }

        const permissions = role.permissions ?? [];
        if (permissions.length === 0) {
            add(
                `${at}.permissions`,
                "is empty, so the role grants nothing; add a permission, or remove the role and leave the client without roles",
            );
        }
        const seen = new Map<string, number>();
        permissions.forEach((p, j) => {
            const pat = `${at}.permissions[${j}]`;
            const problem = keyProblem(p.key);
            const prefix = p.prefix ?? true;
            if (problem) {
                add(`${pat}.key`, problem);
            } else if (p.key === "/" && prefix) {
                // Read on "/" includes every Secret; everything is what the root role is for.
                add(
                    `${pat}.key`,
                    'a prefix permission on "/" covers every key in etcd, Kubernetes Secrets included; ' +
                        'narrow it to the prefix the client needs (e.g. "/app/"), or, if it truly needs everything, ' +
                        'grant the client the "root" role explicitly',
                );
            }
            if (!Object.values(EtcdPermission).includes(p.permission)) {
                add(
                    `${pat}.permission`,
                    `${JSON.stringify(p.permission)} is not a permission; use "read", "write" or "readwrite"`,
                );
            }
            const range = `${p.key}\u0000${prefix}`;
            if (seen.has(range)) {
                add(
                    pat,
                    `repeats the ${prefix ? "prefix" : "key"} ${JSON.stringify(p.key)} of permissions[${seen.get(range)}]; ` +
                        `etcd keeps one permission per range, so merge them (readwrite for both)`,
                );
            } else {
                seen.set(range, j);
            }
        });
    });
    return [...firstRole.keys()];
}

/** Each client's CN as an etcd user name, and the roles it names. */
function clientRoleProblems(clients: NonNullable<RbacArgs["clients"]>, known: string[], add: AddProblem): void {
    // A client's CN is its certificate's identity first: emptiness and collisions with the built-in
    // clients, the members and other clients are the PKI rules' to report. Here, only what makes it
    // unusable as an etcd user name.
    clients.forEach((client, i) => {
        const at = `clients[${i}]`;
        const cn = client.commonName;
        if (typeof cn === "string" && (cn.includes(":") || cn !== cn.trim() || cn.startsWith("-"))) {
            add(
                `${at}.commonName`,
                `${JSON.stringify(cn)} cannot be an etcd user name (etcdctl reads "user:password", flags start with "-", ` +
                    `and edge spaces are invisible); drop the ":", leading "-" or spaces`,
            );
        } else if (cn === ROOT_USER) {
            add(
                `${at}.commonName`,
                `"${cn}" is already the user of etcd's root user; etcd would give both certificates the same ` +
                    `permissions, so give this client a CN of its own`,
            );
        }
        const granted = new Set<string>();
        (client.roles ?? []).forEach((name, j) => {
            if (!known.includes(name)) {
                add(
                    `${at}.roles[${j}]`,
                    `names the role ${JSON.stringify(name)}, which is not defined; define it in etcdRoles, ` +
                        `or use one of: ${known.map((k) => JSON.stringify(k)).join(", ")}`,
                );
            } else if (granted.has(name)) {
                add(`${at}.roles[${j}]`, `names "${name}" twice; list each role once`);
            }
            granted.add(name);
        });
    });
}

/** The full desired auth state. Throws, listing every problem, when `rbacProblems` finds any. */
export function resolveRbac(args: RbacArgs = {}): ResolvedRbac {
    const problems = rbacProblems(args);
    if (problems.length > 0) {
        throw new Error(`invalid RBAC arguments:\n${problems.map((p) => `  ${p.path}: ${p.reason}`).join("\n")}`);
    }
    const apiServerRole: ResolvedRole = {
        name: KUBE_APISERVER_ROLE,
        permissions: [
            resolvePermission({
                key: apiServerKeyPrefix(args.apiServerPrefix),
                prefix: true,
                permission: EtcdPermission.ReadWrite,
            }),
        ],
    };
    const custom = (args.roles ?? []).map((r) => ({ name: r.name, permissions: r.permissions.map(resolvePermission) }));
    const builtInUsers = BUILT_IN_CLIENTS.map((c) => ({
        name: c.commonName,
        roles: [...(BUILT_IN_ROLES[c.name] ?? [])],
    }));
    const extraUsers = (args.clients ?? []).map((c) => ({ name: c.commonName, roles: [...(c.roles ?? [])] }));
    // Each member's server certificate (CN: the member's name) is node sync's identity: it may
    // take and release the restart lock, and touch nothing else.
    const nodeSyncRole: ResolvedRole = {
        name: NODE_SYNC_ROLE,
        permissions: [
            resolvePermission({ key: NODE_SYNC_KEY_PREFIX, prefix: true, permission: EtcdPermission.ReadWrite }),
        ],
    };
    const memberUsers = (args.memberNames ?? []).map((name) => ({ name, roles: [NODE_SYNC_ROLE] }));
    // Membership changes need etcd's root role. The user stands; a certificate for it exists only
    // while a change is pending, in the bundles of the members that carry it out (membership.ts).
    const membershipUser = memberUsers.length > 0 ? [{ name: MEMBERSHIP_USER, roles: [ROOT_ROLE] }] : [];
    return {
        roles: [apiServerRole, ...(memberUsers.length > 0 ? [nodeSyncRole] : []), ...custom],
        users: [...builtInUsers, ...memberUsers, ...membershipUser, ...extraUsers],
    };
}
