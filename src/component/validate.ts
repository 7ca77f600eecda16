// Every concern's rules in one list, the component-name rule, and the warnings for legal but
// unwise arguments. Internal; exported for testing.
import { ACCESS_RULES } from "../access/validate";
import { backupClusterNameProblems, BACKUP_RULES } from "../backup/validate";
import { Problem } from "../core/problems";
import { argRule, ArgRule, validate, Validation } from "../core/rules";
import { DISCOURAGED_PROVIDERS, EncryptionProvider } from "../encryption/encryptionConfig";
import { ENCRYPTION_RULES } from "../encryption/validate";
import { MAINTENANCE_RULES } from "../maintenance/validate";
import { POD_RULES } from "../manifests/validate";
import { backupAlarmsEnabled, MONITORING_RULES } from "../monitoring/validate";
import { NETWORK_RULES } from "../network/validate";
import { MEMBER_RULES } from "../nodes/validate";
import { PKI_RULES } from "../pki/validate";
import { REVOCATION_RULES } from "../pki/revocation";
import { caRotationWarnings } from "../pki/caRotation";
import { RBAC_RULES } from "../rbac/validate";
import { RESTORE_RULES } from "../restore/validate";
import { SECRETS_RULES } from "../secrets/validate";
import { BackupObjectLockMode } from "../backup/args";
import { SecureEtcdClusterArgs } from "./args";
import { ResolvedArgs, resolveArgs } from "./resolveArgs";

/** Every argument rule, concern by concern. */
export const ARG_RULES: readonly ArgRule<ResolvedArgs>[] = [
    ...MEMBER_RULES,
    ...PKI_RULES,
    ...REVOCATION_RULES,
    ...POD_RULES,
    ...RBAC_RULES,
    ...NETWORK_RULES,
    ...ENCRYPTION_RULES,
    ...SECRETS_RULES,
    ...ACCESS_RULES,
    ...BACKUP_RULES,
    ...RESTORE_RULES,
    ...MAINTENANCE_RULES,
    ...MONITORING_RULES,
];

/** The component's name must suit the backups' prefix and encryption context. */
function nameRule(name: string): ArgRule<ResolvedArgs> {
    return argRule(
        ["backups"],
        (a) => a.backups,
        (backups) => backupClusterNameProblems(name, backups),
    );
}

/** The arguments the caller set (an argument set to undefined counts as not set). */
export function givenArgs(args: SecureEtcdClusterArgs): ReadonlySet<string> {
    return new Set(Object.entries(args).flatMap(([k, v]) => (v === undefined ? [] : [k])));
}

/**
 * Resolves the defaults and runs every rule: problems in plain values now, the rest behind the
 * gate. Arguments that are not an object at all are one problem.
 */
export function validateComponentArgs(name: string, args: SecureEtcdClusterArgs): Validation<ResolvedArgs> {
    if (args === undefined || args === null || typeof args !== "object") {
        const missing = { path: "args", reason: "is missing; give at least { members: [...] }" };
        return { now: [missing], args: resolveArgs({ members: [] }) };
    }
    return validate(name, resolveArgs(args), givenArgs(args), [...ARG_RULES, nameRule(name)]);
}

/** Every problem that can be found in the arguments as given, before anything is created. */
export function validateArgs(args: SecureEtcdClusterArgs | undefined, name = "cluster"): Problem[] {
    return validateComponentArgs(name, args as SecureEtcdClusterArgs).now;
}

/** Warnings: legal but unwise arguments. */
export function argWarnings(args: ResolvedArgs): string[] {
    const warnings: string[] = [];
    const count = args.members.length;
    if (count % 2 === 0) {
        warnings.push(
            `members: ${count} members tolerate no more failures than ${count - 1}; an odd count (3 or 5) gives the same fault tolerance with fewer members to keep in quorum`,
        );
    }
    if (args.encryptionProvider in DISCOURAGED_PROVIDERS) {
        warnings.push(`encryptionProvider: ${DISCOURAGED_PROVIDERS[args.encryptionProvider]}`);
    }
    if (args.backupBucketName !== undefined && backupAlarmsEnabled(args)) {
        warnings.push(
            "backupFreshnessAlarm: on a bucket you bring, the component does not add the S3 request-metrics configuration the alarms read; create it on that bucket with the id in backupMetricsFilterId and the prefix in backupPrefix (until then the freshness alarm is in ALARM), or set backupFreshnessAlarm to false",
        );
    }
    if (args.backupObjectLockMode === BackupObjectLockMode.Compliance) {
        warnings.push(
            "backupObjectLockMode: COMPLIANCE locks every backup version for backupObjectLockDays (a daily backup for backupRetentionDays, if longer) against everyone, the account's root user included: neither the versions nor the bucket can be deleted before the last lock ends",
        );
    }
    warnings.push(
        ...caRotationWarnings({
            etcdCa: { generation: args.etcdCaGeneration, stage: args.etcdCaRotationStage },
            peerCa: { generation: args.peerCaGeneration, stage: args.peerCaRotationStage },
        }),
    );
    const unnamed = unnamedKeyUsers(args);
    if (unnamed.length > 0) {
        warnings.push(
            `key policies: no role is named for ${unnamed.join(", ")}; the key policies leave those uses to IAM policies, so any principal in the account whose IAM policy allows them (a CI or admin role with kms:Decrypt on "*", say) can read what those keys protect; name the roles to make the key policy decide`,
        );
    }
    return warnings;
}

/** The uses of keys this component creates that no role argument names (each with the argument). */
export function unnamedKeyUsers(args: ResolvedArgs): string[] {
    const secretsKey = args.secretsKmsKeyArn === undefined;
    const backupKey = args.backups && args.backupKmsKeyArn === undefined;
    const encryptionKey = args.encryptionProvider === EncryptionProvider.Kms && args.encryptionKmsKeyArn === undefined;
    const uses: [boolean, string][] = [
        [secretsKey && args.memberRoleNames.length === 0, "the members' secrets (memberRoleNames)"],
        [secretsKey && args.apiServerRoleNames.length === 0, "kube-apiserver's secrets (apiServerRoleNames)"],
        [encryptionKey && args.apiServerRoleNames.length === 0, "the encryption-at-rest key (apiServerRoleNames)"],
        [backupKey && args.backupWriterRoleNames.length === 0, "writing backups (backupWriterRoleNames)"],
        [backupKey && args.backupReaderRoleNames.length === 0, "restoring backups (backupReaderRoleNames)"],
    ];
    return uses.filter(([unnamed]) => unnamed).map(([, use]) => use);
}
