// The contract between the component, which renders a member's backup configuration into its
// node files, and the backup agent (`secure-etcd backup --config <file>`), which reads it.
// It holds no secret: paths to the credentials, names and ARNs only.
import { ETCD_PKI_DIR, NODE_PATHS } from "../manifests/nodeLayout";

/**
 * The encryption-context key naming the cluster in every backup's envelope: the IAM policies
 * condition KMS use on it, and restore checks it.
 */
export const CLUSTER_CONTEXT_KEY = "secure-etcd:cluster";
/** The Pulumi project and stack beside it: the key policy conditions on all three. */
export const PROJECT_CONTEXT_KEY = "secure-etcd:project";
export const STACK_CONTEXT_KEY = "secure-etcd:stack";

/** Where the rendered configuration lives on a member. */
export const BACKUP_CONFIG_PATH = "/etc/secure-etcd/backup.json";

/** The backup client's credentials on a member (etcd's root role: snapshots need it). */
export const BACKUP_CLIENT_PATHS = {
    cacert: NODE_PATHS.caCert,
    cert: `${ETCD_PKI_DIR}/backup-client.crt`,
    key: `${ETCD_PKI_DIR}/backup-client.key`,
} as const;

export interface BackupAgentConfig {
    /**
     * The Pulumi project and stack that own the cluster. With `cluster` they are the cluster's
     * identity every backup is bound to (its encryption context): two stacks that share a bucket,
     * a key and a component name still cannot restore each other's backups. Not secret.
     */
    project: string;
    stack: string;
    /** The cluster's name (the component's): part of every object key and of the encryption context. */
    cluster: string;
    /** etcd client URLs; the agent snapshots the first that answers. */
    endpoints: string[];
    cacert: string;
    cert: string;
    key: string;
    bucket: string;
    /** Object-key prefix, ending in `/`, e.g. `etcd-backups/main/`. */
    prefix: string;
    region: string;
    /** The KMS key that wraps each backup's data key (envelope encryption) and encrypts at rest (SSE-KMS). */
    kmsKeyArn: string;
    /** Back up only when the local member leads: one backup per period however many members run the timer. */
    onlyIfLeader: boolean;
}

/** The object-key prefix of a cluster's backups. */
export function backupPrefix(cluster: string): string {
    return `etcd-backups/${cluster}/`;
}

/** Problems with a configuration, as `field: reason` lines (empty when usable). */
export function agentConfigProblems(value: unknown): string[] {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return ["the configuration must be a JSON object"];
    }
    const config = value as Record<string, unknown>;
    const problems: string[] = [];
    const text = (field: keyof BackupAgentConfig) => {
        const value = config[field];
        if (typeof value !== "string" || value.length === 0) {
            problems.push(`${field}: must be a non-empty string`);
        }
    };
    for (const field of [
        "project",
        "stack",
        "cluster",
        "cacert",
        "cert",
        "key",
        "bucket",
        "prefix",
        "region",
        "kmsKeyArn",
    ] as const) {
        if ((field === "project" || field === "stack") && config[field] === undefined) {
            // Rendered before backups were bound to their stack: say how to get a current one.
            problems.push(
                `${field}: missing; an earlier secure-etcd rendered this configuration: run \`pulumi up\` with the release of this agent`,
            );
        } else {
            text(field);
        }
    }
    const endpoints = config.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== "string")) {
        problems.push("endpoints: must be a non-empty list of URLs");
    } else {
        for (const e of endpoints as string[]) {
            if (!e.startsWith("https://")) {
                problems.push(`endpoints: ${e} is not https:// (the backup client authenticates with its certificate)`);
            }
        }
    }
    if (typeof config.prefix === "string" && config.prefix.length > 0 && !config.prefix.endsWith("/")) {
        problems.push("prefix: must end with '/'");
    }
    if (config.onlyIfLeader !== undefined && typeof config.onlyIfLeader !== "boolean") {
        problems.push("onlyIfLeader: must be true or false");
    }
    return problems;
}
