// The contract between the component, which renders a member's restore request into its node
// files when `restoreFromBackup` is set, and `secure-etcd restore-member --config <file>`, which a
// member runs before etcd serves. It holds no secret: which backup, and where the member's other
// rendered files are (the backup agent's configuration names the bucket, key and identity; the
// static-pod manifest names the member, its data dir and the initial cluster).
import * as crypto from "crypto";
import { BACKUP_CONFIG_PATH } from "../backup/agentConfig";
import { NODE_PATHS } from "../manifests/nodeLayout";

/** Where the rendered request lives on a member. */
export const RESTORE_CONFIG_PATH = "/etc/secure-etcd/restore.json";
/** The agent's own state: one folder per restore id (markers, the quarantined member's manifest). */
export const RESTORE_STATE_DIR = "/var/lib/secure-etcd/restore";
/** `restoreFromBackup` value that picks the newest authentic backup. */
export const LATEST_BACKUP = "latest";
/**
 * How far `--bump-revision` moves the revision past the snapshot's: beyond any revision the lost
 * cluster can have reached after its last backup (etcd's own disaster-recovery guide suggests a
 * billion), so that no client ever sees a revision twice.
 */
export const RESTORE_BUMP_REVISION = 1_000_000_000;

export interface RestoreMemberConfig {
    /**
     * Names this restore, derived from the cluster and `restoreFromBackup`: a member that has
     * restored under it never restores again (its marker lives under `stateDir`).
     */
    restoreId: string;
    /** "latest" or the snapshot object's key. */
    backup: string;
    /** Restore even when a member of the cluster answers or this member's data dir holds data. */
    overRunningCluster: boolean;
    /** The backup agent's rendered configuration: bucket, prefix, region, key, identity, client credentials. */
    backupConfig: string;
    /** The member's rendered static-pod manifest: name, data dir, initial cluster, client URLs. */
    manifest: string;
    /**
     * The manifest's content as rendered: at first boot the restore runs before the boot script
     * writes the manifest (so that no etcd starts on an empty data dir meanwhile). No secret in it.
     */
    manifestContent?: string;
    stateDir: string;
}

/** The id of a restore: the same argument on the same cluster is the same restore, whatever the `pulumi up`. */
export function restoreIdOf(cluster: string, backup: string): string {
    return crypto.createHash("sha256").update(`${cluster}\n${backup}`).digest("hex").slice(0, 16);
}

/** The request rendered for every member of `cluster`. */
export function renderRestoreConfig(input: {
    cluster: string;
    backup: string;
    overRunningCluster: boolean;
    manifestContent?: string;
}): RestoreMemberConfig {
    return {
        ...(input.manifestContent !== undefined ? { manifestContent: input.manifestContent } : {}),
        restoreId: restoreIdOf(input.cluster, input.backup),
        backup: input.backup,
        overRunningCluster: input.overRunningCluster,
        backupConfig: BACKUP_CONFIG_PATH,
        manifest: NODE_PATHS.manifest,
        stateDir: RESTORE_STATE_DIR,
    };
}

/** Problems with a request, as `field: reason` lines (empty when usable). */
export function restoreConfigProblems(value: unknown): string[] {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return ["the configuration must be a JSON object"];
    }
    const config = value as Record<string, unknown>;
    const problems: string[] = [];
    for (const field of ["restoreId", "backup", "backupConfig", "manifest", "stateDir"] as const) {
        if (typeof config[field] !== "string" || config[field].length === 0) {
            problems.push(`${field}: must be a non-empty string`);
        }
    }
    if (typeof config.restoreId === "string" && !/^[0-9a-f]{16}$/.test(config.restoreId)) {
        problems.push("restoreId: must be 16 hex digits");
    }
    if (config.manifestContent !== undefined && typeof config.manifestContent !== "string") {
        problems.push("manifestContent: must be a string");
    }
    if (typeof config.overRunningCluster !== "boolean") {
        problems.push("overRunningCluster: must be true or false");
    }
    return problems;
}
