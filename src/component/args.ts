// The component's arguments: one flat interface made of each concern's own, in the order the
// schema lists them (members first), and the defaults of every concern in one table.
import { KeyAccessArgs } from "../access/args";
import { BACKUP_DEFAULTS, BackupArgs } from "../backup/args";
import { ENCRYPTION_DEFAULTS, EncryptionArgs } from "../encryption/args";
import { MAINTENANCE_DEFAULTS, MaintenanceArgs } from "../maintenance/args";
import { EtcdPodArgs, POD_DEFAULTS } from "../manifests/args";
import { MONITORING_DEFAULTS, MonitoringArgs } from "../monitoring/args";
import { NETWORK_DEFAULTS, NetworkArgs } from "../network/args";
import { ClusterMembersArgs, MEMBER_DEFAULTS } from "../nodes/args";
import { PKI_DEFAULTS, PkiArgs } from "../pki/args";
import { EtcdRbacArgs } from "../rbac/args";
import { RESTORE_DEFAULTS, RestoreArgs } from "../restore/args";
import { SECRETS_DEFAULTS, SecretStoreArgs } from "../secrets/args";

/** The arguments of a SecureEtcdCluster: only `members` is required; the rest default to a secure posture. */
export interface SecureEtcdClusterArgs
    extends
        ClusterMembersArgs,
        PkiArgs,
        EtcdPodArgs,
        EtcdRbacArgs,
        NetworkArgs,
        EncryptionArgs,
        SecretStoreArgs,
        KeyAccessArgs,
        BackupArgs,
        RestoreArgs,
        MaintenanceArgs,
        MonitoringArgs {}

/** Every default, by argument; `resolveArgs` is the one place they are applied. */
export const DEFAULTS = {
    ...MEMBER_DEFAULTS,
    ...PKI_DEFAULTS,
    ...POD_DEFAULTS,
    ...NETWORK_DEFAULTS,
    ...ENCRYPTION_DEFAULTS,
    ...SECRETS_DEFAULTS,
    ...BACKUP_DEFAULTS,
    ...RESTORE_DEFAULTS,
    ...MAINTENANCE_DEFAULTS,
    ...MONITORING_DEFAULTS,
} as const;
