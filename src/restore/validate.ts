// Rules for a whole-cluster restore: backups on, a backup named in a form the agent reads, and the
// override only with a restore.
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { LATEST_BACKUP } from "./restoreConfig";

interface RestoreView {
    backups: unknown;
    restoreFromBackup?: unknown;
    restoreOverRunningCluster: unknown;
}

/** `"latest"`, or a snapshot object's key under the backups' prefix. */
export function restoreFromBackupProblems(value: unknown, backups: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    if (backups !== true) {
        return [
            {
                path: "restoreFromBackup",
                reason: "restores from this component's backups, and backups is false; set backups to true (the members need the backup agent's configuration), or remove restoreFromBackup",
            },
        ];
    }
    if (value === LATEST_BACKUP) {
        return [];
    }
    if (typeof value !== "string" || !/^etcd-backups\/[A-Za-z0-9._/-]+\.db\.enc$/.test(value) || value.includes("..")) {
        return [
            {
                path: "restoreFromBackup",
                reason: `${quote(value)} is neither "${LATEST_BACKUP}" nor a snapshot object's key; give "${LATEST_BACKUP}" or the key restore-verify prints, e.g. "etcd-backups/<cluster>/daily/2026/11/30/<cluster>-20261130T000000Z-rev42.db.enc"`,
            },
        ];
    }
    return [];
}

export function restoreOverRunningClusterProblems(value: unknown, restoreGiven: boolean): Problem[] {
    if (typeof value !== "boolean") {
        return [{ path: "restoreOverRunningCluster", reason: `${quote(value)} is not true or false` }];
    }
    if (value && !restoreGiven) {
        return [
            {
                path: "restoreOverRunningCluster",
                reason: "only applies to a restore, and restoreFromBackup is not set; remove it, or name the backup in restoreFromBackup",
            },
        ];
    }
    return [];
}

export const RESTORE_RULES: ArgRule<RestoreView>[] = [
    argRule(
        ["restoreFromBackup", "backups"],
        (a) => ({ value: a.restoreFromBackup, backups: a.backups }),
        (v) => restoreFromBackupProblems(v.value, v.backups),
    ),
    argRule(
        ["restoreOverRunningCluster", "restoreFromBackup"],
        (a, given) => ({ value: a.restoreOverRunningCluster, restoreGiven: given.has("restoreFromBackup") }),
        (v) => restoreOverRunningClusterProblems(v.value, v.restoreGiven),
    ),
];
