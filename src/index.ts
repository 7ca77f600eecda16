export { SecureEtcdCluster } from "./component/secureEtcdCluster";
export { DEFAULTS, SecureEtcdClusterArgs } from "./component/args";
export { MemberArgs } from "./nodes/args";
export { CaRotationStage, ClientArgs, KeyAlgorithm, RevokedCertificateArgs } from "./pki/args";
export { BackupObjectLockMode } from "./backup/args";
export { EtcdPermission, EtcdRoleArgs, EtcdRolePermissionArgs } from "./rbac/roles";
export { CertificateInfo, ClientCredentials, MemberCertificates, MemberCredentials } from "./pki/outputs";
export { BUILT_IN_CLIENTS, BuiltInClient } from "./pki/profiles";
export { Problem } from "./core/problems";
export { validateArgs } from "./component/validate";
export { NodeFile } from "./manifests/nodeFiles";
export { DEFAULT_ETCD_VERSION } from "./manifests/etcdVersion";
export { CisResult, checkEtcdMember, MemberArtifactsForCis } from "./cis/etcdChecks";
export { EncryptionProvider } from "./encryption/encryptionConfig";
export { ApiServerFragment, HostPathSource, Volume, VolumeMount } from "./apiserver/apiServerFragment";
export { checkApiServer, ApiServerArtifactsForCis } from "./cis/apiServerChecks";
export { keyRingTransitionProblems, KeyRing, ROTATION_RUNBOOK } from "./encryption/rotation";
export { BackupAgentConfig, BackupTiers, backupPrefix } from "./backup/agentConfig";
export {
    AlertAnnotations,
    AlertRule,
    AlertSeverity,
    ManifestMetadata,
    PrometheusRuleManifest,
    RuleFile,
    RuleGroup,
} from "./monitoring/prometheusRules";
