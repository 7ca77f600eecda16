// Rules for backups: the arguments that go with the switch and with a bucket you bring, and each
// setting's own range. Settings are judged only while backups are on (else the switch rule speaks).
import { roleNameListProblems, vpcEndpointIdRules } from "../access/validate";
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { kmsKeyArnProblems } from "../secrets/validate";
import { backupAgentPairProblems, backupAgentSha256Problems, backupAgentUrlProblems } from "./agentArtifact";
import { BACKUP_DEFAULTS, BackupObjectLockMode } from "./args";
import { bucketNameProblem } from "./bucketNaming";

/** Every backup argument other than the `backups` switch. */
export const BACKUP_ARGS = [
    "backupBucketName",
    "backupKmsKeyArn",
    "backupRetentionDays",
    "backupFrequentRetentionDays",
    "backupNoncurrentVersionRetentionDays",
    "backupObjectLockMode",
    "backupObjectLockDays",
    "backupAccessLogBucketName",
    "backupIntervalMinutes",
    "backupAgentPath",
    "backupAgentUrl",
    "backupAgentSha256",
    "backupWriterRoleNames",
    "backupReaderRoleNames",
    "backupVpcEndpointIds",
] as const;

/** Arguments that configure a bucket this component creates. */
const CREATED_BUCKET_ARGS = [
    "backupRetentionDays",
    "backupFrequentRetentionDays",
    "backupNoncurrentVersionRetentionDays",
    "backupObjectLockMode",
    "backupObjectLockDays",
    "backupAccessLogBucketName",
] as const;

/**
 * Intervals that repeat evenly every day, so every member's timer fires at the same wall-clock
 * moments: divisors of an hour, or whole hours that divide a day.
 */
export function isBackupInterval(minutes: unknown): minutes is number {
    return (
        Number.isInteger(minutes) &&
        (minutes as number) > 0 &&
        (60 % (minutes as number) === 0 || ((minutes as number) % 60 === 0 && 1440 % (minutes as number) === 0))
    );
}

export function backupIntervalProblems(value: unknown): Problem[] {
    if (isBackupInterval(value)) {
        return [];
    }
    const valid = Array.from({ length: 1440 }, (_, i) => i + 1).filter(isBackupInterval);
    return [
        {
            path: "backupIntervalMinutes",
            reason: `${quote(value)} does not repeat evenly every day, so the members' timers could not fire at the same moments; use a divisor of an hour or a whole number of hours that divides a day: ${valid.join(", ")} (e.g. ${BACKUP_DEFAULTS.backupIntervalMinutes})`,
        },
    ];
}

export function backupAgentPathProblems(value: unknown): Problem[] {
    return typeof value === "string" && /^(\/[A-Za-z0-9._+-]+)+$/.test(value)
        ? []
        : [
              {
                  path: "backupAgentPath",
                  reason: `${quote(value)} is not an absolute path of letters, digits and ._+- (the systemd unit runs it as is); give where the secure-etcd command is installed, e.g. "${BACKUP_DEFAULTS.backupAgentPath}"`,
              },
          ];
}

export function backupBucketNameProblems(value: unknown, path = "backupBucketName"): Problem[] {
    if (value === undefined) {
        return [];
    }
    const reason = typeof value === "string" ? bucketNameProblem(value) : `${quote(value)} is not a bucket name`;
    return reason ? [{ path, reason }] : [];
}

/** Day counts of the lifecycle and the lock: whole days, 1 to 100 years. */
export function backupDaysProblems(path: string, value: unknown): Problem[] {
    return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 36500
        ? []
        : [{ path, reason: `${quote(value)} is not a whole number of days from 1 to 36500` }];
}

export function isBackupObjectLockMode(value: unknown): value is BackupObjectLockMode {
    return Object.values(BackupObjectLockMode).includes(value as BackupObjectLockMode);
}

/**
 * A lock shorter than the time an overwritten or expired version is kept leaves that version
 * deletable by anyone who may delete versions before lifecycle would have removed it.
 */
export function objectLockShorterThanKeptProblems(lockDays: unknown, keptDays: unknown): Problem[] {
    if (!Number.isInteger(lockDays) || !Number.isInteger(keptDays) || (lockDays as number) >= (keptDays as number)) {
        return []; // not numbers: their own rules speak
    }
    return [
        {
            path: "backupObjectLockDays",
            reason: `${quote(lockDays)} is shorter than backupNoncurrentVersionRetentionDays (${quote(keptDays)}), so a version would be unlocked while still kept; lock for at least ${quote(keptDays)} days, or keep noncurrent versions for less`,
        },
    ];
}

/**
 * The frequent tier keeps every backup, the daily tier one a day: a frequent tier kept longer than
 * the daily one would keep every backup longer than the ones meant to last.
 */
export function frequentLongerThanDailyProblems(frequentDays: unknown, dailyDays: unknown): Problem[] {
    if (
        !Number.isInteger(frequentDays) ||
        !Number.isInteger(dailyDays) ||
        (frequentDays as number) <= (dailyDays as number)
    ) {
        return []; // not numbers: their own rules speak
    }
    return [
        {
            path: "backupFrequentRetentionDays",
            reason: `${quote(frequentDays)} is longer than backupRetentionDays (${quote(dailyDays)}), which keeps the daily backups; keep every backup for at most ${quote(dailyDays)} days, or raise backupRetentionDays`,
        },
    ];
}

/** Which backup arguments may be given together: the switch, a bucket you bring, the lock. */
export function backupShapeProblems(v: { backups: unknown; mode: unknown; given: readonly string[] }): Problem[] {
    if (typeof v.backups !== "boolean") {
        return [{ path: "backups", reason: `${quote(v.backups)} is not true or false` }];
    }
    const given = new Set(v.given);
    if (!v.backups) {
        return BACKUP_ARGS.filter((k) => given.has(k)).map((k) => ({
            path: k,
            reason: "only applies when backups are on, and backups is false; remove it, or set backups to true",
        }));
    }
    const problems: Problem[] = [];
    if (given.has("backupBucketName")) {
        for (const k of CREATED_BUCKET_ARGS.filter((key) => given.has(key))) {
            problems.push({
                path: k,
                reason: "configures the bucket this component creates, and backupBucketName names a bucket you manage; configure that bucket's lifecycle, lock and logging yourself, or remove backupBucketName",
            });
        }
    }
    if (given.has("backupObjectLockMode") && !isBackupObjectLockMode(v.mode)) {
        problems.push({
            path: "backupObjectLockMode",
            reason: `${quote(v.mode)} is not an Object Lock mode; use one of ${Object.values(BackupObjectLockMode).join(", ")}`,
        });
    }
    if (given.has("backupObjectLockDays") && v.mode === BackupObjectLockMode.Off) {
        problems.push({
            path: "backupObjectLockDays",
            reason: 'has no effect with backupObjectLockMode "OFF"; remove it, or lock the backups (BackupObjectLockMode.Governance or Compliance)',
        });
    }
    return problems;
}

/**
 * The component's name becomes the backups' object-key prefix and the encryption context: no
 * character that a policy would read as a wildcard or variable (`*`, `?`, `$`), and no `/`.
 */
export function backupClusterNameProblems(name: string, backups: unknown): Problem[] {
    if (backups !== true || /^[A-Za-z0-9._-]{1,128}$/.test(name)) {
        return [];
    }
    return [
        {
            path: "name",
            reason: `${quote(name)} becomes the backups' key prefix and encryption context, where only letters, digits and ._- are safe (1 to 128); rename the component, e.g. "prod-etcd", or set backups to false`,
        },
    ];
}

interface BackupView {
    backups: unknown;
    backupBucketName?: unknown;
    backupKmsKeyArn?: unknown;
    backupRetentionDays: unknown;
    backupFrequentRetentionDays: unknown;
    backupNoncurrentVersionRetentionDays: unknown;
    backupObjectLockMode?: unknown;
    backupObjectLockDays: unknown;
    backupAccessLogBucketName?: unknown;
    backupIntervalMinutes: unknown;
    backupAgentPath: unknown;
    backupAgentUrl?: unknown;
    backupAgentSha256?: unknown;
    backupWriterRoleNames: unknown;
    backupReaderRoleNames: unknown;
    backupVpcEndpointIds: unknown;
}

/** A rule over one backup setting, judged while backups are on (and, where said, when it was given). */
function setting<K extends keyof BackupView>(
    key: K,
    check: (value: unknown) => Problem[],
    onlyIfGiven = false,
): ArgRule<BackupView> {
    return argRule(
        ["backups", key],
        (a, given) => (a.backups === true && (!onlyIfGiven || given.has(key)) ? { value: a[key] } : undefined),
        (v) => (v === undefined ? [] : check(v.value)),
    );
}

export const BACKUP_RULES: ArgRule<BackupView>[] = [
    argRule(
        ["backups", "backupObjectLockMode"],
        (a, given) => ({
            backups: a.backups,
            mode: a.backupObjectLockMode,
            given: BACKUP_ARGS.filter((k) => given.has(k)),
        }),
        backupShapeProblems,
    ),
    setting("backupBucketName", backupBucketNameProblems),
    setting("backupKmsKeyArn", (arn) => kmsKeyArnProblems("backupKmsKeyArn", arn)),
    setting("backupRetentionDays", (d) => backupDaysProblems("backupRetentionDays", d)),
    setting("backupFrequentRetentionDays", (d) => backupDaysProblems("backupFrequentRetentionDays", d)),
    argRule(
        ["backups", "backupFrequentRetentionDays", "backupRetentionDays"],
        (a) =>
            a.backups === true ? { frequent: a.backupFrequentRetentionDays, daily: a.backupRetentionDays } : undefined,
        (v) => (v === undefined ? [] : frequentLongerThanDailyProblems(v.frequent, v.daily)),
    ),
    setting("backupNoncurrentVersionRetentionDays", (d) =>
        backupDaysProblems("backupNoncurrentVersionRetentionDays", d),
    ),
    setting("backupObjectLockDays", (d) => backupDaysProblems("backupObjectLockDays", d), true),
    argRule(
        ["backups", "backupObjectLockMode", "backupObjectLockDays", "backupNoncurrentVersionRetentionDays"],
        (a) =>
            a.backups === true && a.backupObjectLockMode !== BackupObjectLockMode.Off
                ? { lockDays: a.backupObjectLockDays, keptDays: a.backupNoncurrentVersionRetentionDays }
                : undefined,
        (v) => (v === undefined ? [] : objectLockShorterThanKeptProblems(v.lockDays, v.keptDays)),
    ),
    setting("backupAccessLogBucketName", (b) => backupBucketNameProblems(b, "backupAccessLogBucketName"), true),
    setting("backupIntervalMinutes", backupIntervalProblems),
    setting("backupAgentPath", backupAgentPathProblems),
    argRule(
        ["backups", "backupAgentUrl", "backupAgentSha256"],
        (a, given) =>
            a.backups === true
                ? { url: given.has("backupAgentUrl"), sha256: given.has("backupAgentSha256") }
                : undefined,
        (given) => (given === undefined ? [] : backupAgentPairProblems(given)),
    ),
    setting("backupAgentUrl", backupAgentUrlProblems, true),
    setting("backupAgentSha256", backupAgentSha256Problems, true),
    setting("backupWriterRoleNames", (l) => roleNameListProblems("backupWriterRoleNames", l)),
    setting("backupReaderRoleNames", (l) => roleNameListProblems("backupReaderRoleNames", l)),
    ...vpcEndpointIdRules<BackupView, "backupVpcEndpointIds">("backupVpcEndpointIds", (a) => a.backups === true),
];
