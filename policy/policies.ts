// The pack's policies in order, each wrapped so that it honours (and checks) its suppressions.
// Importing this module starts nothing: tests drive the policies directly. index.ts serves them.
import { withSuppressions } from "./lib/suppressions";
import { EtcdPolicy } from "./lib/types";
import { backupBucketEncrypted } from "./rules/backupBucketEncrypted";
import { backupBucketNoForceDestroy } from "./rules/backupBucketNoForceDestroy";
import { backupBucketPublicAccessBlocked } from "./rules/backupBucketPublicAccessBlocked";
import { backupBucketTlsOnly } from "./rules/backupBucketTlsOnly";
import { backupBucketVersioned } from "./rules/backupBucketVersioned";
import { clusterHasBackupBucket } from "./rules/clusterHasBackupBucket";
import { clusterHasSecretStore } from "./rules/clusterHasSecretStore";
import { clusterHasSecurityGroup } from "./rules/clusterHasSecurityGroup";
import { encryptionNotPlaintextFirst } from "./rules/encryptionNotPlaintextFirst";
import { encryptionRecommendedProvider } from "./rules/encryptionRecommendedProvider";
import { etcdKeyPolicyUsers } from "./rules/etcdKeyPolicyUsers";
import { etcdKmsKeyRotation } from "./rules/etcdKmsKeyRotation";
import { etcdMemberImdsV2 } from "./rules/etcdMemberImdsV2";
import { etcdPeerPortMembersOnly } from "./rules/etcdPeerPortMembersOnly";
import { etcdPortsNotOpenToWorld } from "./rules/etcdPortsNotOpenToWorld";
import { etcdQuotaBackendBytes } from "./rules/etcdQuotaBackendBytes";
import { etcdSecretsCustomerManagedKey } from "./rules/etcdSecretsCustomerManagedKey";
import { tlsCaCertificatesIntended } from "./rules/tlsCaCertificatesIntended";
import { tlsLeafCertificateValidity } from "./rules/tlsLeafCertificateValidity";
import { tlsPrivateKeyStrength } from "./rules/tlsPrivateKeyStrength";

/** Every rule as written (without suppression handling). */
export const RULES: readonly EtcdPolicy[] = [
    // network access control
    etcdPortsNotOpenToWorld,
    etcdPeerPortMembersOnly,
    // backups
    backupBucketEncrypted,
    backupBucketVersioned,
    backupBucketPublicAccessBlocked,
    backupBucketTlsOnly,
    backupBucketNoForceDestroy,
    // nodes
    etcdMemberImdsV2,
    etcdQuotaBackendBytes,
    // keys and secrets
    etcdKmsKeyRotation,
    etcdKeyPolicyUsers,
    etcdSecretsCustomerManagedKey,
    // PKI
    tlsPrivateKeyStrength,
    tlsLeafCertificateValidity,
    tlsCaCertificatesIntended,
    // encryption at rest
    encryptionNotPlaintextFirst,
    encryptionRecommendedProvider,
    // nothing switched off
    clusterHasSecurityGroup,
    clusterHasBackupBucket,
    clusterHasSecretStore,
];

/** The policies the pack serves. */
export const POLICIES: EtcdPolicy[] = RULES.map((rule) => withSuppressions(rule));

export const PACK_NAME = "secure-etcd";
