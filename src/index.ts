export {
    BackupObjectLockMode,
    ClientArgs,
    DEFAULTS,
    EtcdPermission,
    EtcdRoleArgs,
    EtcdRolePermissionArgs,
    KeyAlgorithm,
    MemberArgs,
    SecureEtcdClusterArgs,
} from "./args";
export {
    CertificateInfo,
    ClientCredentials,
    MemberCertificates,
    MemberCredentials,
    SecureEtcdCluster,
} from "./cluster";
export { BUILT_IN_CLIENTS, BuiltInClient } from "./pki/profiles";
export { Problem, validateArgs } from "./validation";
export { NodeFile } from "./manifests/nodeFiles";
export { DEFAULT_ETCD_VERSION } from "./manifests/etcdVersion";
export { CisResult, checkEtcdMember, MemberArtifactsForCis } from "./cis/etcdChecks";
export { EncryptionProvider } from "./encryption/encryptionConfig";
export { ApiServerFragment, HostPathSource, Volume, VolumeMount } from "./apiserver/apiServerFragment";
export { checkApiServer, ApiServerArtifactsForCis } from "./cis/apiServerChecks";
export { keyRingTransitionProblems, KeyRing, ROTATION_RUNBOOK } from "./encryption/rotation";
export { BackupAgentConfig, backupPrefix } from "./backup/agentConfig";
export {
    AlertAnnotations,
    AlertRule,
    AlertSeverity,
    ManifestMetadata,
    PrometheusRuleManifest,
    RuleFile,
    RuleGroup,
} from "./monitoring/prometheusRules";
