import * as pulumi from "@pulumi/pulumi";
import { EncryptionProvider } from "./encryption/encryptionConfig";
import { DEFAULT_ETCD_VERSION } from "./manifests/etcdVersion";
import { EtcdPermission, EtcdRoleArgs, EtcdRolePermissionArgs } from "./rbac/roles";

export { EtcdPermission, EtcdRoleArgs, EtcdRolePermissionArgs };

export { EncryptionProvider };

/** Key types for every certificate the cluster issues (kubeadm offers the same set). */
export enum KeyAlgorithm {
    /** ECDSA on NIST P-256: small, fast handshakes; the default. */
    EcdsaP256 = "ECDSA-P256",
    /** ECDSA on NIST P-384. */
    EcdsaP384 = "ECDSA-P384",
    /** RSA with a 2048-bit modulus (kubeadm's default). */
    Rsa2048 = "RSA-2048",
    /** RSA with a 3072-bit modulus. */
    Rsa3072 = "RSA-3072",
    /** RSA with a 4096-bit modulus. */
    Rsa4096 = "RSA-4096",
}

/** How S3 Object Lock protects each backup version for `backupObjectLockDays`. */
export enum BackupObjectLockMode {
    /**
     * Principals with `s3:BypassGovernanceRetention` can still shorten or lift a lock: protects from
     * mistakes and from a compromised writer, while an administrator can clean up.
     */
    Governance = "GOVERNANCE",
    /** Nobody, not even the account's root user, can delete a locked version or shorten its lock. */
    Compliance = "COMPLIANCE",
}

/** One etcd member: one host, one server certificate, one peer certificate. */
export interface MemberArgs {
    /**
     * The member's etcd name, also the CN and a DNS SAN of its certificates. A DNS-1123 label
     * (lowercase letters, digits, '-'). Plain: it names the member's child resources.
     */
    name: string;
    /** The member's private IP address; its certificates carry it as an IP SAN. */
    ip: pulumi.Input<string>;
    /**
     * Extra DNS names clients or peers use to reach this member; added as DNS SANs.
     * @default none
     */
    dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
}

/** An extra consumer of etcd that gets its own client certificate from the etcd CA. */
export interface ClientArgs {
    /** The key under which its credentials appear in `clientCredentials`. A DNS-1123 label. */
    name: string;
    /**
     * The certificate's CN, which etcd uses as the user name once auth is enabled. Plain, because
     * it is an identity that must not collide with the built-in clients or the members.
     * @default the client's `name`
     */
    commonName?: string;
    /**
     * etcd roles this client's user gets once auth is enabled: names from `etcdRoles`. Plain: the
     * bootstrap script and its checks are rendered from it.
     * @default none (the client can authenticate but read and write nothing)
     */
    roles?: string[];
}

export interface SecureEtcdClusterArgs {
    /**
     * The etcd members, 1 to 9 (an odd number: 3 or 5 for production). Plain: one set of
     * child resources is created per member.
     */
    members: MemberArgs[];
    /**
     * Key type of every key the cluster generates (both CAs, members and clients).
     * @default KeyAlgorithm.EcdsaP256
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Validity of the etcd CA and the peer CA, in hours. CAs are not renewed automatically:
     * replacing a CA is a planned rotation.
     * @default 87600 (10 years)
     */
    caValidityHours?: pulumi.Input<number>;
    /**
     * Validity of every member and client certificate, in hours.
     * @default 8760 (1 year)
     */
    certificateValidityHours?: pulumi.Input<number>;
    /**
     * How long before expiry a `pulumi up` re-issues a member or client certificate (same key,
     * new certificate). Must be shorter than `certificateValidityHours`.
     * @default 720 (30 days)
     */
    certificateRenewalHours?: pulumi.Input<number>;
    /**
     * Extra client certificates, signed by the etcd CA with clientAuth only and no SANs. The
     * built-in clients `kube-apiserver-etcd-client`, `kube-etcd-healthcheck-client` and
     * `etcd-backup` always exist.
     * @default none
     */
    clients?: ClientArgs[];
    /**
     * The etcd release the static pods run; chooses flags and probes. 3.6, 3.5 and 3.4 lines.
     * @default "3.6.14"
     */
    etcdVersion?: pulumi.Input<string>;
    /**
     * Image repository of etcd; the tag is `<etcdVersion>-0`.
     * @default "registry.k8s.io/etcd"
     */
    etcdImageRepository?: pulumi.Input<string>;
    /**
     * Pins the etcd image to a digest (`sha256:<64 hex>`).
     * @default none (tag only)
     */
    etcdImageDigest?: pulumi.Input<string>;
    /**
     * The uid etcd runs as, and owner of its keys and data dir. Never 0: etcd does not run as root.
     * @default 2379
     */
    etcdUid?: pulumi.Input<number>;
    /**
     * The gid etcd runs as.
     * @default 2379
     */
    etcdGid?: pulumi.Input<number>;

    // ------------------------------------------------------------ etcd RBAC

    /**
     * Roles for extra clients, each a list of key or prefix permissions. The built-in roles exist
     * always: `kube-apiserver` (read-write under `apiServerPrefix`) and etcd's `root` (the backup
     * client's). Plain: validated before anything is created.
     * @default none
     */
    etcdRoles?: EtcdRoleArgs[];
    /**
     * kube-apiserver's `--etcd-prefix`: its certificate's user may read and write under it and
     * nowhere else.
     * @default "/registry"
     */
    apiServerPrefix?: string;

    // ------------------------------------------------------------ network access control

    /**
     * The VPC of the etcd members; their security group is created in it. Required unless
     * `securityGroupId` is given.
     */
    vpcId?: pulumi.Input<string>;
    /**
     * An existing security group for the etcd members: then no group is created and only the
     * rules are added to it (it must have no rule that admits more).
     * @default a new group in `vpcId`
     */
    securityGroupId?: pulumi.Input<string>;
    /**
     * Security groups of etcd's clients (kube-apiserver nodes, the backup agent's nodes): each may
     * reach the client port 2379. Plain list: one rule per group.
     * @default none (only the members themselves)
     */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /**
     * Client subnets admitted to 2379, in addition to `clientSecurityGroupIds`. `0.0.0.0/0`,
     * `::/0` and anything wider than `minClientCidrPrefixLength` are refused. Plain list of plain
     * strings: one rule per CIDR, checked before anything is created.
     * @default none
     */
    clientCidrs?: string[];
    /**
     * The widest IPv4 client source accepted, as a prefix length.
     * @default 16 (a whole VPC at most)
     */
    minClientCidrPrefixLength?: number;
    /**
     * The widest IPv6 client source accepted, as a prefix length.
     * @default 56 (a whole VPC's IPv6 block at most)
     */
    minClientCidrPrefixLengthIpv6?: number;
    /**
     * Monitoring security groups (e.g. Prometheus) that may scrape the metrics port 2381. When
     * given, etcd also serves metrics (plain HTTP: metrics and health, no keys) on the member's
     * address; otherwise metrics stay on loopback and no 2381 rule exists. Plain list: one rule
     * per group.
     * @default none
     */
    metricsSecurityGroupIds?: pulumi.Input<string>[];
    /**
     * Render an nftables host firewall per member (in `nodeFiles`, applied at boot by the
     * user-data): 2379 from loopback, the members and the client addresses; 2380 from the other
     * members only; 2381 from loopback (and `hostFirewallMetricsCidrs`). Defense in depth beside
     * the security group.
     * @default true
     */
    hostFirewall?: pulumi.Input<boolean>;
    /**
     * Client addresses the host firewall admits to 2379. A host firewall cannot see security
     * groups: list the subnets of the clients in `clientSecurityGroupIds` here. Plain strings,
     * checked like `clientCidrs`.
     * @default clientCidrs
     */
    hostFirewallClientCidrs?: string[];
    /**
     * Monitoring addresses the host firewall admits to 2381 when `metricsSecurityGroupIds` is set.
     * @default none
     */
    hostFirewallMetricsCidrs?: string[];

    // ------------------------------------------------------------ encryption at rest

    /**
     * How kube-apiserver encrypts Kubernetes objects in etcd. `secretbox` uses local keys;
     * `kms` uses KMS v2 through the AWS KMS plugin, with no key material on the nodes. `aesgcm`
     * and `aescbc` work but are discouraged (a warning says why). Plain: it decides which
     * resources exist. Changing it on a deployed cluster is refused (stored data would become
     * unreadable).
     * @default EncryptionProvider.Secretbox
     */
    encryptionProvider?: EncryptionProvider;
    /**
     * Names of the local encryption keys, in order: the first encrypts, all decrypt. Rotate by
     * plain edits to this list (the key rotation runbook in docs/runbooks.md); unsafe edits are
     * refused at preview. DNS-1123 labels (no ':'). Plain: one key resource per name. Not used with `kms`.
     * @default ["key-1"]
     */
    encryptionKeyNames?: string[];
    /**
     * Resources kube-apiserver encrypts, e.g. `secrets`, `deployments.apps`, or the wildcards
     * `*.` (core group), `*.apps`, `*.*` (everything), without overlaps.
     * @default ["secrets", "configmaps"]
     */
    encryptedResources?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Keep `identity: {}` last, so objects written before encryption was enabled stay readable.
     * Set to false once every object has been rewritten (`encryptionRewriteCommand`).
     * @default true
     */
    encryptionIdentityFallback?: pulumi.Input<boolean>;
    /**
     * Render `--encryption-provider-config-automatic-reload=true`, so key rotation needs no
     * kube-apiserver restarts.
     * @default true
     */
    encryptionConfigAutomaticReload?: pulumi.Input<boolean>;
    /**
     * `kms` only: the ARN of an existing symmetric KMS key (never an alias). A key with rotation
     * enabled is created when omitted.
     * @default a new key
     */
    encryptionKmsKeyArn?: pulumi.Input<string>;
    /**
     * `kms` only, and then required: the aws-encryption-provider image to run beside each
     * kube-apiserver, pinned by tag or digest from a registry you trust (no default: pick the
     * release you have vetted and mirrored).
     */
    kmsPluginImage?: pulumi.Input<string>;
    /**
     * `kms` only: the plugin's health port on 127.0.0.1 (kept off 8080).
     * @default 8083
     */
    kmsPluginHealthPort?: pulumi.Input<number>;

    // ------------------------------------------------------------ secrets store

    /**
     * The ARN of an existing KMS key for the Secrets Manager secrets. A customer-managed key with
     * rotation enabled and an explicit key policy is created when omitted.
     * @default a new key
     */
    secretsKmsKeyArn?: pulumi.Input<string>;
    /**
     * Prefix of every secret name; the cluster name and a random suffix follow, so two clusters
     * in one account never collide.
     * @default "secure-etcd/"
     */
    secretNamePrefix?: pulumi.Input<string>;
    /**
     * Days a deleted secret stays recoverable (7 to 30).
     * @default 30
     */
    secretRecoveryWindowDays?: pulumi.Input<number>;
    /**
     * Waiting period, in days, before a KMS key this component created is deleted (7 to 30).
     * @default 30
     */
    kmsKeyDeletionWindowDays?: pulumi.Input<number>;

    // ------------------------------------------------------------ backups

    /**
     * Encrypted backups to S3: a bucket under a KMS key of its own (versioned, SSE-KMS, public
     * access blocked, TLS-only, expiring old backups), and on every member the backup agent's
     * configuration, the backup client's credentials and a systemd timer. Every member runs the
     * timer; only the member that leads takes the snapshot. Plain: it decides which resources exist.
     * @default true
     */
    backups?: boolean;
    /**
     * An existing bucket for the backups, instead of a new one: then no bucket resources are
     * created, and only the policies are rendered. It must meet what a created bucket has: in the
     * provider's region, versioning on, default encryption SSE-KMS with `backupKmsKeyArn` and bucket
     * keys, all four public access blocks, ownership `BucketOwnerEnforced`, `backupBucketPolicy`
     * as (part of) its policy, and a lifecycle for the prefix `etcd-backups/<cluster>/`.
     * @default a new bucket named `etcd-backup-<cluster>-<random hex>`
     */
    backupBucketName?: pulumi.Input<string>;
    /**
     * The ARN of an existing symmetric KMS key for the backups (envelope encryption and SSE-KMS);
     * never an alias. A key with rotation enabled and an explicit key policy is created when omitted.
     * @default a new key
     */
    backupKmsKeyArn?: pulumi.Input<string>;
    /**
     * Days a backup stays current before the bucket's lifecycle expires it (1 to 36500).
     * Not with `backupBucketName`: the lifecycle of a bucket you bring is yours.
     * @default 30
     */
    backupRetentionDays?: pulumi.Input<number>;
    /**
     * Days an expired or overwritten backup version stays recoverable before it is deleted for
     * good (1 to 36500). Not with `backupBucketName`.
     * @default 7
     */
    backupNoncurrentVersionRetentionDays?: pulumi.Input<number>;
    /**
     * Locks every backup version against deletion with S3 Object Lock, for `backupObjectLockDays`.
     * Object Lock cannot be turned off again on the bucket once on. Not with `backupBucketName`.
     * Plain: it decides whether the lock configuration exists.
     * @default none (no Object Lock)
     */
    backupObjectLockMode?: BackupObjectLockMode;
    /**
     * Days each backup version stays locked (1 to 36500). Only with `backupObjectLockMode`.
     * @default backupRetentionDays
     */
    backupObjectLockDays?: pulumi.Input<number>;
    /**
     * Minutes between backups. Every member's timer fires at the same wall-clock moments (UTC), so
     * the interval must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) or a day in
     * whole hours (120, 180, 240, 360, 480, 720, 1440).
     * @default 30
     */
    backupIntervalMinutes?: pulumi.Input<number>;
    /**
     * Where the `secure-etcd` command (the backup agent) is installed on the members: the timer
     * runs `<backupAgentPath> backup --config /etc/secure-etcd/backup.json`. An absolute path.
     * @default "/usr/local/bin/secure-etcd"
     */
    backupAgentPath?: pulumi.Input<string>;
    /**
     * Names of existing IAM roles that get the writer policy (`backupWriterPolicy`) as an inline
     * policy, typically the members' instance roles. Plain: one policy resource per role.
     * @default none (attach `backupWriterPolicy` or `memberInstancePolicies` yourself)
     */
    backupWriterRoleNames?: string[];
    /**
     * Names of existing IAM roles that get the restore policy (`backupRestorePolicy`) as an inline
     * policy, e.g. a disaster-recovery role. Plain: one policy resource per role.
     * @default none
     */
    backupReaderRoleNames?: string[];

    // ------------------------------------------------------------ monitoring

    /**
     * The `job` label of the Prometheus scrape job that reads the members' metrics listeners
     * (`http://<member>:2381/metrics`, see `metricsSecurityGroupIds`): the etcd rules in
     * `prometheusRulesYaml` select it.
     * @default "etcd"
     */
    monitoringEtcdJob?: pulumi.Input<string>;
    /**
     * The `job` label of the scrape job that reads kube-apiserver's metrics: the secret-read rule
     * selects it.
     * @default "apiserver" (kube-prometheus's name for it)
     */
    monitoringApiServerJob?: pulumi.Input<string>;
    /**
     * Days before a certificate's expiry at which its `EtcdCertificateExpiring` alert fires with
     * severity `warning`. Every certificate the cluster issued has one; the rules change when a
     * certificate is re-issued. Shorter than the certificates' validity; fractions of a day allowed.
     * @default 30 (the default renewal window: a `pulumi up` then re-issues), or a quarter of
     * `certificateValidityHours` for certificates that live less than 120 days
     */
    certificateExpiryWarningDays?: pulumi.Input<number>;
    /**
     * Days before a certificate's expiry at which its alert fires again with severity `critical`.
     * Shorter than `certificateExpiryWarningDays`.
     * @default 7, or a quarter of `certificateExpiryWarningDays` when that is shorter
     */
    certificateExpiryCriticalDays?: pulumi.Input<number>;
    /**
     * etcd requests refused with PermissionDenied or Unauthenticated, per member and method within
     * 10 minutes, above which `EtcdRequestsDenied` fires. Only holders of a certificate from the
     * etcd CA get that far, and every built-in client has the permissions it uses.
     * @default 0 (any refusal)
     */
    etcdDeniedRequestsThreshold?: pulumi.Input<number>;
    /**
     * Secret reads (get, list, watch) per second at kube-apiserver, averaged over 10 minutes, above
     * which `KubeApiServerSecretReadsHigh` fires. Set it to 2 to 3 times your cluster's normal rate.
     * @default 20
     */
    secretReadRateThreshold?: pulumi.Input<number>;
    /**
     * The namespace of `prometheusRuleManifest`.
     * @default "monitoring"
     */
    prometheusRuleNamespace?: pulumi.Input<string>;
    /**
     * Labels of `prometheusRuleManifest`, beside `app.kubernetes.io/name` and `instance`: the
     * Prometheus Operator loads only rules its `ruleSelector` matches (e.g. `release: <helm release>`).
     * @default none
     */
    prometheusRuleLabels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Backups only: CloudWatch alarms on the S3 request metrics of the backup prefix, notifying
     * `alarmTopicArn`: one when no backup object was written within `backupMaxAgeMinutes`, one when
     * an upload is refused. With a created bucket its metrics configuration is created too; with
     * `backupBucketName`, create the configuration `backupMetricsFilterId` names yourself (until
     * then the freshness alarm is in ALARM). Plain: it decides whether the alarms exist.
     * @default true
     */
    backupFreshnessAlarm?: boolean;
    /**
     * Minutes without a new backup object after which the freshness alarm fires: more than
     * `backupIntervalMinutes` (a backup takes a while), at most 10080 (a week: CloudWatch's longest
     * alarm window). A whole number.
     * @default 2 × backupIntervalMinutes
     */
    backupMaxAgeMinutes?: pulumi.Input<number>;
    /**
     * An existing SNS topic the alarms notify (its ARN). When omitted, a topic encrypted with a KMS
     * key of its own (which CloudWatch may use to publish) is created; subscribe to
     * `alarmTopicArn`.
     * @default a new topic
     */
    alarmTopicArn?: pulumi.Input<string>;
}

export const DEFAULTS = {
    keyAlgorithm: KeyAlgorithm.EcdsaP256,
    caValidityHours: 87600,
    certificateValidityHours: 8760,
    certificateRenewalHours: 720,
    etcdVersion: DEFAULT_ETCD_VERSION,
    etcdImageRepository: "registry.k8s.io/etcd",
    etcdUid: 2379,
    etcdGid: 2379,
    encryptionProvider: EncryptionProvider.Secretbox,
    encryptionKeyNames: ["key-1"],
    encryptedResources: ["secrets", "configmaps"],
    encryptionIdentityFallback: true,
    encryptionConfigAutomaticReload: true,
    kmsPluginHealthPort: 8083,
    kmsProviderName: "aws-encryption-provider",
    secretNamePrefix: "secure-etcd/",
    secretRecoveryWindowDays: 30,
    kmsKeyDeletionWindowDays: 30,
    hostFirewall: true,
    backups: true,
    backupRetentionDays: 30,
    backupNoncurrentVersionRetentionDays: 7,
    backupIntervalMinutes: 30,
    backupAgentPath: "/usr/local/bin/secure-etcd",
    monitoringEtcdJob: "etcd",
    monitoringApiServerJob: "apiserver",
    certificateExpiryWarningDays: 30,
    certificateExpiryCriticalDays: 7,
    etcdDeniedRequestsThreshold: 0,
    secretReadRateThreshold: 20,
    prometheusRuleNamespace: "monitoring",
    backupFreshnessAlarm: true,
} as const;

export const MAX_MEMBERS = 9;
