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
    /**
     * Retention tiers: the first backup of each UTC day goes under `<prefix>daily/`, every other under
     * `<prefix>frequent/`, and the bucket's lifecycle expires each tier on its own schedule. Absent in
     * a configuration rendered before tiers: the agent then writes under `<prefix>` as it did.
     */
    tiers?: BackupTiers;
}

/** The retention tiers' settings the agent needs: how to lock a daily backup. */
export interface BackupTiers {
    /**
     * The Object Lock retention each daily backup's objects carry (the bucket policy requires at
     * least `days` in `mode` on the daily tier); absent when the bucket has no Object Lock.
     */
    dailyLock?: { mode: string; days: number };
}

/** The tiers, as folders under the cluster's prefix. */
export const FREQUENT_TIER = "frequent/";
export const DAILY_TIER = "daily/";

/**
 * The first character of every key written before tiers (`<prefix>2026/11/30/...`): the lifecycle
 * rule for those backups filters on it, so it matches neither tier's folder.
 */
export const UNTIERED_KEY_START = "2";

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
    problems.push(...tiersProblems(config.tiers));
    return problems;
}

function tiersProblems(tiers: unknown): string[] {
    if (tiers === undefined) {
        return [];
    }
    if (typeof tiers !== "object" || tiers === null || Array.isArray(tiers)) {
        return ["tiers: must be an object"];
    }
    const lock = (tiers as BackupTiers).dailyLock as unknown;
    if (lock === undefined) {
        return [];
    }
    const { mode, days } = (lock ?? {}) as { mode?: unknown; days?: unknown };
    const problems: string[] = [];
    if (mode !== "GOVERNANCE" && mode !== "COMPLIANCE") {
        problems.push("tiers.dailyLock.mode: must be GOVERNANCE or COMPLIANCE");
    }
    if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > 36500) {
        problems.push("tiers.dailyLock.days: must be a whole number of days from 1 to 36500");
    }
    return problems;
}
