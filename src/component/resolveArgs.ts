// The one place defaults are applied. Pure and total: it accepts whatever a caller passes (the rules
// then say what is wrong with it) and never looks inside an Output except to derive a default.
import * as pulumi from "@pulumi/pulumi";
import { lift } from "../core/rules";
import { EncryptionProvider } from "../encryption/encryptionConfig";
import { DEFAULT_MIN_PREFIX_LENGTH } from "../network/networkRules";
import { MemberArgs } from "../nodes/args";
import { ClientArgs } from "../pki/args";
import { DEFAULTS, SecureEtcdClusterArgs } from "./args";

/** Arguments whose absence means "create one" or "none": they have no default value. */
type WithoutDefault =
    | "vpcId"
    | "securityGroupId"
    | "etcdImageDigest"
    | "encryptionKmsKeyArn"
    | "kmsPluginImage"
    | "secretsKmsKeyArn"
    | "backupBucketName"
    | "backupKmsKeyArn"
    | "backupAccessLogBucketName"
    | "backupAgentUrl"
    | "backupAgentSha256"
    | "alarmTopicArn"
    | "apiServerPrefix"
    | "restoreFromBackup";

export type ResolvedMember = Required<MemberArgs>;
export type ResolvedClient = Required<ClientArgs>;

/** Every argument with its default applied; members and clients complete. */
export type ResolvedArgs = {
    [K in Exclude<keyof SecureEtcdClusterArgs, WithoutDefault | "members" | "clients">]-?: Exclude<
        SecureEtcdClusterArgs[K],
        undefined
    >;
} & Pick<SecureEtcdClusterArgs, WithoutDefault> & { members: ResolvedMember[]; clients: ResolvedClient[] };

export interface ExpiryThresholds {
    warningDays: number;
    criticalDays: number;
}

/**
 * The expiry thresholds in effect: those given, else 30 and 7 days, scaled down for certificates
 * too short-lived for them (a quarter of the validity, and a quarter of the warning).
 */
export function expiryThresholds(v: {
    certificateExpiryWarningDays?: number;
    certificateExpiryCriticalDays?: number;
    certificateValidityHours: number;
}): ExpiryThresholds {
    const warningDays =
        v.certificateExpiryWarningDays ??
        Math.min(DEFAULTS.certificateExpiryWarningDays, v.certificateValidityHours / 24 / 4);
    const criticalDays =
        v.certificateExpiryCriticalDays ?? Math.min(DEFAULTS.certificateExpiryCriticalDays, warningDays / 4);
    return { warningDays, criticalDays };
}

/** A list argument as given, or an empty list; anything else passes through for the rules to name. */
function listOr<T>(value: T[] | undefined): T[] {
    return value ?? [];
}

/** Members with their DNS names; not a list at all becomes none, which the member rules name. */
function resolveMembers(members: MemberArgs[] | undefined): ResolvedMember[] {
    return (Array.isArray(members) ? members : []).map((m) => ({
        name: m?.name,
        ip: m?.ip,
        dnsNames: m?.dnsNames ?? [],
    }));
}

/** Clients with their CN (the name unless given), roles and generation (the first unless given). */
function resolveClients(clients: ClientArgs[] | undefined): ResolvedClient[] {
    return (Array.isArray(clients) ? clients : []).map((c) => ({
        name: c?.name,
        commonName: c?.commonName ?? c?.name,
        roles: c?.roles ?? [],
        generation: c?.generation ?? 1,
    }));
}

const maxOf = (values: number[]) => Math.max(...values);

/** The scaled expiry defaults follow the certificates' validity, which may arrive as an Output. */
function expiryThreshold(
    args: SecureEtcdClusterArgs,
    certificateValidityHours: pulumi.Input<number>,
    pick: keyof ExpiryThresholds,
) {
    return lift(
        [args.certificateExpiryWarningDays, args.certificateExpiryCriticalDays, certificateValidityHours],
        ([warning, critical, validity]) =>
            expiryThresholds({
                certificateExpiryWarningDays: warning,
                certificateExpiryCriticalDays: critical,
                certificateValidityHours: validity,
            })[pick],
    );
}

/** Both CAs' generation and rotation stage. */
function resolveCaRotation(args: SecureEtcdClusterArgs) {
    const d = DEFAULTS;
    return {
        etcdCaGeneration: args.etcdCaGeneration ?? d.etcdCaGeneration,
        etcdCaRotationStage: args.etcdCaRotationStage ?? d.etcdCaRotationStage,
        peerCaGeneration: args.peerCaGeneration ?? d.peerCaGeneration,
        peerCaRotationStage: args.peerCaRotationStage ?? d.peerCaRotationStage,
    };
}

/** How members are kept and changed: node sync, membership, public addresses. */
function resolveMemberSettings(args: SecureEtcdClusterArgs) {
    const d = DEFAULTS;
    return {
        allowPublicMemberIps: args.allowPublicMemberIps ?? d.allowPublicMemberIps,
        nodeSync: args.nodeSync ?? d.nodeSync,
        nodeSyncIntervalMinutes: args.nodeSyncIntervalMinutes ?? d.nodeSyncIntervalMinutes,
        membershipCredentialHours: args.membershipCredentialHours ?? d.membershipCredentialHours,
    };
}

/** A restore's override (the restore itself has no default: none). */
function resolveRestore(args: SecureEtcdClusterArgs) {
    return { restoreOverRunningCluster: args.restoreOverRunningCluster ?? DEFAULTS.restoreOverRunningCluster };
}

/** The backend quota and the maintenance schedule and thresholds. */
function resolveMaintenance(args: SecureEtcdClusterArgs) {
    const d = DEFAULTS;
    return {
        quotaBackendBytes: args.quotaBackendBytes ?? d.quotaBackendBytes,
        defragmentation: args.defragmentation ?? d.defragmentation,
        defragmentationIntervalMinutes: args.defragmentationIntervalMinutes ?? d.defragmentationIntervalMinutes,
        defragmentationFragmentedRatio: args.defragmentationFragmentedRatio ?? d.defragmentationFragmentedRatio,
        defragmentationQuotaRatio: args.defragmentationQuotaRatio ?? d.defragmentationQuotaRatio,
        defragmentationMinFragmentedBytes:
            args.defragmentationMinFragmentedBytes ?? d.defragmentationMinFragmentedBytes,
    };
}

export function resolveArgs(args: SecureEtcdClusterArgs): ResolvedArgs {
    const d = DEFAULTS;
    const provider = args.encryptionProvider ?? d.encryptionProvider;
    const certificateValidityHours = args.certificateValidityHours ?? d.certificateValidityHours;
    const backupRetentionDays = args.backupRetentionDays ?? d.backupRetentionDays;
    const backupFrequentRetentionDays = args.backupFrequentRetentionDays ?? d.backupFrequentRetentionDays;
    const backupNoncurrentVersionRetentionDays =
        args.backupNoncurrentVersionRetentionDays ?? d.backupNoncurrentVersionRetentionDays;
    const backupIntervalMinutes = args.backupIntervalMinutes ?? d.backupIntervalMinutes;
    const clientCidrs = listOr(args.clientCidrs);
    const thresholds = (pick: keyof ExpiryThresholds) => expiryThreshold(args, certificateValidityHours, pick);
    return {
        ...args,
        members: resolveMembers(args.members),
        ...resolveMemberSettings(args),
        keyAlgorithm: args.keyAlgorithm ?? d.keyAlgorithm,
        caValidityHours: args.caValidityHours ?? d.caValidityHours,
        certificateValidityHours,
        certificateRenewalHours: args.certificateRenewalHours ?? d.certificateRenewalHours,
        maxCertificateValidityHours: args.maxCertificateValidityHours ?? d.maxCertificateValidityHours,
        maxCaValidityHours: args.maxCaValidityHours ?? d.maxCaValidityHours,
        ...resolveCaRotation(args),
        clients: resolveClients(args.clients),
        revokedCertificates: listOr(args.revokedCertificates),
        etcdVersion: args.etcdVersion ?? d.etcdVersion,
        etcdImageRepository: args.etcdImageRepository ?? d.etcdImageRepository,
        etcdUid: args.etcdUid ?? d.etcdUid,
        etcdGid: args.etcdGid ?? d.etcdGid,
        etcdRoles: listOr(args.etcdRoles),
        clientSecurityGroupIds: listOr(args.clientSecurityGroupIds),
        clientCidrs,
        minClientCidrPrefixLength: args.minClientCidrPrefixLength ?? DEFAULT_MIN_PREFIX_LENGTH.ipv4,
        minClientCidrPrefixLengthIpv6: args.minClientCidrPrefixLengthIpv6 ?? DEFAULT_MIN_PREFIX_LENGTH.ipv6,
        metricsSecurityGroupIds: listOr(args.metricsSecurityGroupIds),
        hostFirewall: args.hostFirewall ?? d.hostFirewall,
        hostFirewallClientCidrs: args.hostFirewallClientCidrs ?? clientCidrs,
        hostFirewallMetricsCidrs: listOr(args.hostFirewallMetricsCidrs),
        allowPublicClientCidrs: args.allowPublicClientCidrs ?? d.allowPublicClientCidrs,
        encryptionProvider: provider,
        // KMS keeps its key in AWS: no local key names.
        encryptionKeyNames:
            provider === EncryptionProvider.Kms ? [] : (args.encryptionKeyNames ?? [...d.encryptionKeyNames]),
        encryptedResources: args.encryptedResources ?? [...d.encryptedResources],
        encryptionIdentityFallback: args.encryptionIdentityFallback ?? d.encryptionIdentityFallback,
        encryptionConfigAutomaticReload: args.encryptionConfigAutomaticReload ?? d.encryptionConfigAutomaticReload,
        kmsPluginHealthPort: args.kmsPluginHealthPort ?? d.kmsPluginHealthPort,
        secretNamePrefix: args.secretNamePrefix ?? d.secretNamePrefix,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? d.secretRecoveryWindowDays,
        kmsKeyDeletionWindowDays: args.kmsKeyDeletionWindowDays ?? d.kmsKeyDeletionWindowDays,
        secretsVpcEndpointIds: listOr(args.secretsVpcEndpointIds),
        // Empty: the key policies name the account root as administrator and leave unnamed uses to IAM.
        keyAdministratorArns: listOr(args.keyAdministratorArns),
        memberRoleNames: listOr(args.memberRoleNames),
        apiServerRoleNames: listOr(args.apiServerRoleNames),
        backups: args.backups ?? d.backups,
        backupRetentionDays,
        backupFrequentRetentionDays,
        backupNoncurrentVersionRetentionDays,
        backupObjectLockMode: args.backupObjectLockMode ?? d.backupObjectLockMode,
        // The bucket's default lock, which every frequent backup gets: for as long as it is current,
        // and as long as a noncurrent version is kept (daily backups carry a longer lock of their own).
        backupObjectLockDays:
            args.backupObjectLockDays ??
            lift([backupFrequentRetentionDays, backupNoncurrentVersionRetentionDays], maxOf),
        backupIntervalMinutes,
        backupAgentPath: args.backupAgentPath ?? d.backupAgentPath,
        backupWriterRoleNames: listOr(args.backupWriterRoleNames),
        backupReaderRoleNames: listOr(args.backupReaderRoleNames),
        backupVpcEndpointIds: listOr(args.backupVpcEndpointIds),
        ...resolveRestore(args),
        ...resolveMaintenance(args),
        monitoringEtcdJob: args.monitoringEtcdJob ?? d.monitoringEtcdJob,
        monitoringApiServerJob: args.monitoringApiServerJob ?? d.monitoringApiServerJob,
        certificateExpiryWarningDays: thresholds("warningDays"),
        certificateExpiryCriticalDays: thresholds("criticalDays"),
        etcdDeniedRequestsThreshold: args.etcdDeniedRequestsThreshold ?? d.etcdDeniedRequestsThreshold,
        secretReadRateThreshold: args.secretReadRateThreshold ?? d.secretReadRateThreshold,
        prometheusRuleNamespace: args.prometheusRuleNamespace ?? d.prometheusRuleNamespace,
        prometheusRuleLabels: args.prometheusRuleLabels ?? {},
        backupFreshnessAlarm: args.backupFreshnessAlarm ?? d.backupFreshnessAlarm,
        backupMaxAgeMinutes: args.backupMaxAgeMinutes ?? lift([backupIntervalMinutes], ([interval]) => 2 * interval),
    };
}
