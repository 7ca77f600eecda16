import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    ApiServerFragment,
    renderApiServerFragment,
    renderApiServerNodeFiles,
    renderKubeadmClusterConfiguration,
} from "./apiserver/apiServerFragment";
import { DEFAULTS, KeyAlgorithm, SecureEtcdClusterArgs } from "./args";
import { BackupBucket } from "./backup/backupBucket";
import { backupNodeFiles, mergeNodeFiles } from "./backup/backupNodeFiles";
import { backupKeyPolicy, combinePolicies } from "./backup/backupPolicies";
import { EncryptionAtRest } from "./encryption/encryptionAtRest";
import { EncryptionProvider } from "./encryption/encryptionConfig";
import { renderKmsPluginPod } from "./encryption/kmsPlugin";
import { rewriteCommand } from "./encryption/rotation";
import { encryptionProviderOrderFor } from "./rules/encryptionProviders";
import { defaultBundlePaths, renderUserData, secretBundle } from "./nodes/cloudInit";
import { accountKeyPolicy, kmsPluginPolicy, PolicyDocument, secretsReadPolicy } from "./secrets/policies";
import { SecretStore, StoredSecret } from "./secrets/secretStore";
import { EtcdSecurityGroup } from "./network/etcdSecurityGroup";
import { parseCidr, ParsedCidr } from "./network/networkRules";
import { configDirFile, hostFirewallNodeFiles } from "./network/hostFirewallFiles";
import * as random from "@pulumi/random";
import { renderBootstrapScript } from "./rbac/bootstrapScript";
import { rbacNodeFiles } from "./rbac/rbacNodeFiles";
import { resolveRbac } from "./rbac/roles";
import { etcdVersionWarning, parseEtcdVersion } from "./manifests/etcdVersion";
import { NodeFile } from "./manifests/nodeFiles";
import { toYaml } from "./manifests/staticPod";
import { memberArtifacts } from "./nodes/memberArtifacts";
import { alarmTopicKeyPolicy } from "./monitoring/backupAlarms";
import { BackupMonitoring } from "./monitoring/backupMonitoring";
import {
    PrometheusRuleManifest,
    prometheusRulesYaml,
    renderPrometheusRule,
    renderPrometheusRules,
} from "./monitoring/prometheusRules";
import { EtcdPki, IssuedCertificate, MemberPki } from "./pki/etcdPki";
import { BUILT_IN_CLIENTS } from "./pki/profiles";
import {
    alarmTopicArnProblems,
    alertThresholdProblems,
    argumentsError,
    argWarnings,
    backupAgentPathProblems,
    backupAlarmsEnabled,
    backupBucketNameProblems,
    backupClusterNameProblems,
    backupDaysProblems,
    backupIntervalProblems,
    backupMaxAgeProblems,
    certificateExpiryProblems,
    encryptedResourcesProblems,
    etcdVersionProblems,
    expiryThresholds,
    jobLabelProblems,
    kmsKeyArnProblems,
    keyAlgorithmProblems,
    memberDnsNameProblems,
    memberIpProblems,
    podProblems,
    Problem,
    prometheusRuleLabelsProblems,
    prometheusRuleNamespaceProblems,
    rbacArgsOf,
    validateArgs,
    validityProblems,
} from "./validation";

/** A member's certificates (public). */
export interface MemberCertificates {
    /** Server certificate for the client port (2379), signed by the etcd CA. */
    serverCertPem: string;
    /** Peer certificate for the peer port (2380), signed by the peer CA. */
    peerCertPem: string;
}

/** A member's certificates and their private keys. */
export interface MemberCredentials extends MemberCertificates {
    /** The server certificate's private key (PEM). */
    serverKeyPem: string;
    /** The peer certificate's private key (PEM). */
    peerKeyPem: string;
}

/** Everything a client needs to reach etcd over mTLS. */
export interface ClientCredentials {
    /** The client certificate (PEM). */
    certPem: string;
    /** Its private key (PEM). */
    keyPem: string;
    /** The etcd CA, to verify the members' server certificates. */
    caCertPem: string;
}

/** One issued certificate, for expiry monitoring. */
export interface CertificateInfo {
    /** `etcd-ca`, `etcd-peer-ca`, `member/<name>/server`, `member/<name>/peer` or `client/<name>`. */
    id: string;
    /** The certificate's subject CN. */
    commonName: string;
    /** CN of the issuing CA. */
    issuer: string;
    /** Expiry as an RFC 3339 timestamp. */
    notAfter: string;
}

/**
 * etcd for a self-managed Kubernetes control plane on AWS, secure by default: a dedicated etcd
 * CA and a separate peer CA, per-member server and peer certificates with exact SANs, and
 * per-consumer client certificates.
 */
export class SecureEtcdCluster extends pulumi.ComponentResource {
    /** The etcd CA certificate: trust anchor for the client port (2379). */
    public readonly caCertPem: pulumi.Output<string>;
    /** The peer CA certificate: trust anchor for the peer port (2380) only. */
    public readonly peerCaCertPem: pulumi.Output<string>;
    /** Each member's server and peer certificates, by member name. */
    public readonly memberCertificates: pulumi.Output<Record<string, MemberCertificates>>;
    /** Each member's certificates with their private keys, by member name. Secret. */
    public readonly memberCredentials: pulumi.Output<Record<string, MemberCredentials>>;
    /**
     * Client credentials by client name: the built-in `kube-apiserver-etcd-client`,
     * `kube-etcd-healthcheck-client` and `etcd-backup`, and any extra clients. Secret.
     */
    public readonly clientCredentials: pulumi.Output<Record<string, ClientCredentials>>;
    /** Every certificate the cluster issued, with its expiry. */
    public readonly certificates: pulumi.Output<CertificateInfo[]>;
    /** The etcd static-pod manifest (YAML) of each member, by member name. Holds no secrets. */
    public readonly etcdManifests: pulumi.Output<Record<string, string>>;
    /**
     * Every file a member node needs, by member name: the manifest, certificates, keys and
     * directories, each with path, mode and owner. Secret: it holds the member's keys.
     */
    public readonly nodeFiles: pulumi.Output<Record<string, NodeFile[]>>;
    /** The etcd release the manifests are rendered for. */
    public readonly etcdVersion: pulumi.Output<string>;
    /**
     * Per member, cloud-init user-data that creates the etcd user and fetches the member's keys
     * and certificates from Secrets Manager at boot with the instance role. Holds no secret.
     */
    public readonly memberUserData: pulumi.Output<Record<string, string>>;
    /**
     * The etcd members' security group (created, or the one given): attach it to every member
     * beside the node's own groups, which carry its general egress.
     */
    public readonly securityGroupId: pulumi.Output<string>;
    /**
     * The idempotent etcd RBAC bootstrap (Python 3 and etcdctl): creates the users and roles and
     * enables auth. The first member's node runs it at boot; it holds no secret.
     */
    public readonly rbacBootstrapScript: pulumi.Output<string>;
    /** The kube-apiserver EncryptionConfiguration (YAML). Secret: it holds the keys. */
    public readonly encryptionConfigYaml: pulumi.Output<string>;
    /**
     * The EncryptionConfiguration's provider types in order, e.g. `["secretbox", "identity"]`: the
     * first encrypts every write. Not secret, so reviewers' policies can judge it at preview.
     */
    public readonly encryptionProviderOrder: pulumi.Output<string[]>;
    /** Rewrites every encrypted object with the key that encrypts now: step 3 of a rotation. */
    public readonly encryptionRewriteCommand: pulumi.Output<string>;
    /** kube-apiserver flags, volumes and read-only mounts for this etcd and encryption at rest. */
    public readonly apiServer: pulumi.Output<ApiServerFragment>;
    /** A kubeadm `ClusterConfiguration` (v1beta4, YAML) with this etcd as external etcd. */
    public readonly kubeadmClusterConfiguration: pulumi.Output<string>;
    /** The files a kube-apiserver node needs for etcd, with modes and owners. Secret. */
    public readonly apiServerNodeFiles: pulumi.Output<NodeFile[]>;
    /** `kms` only: the KMS key that encrypts Kubernetes objects. */
    public readonly encryptionKmsKeyArn: pulumi.Output<string | undefined>;
    /** `kms` only: the aws-encryption-provider static pod for every kube-apiserver node (YAML). */
    public readonly kmsPluginManifest: pulumi.Output<string | undefined>;
    /** `kms` only: the IAM policy (JSON) the control-plane role needs for the plugin. */
    public readonly kmsPluginPolicy: pulumi.Output<string | undefined>;
    /** The KMS key under which every Secrets Manager secret of this cluster is encrypted. */
    public readonly secretsKmsKeyArn: pulumi.Output<string>;
    /** Secret ARNs by path: `members/<name>`, `kube-apiserver/etcd-client`, `kube-apiserver/encryption-config`, `encryption-keys/<key>`. */
    public readonly secretArns: pulumi.Output<Record<string, string>>;
    /** Per member, the IAM policy (JSON) its instance role needs: read its own secret, nothing else. */
    public readonly memberSecretsPolicies: pulumi.Output<Record<string, string>>;
    /** The IAM policy (JSON) a kube-apiserver node's role needs to read its etcd client bundle and the encryption configuration. */
    public readonly apiServerSecretsPolicy: pulumi.Output<string>;
    /**
     * Per member, everything its instance role needs in one IAM policy (JSON): its
     * `memberSecretsPolicies` entry, plus `backupWriterPolicy` when backups are on.
     */
    public readonly memberInstancePolicies: pulumi.Output<Record<string, string>>;
    /** Backups only: the bucket that holds them (created, or `backupBucketName`). */
    public readonly backupBucketName: pulumi.Output<string | undefined>;
    /** Backups only: the bucket's ARN. */
    public readonly backupBucketArn: pulumi.Output<string | undefined>;
    /** Backups only: the KMS key that wraps every backup's data key and encrypts the objects at rest. */
    public readonly backupKmsKeyArn: pulumi.Output<string | undefined>;
    /** Backups only: the object-key prefix of this cluster's backups, `etcd-backups/<name>/`. */
    public readonly backupPrefix: pulumi.Output<string | undefined>;
    /**
     * Backups only: the bucket policy (JSON): TLS 1.2+ only, every object SSE-KMS under the backup
     * key. Applied to a created bucket; apply it to a bucket you bring.
     */
    public readonly backupBucketPolicy: pulumi.Output<string | undefined>;
    /**
     * Backups only: the IAM policy (JSON) the members' roles need to upload backups, and nothing
     * else: no read, list or delete. Included in `memberInstancePolicies`.
     */
    public readonly backupWriterPolicy: pulumi.Output<string | undefined>;
    /** Backups only: the IAM policy (JSON) a restore needs: list and read the backups, decrypt them. No writes. */
    public readonly backupRestorePolicy: pulumi.Output<string | undefined>;
    /**
     * Prometheus alerting rules (a rule file, YAML): etcd's health, refused etcd requests, unusual
     * secret reads at kube-apiserver, and one expiry alert per certificate (warning at
     * `certificateExpiryWarningDays`, critical at `certificateExpiryCriticalDays`). Re-rendered when a
     * certificate is re-issued: deploy it from the same `pulumi up`. Holds no secret.
     */
    public readonly prometheusRulesYaml: pulumi.Output<string>;
    /**
     * The same rules as a Prometheus Operator `PrometheusRule` (monitoring.coreos.com/v1) object,
     * in `prometheusRuleNamespace` with `prometheusRuleLabels`: give it to a Kubernetes provider.
     */
    public readonly prometheusRuleManifest: pulumi.Output<PrometheusRuleManifest>;
    /** Backup alarms only: the SNS topic they notify (created, or `alarmTopicArn`); subscribe to it. */
    public readonly alarmTopicArn: pulumi.Output<string | undefined>;
    /** Backup alarms only: the alarm that fires when no backup was written within `backupMaxAgeMinutes`. */
    public readonly backupFreshnessAlarmArn: pulumi.Output<string | undefined>;
    /** Backup alarms only: the alarm that fires when S3 refuses a request on the backup prefix. */
    public readonly backupUploadErrorsAlarmArn: pulumi.Output<string | undefined>;
    /**
     * Backup alarms only: the id of the S3 request-metrics configuration (filtered to `backupPrefix`)
     * the alarms read. Created on a bucket this component creates; on `backupBucketName`, create it
     * yourself with this id and prefix.
     */
    public readonly backupMetricsFilterId: pulumi.Output<string | undefined>;

    constructor(name: string, args: SecureEtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything that can be checked is checked before anything is registered.
        const problems = [...validateArgs(args), ...backupClusterNameProblems(name, args)];
        if (problems.length > 0) {
            throw argumentsError(name, problems);
        }
        // Nothing from args goes to super(): the SDK stores those in state.
        super("secure-etcd:index:SecureEtcdCluster", name, {}, opts);
        for (const warning of argWarnings(args)) {
            void pulumi.log.warn(warning, this);
        }

        // Values that arrive as outputs are checked when they resolve.
        const checked = <T>(value: T, check: (v: T) => Problem[]): T => {
            const found = check(value);
            if (found.length > 0) {
                throw argumentsError(name, found);
            }
            return value;
        };
        const keyAlgorithm = pulumi
            .output(args.keyAlgorithm ?? DEFAULTS.keyAlgorithm)
            .apply((k) => checked<KeyAlgorithm>(k, keyAlgorithmProblems));
        const validity = pulumi
            .all([
                args.caValidityHours ?? DEFAULTS.caValidityHours,
                args.certificateValidityHours ?? DEFAULTS.certificateValidityHours,
                args.certificateRenewalHours ?? DEFAULTS.certificateRenewalHours,
            ])
            .apply(([caValidityHours, certificateValidityHours, certificateRenewalHours]) =>
                checked({ caValidityHours, certificateValidityHours, certificateRenewalHours }, validityProblems),
            );

        const podSettings = pulumi
            .all([
                args.etcdVersion ?? DEFAULTS.etcdVersion,
                args.etcdImageRepository ?? DEFAULTS.etcdImageRepository,
                args.etcdImageDigest,
                args.etcdUid ?? DEFAULTS.etcdUid,
                args.etcdGid ?? DEFAULTS.etcdGid,
            ])
            .apply(([versionText, imageRepository, imageDigest, uid, gid]) => {
                checked(versionText, etcdVersionProblems);
                checked({ etcdUid: uid, etcdGid: gid, etcdImageDigest: imageDigest }, podProblems);
                const version = parseEtcdVersion(versionText)!;
                const warning = etcdVersionWarning(version);
                if (warning) {
                    void pulumi.log.warn(warning, this);
                }
                return { version, imageRepository, imageDigest, uid, gid };
            });

        const memberIps = args.members.map((m, i) => ({
            name: m.name,
            ip: pulumi.output(m.ip).apply((ip) => checked(ip, (v) => memberIpProblems(i, v))),
        }));
        const pki = new EtcdPki(
            `${name}-pki`,
            {
                members: args.members.map((m, i) => ({
                    name: m.name,
                    ip: memberIps[i].ip,
                    dnsNames: pulumi
                        .output(m.dnsNames ?? [])
                        .apply((dns) => checked(dns, (v) => memberDnsNameProblems(i, v))),
                })),
                clients: [
                    ...BUILT_IN_CLIENTS.map((c) => ({ name: c.name, commonName: c.commonName })),
                    ...(args.clients ?? []).map((c) => ({ name: c.name, commonName: c.commonName ?? c.name })),
                ],
                keyAlgorithm,
                caValidityHours: validity.caValidityHours,
                certificateValidityHours: validity.certificateValidityHours,
                certificateRenewalHours: validity.certificateRenewalHours,
            },
            { parent: this },
        );

        this.caCertPem = pki.etcdCa.certPem;
        this.peerCaCertPem = pki.peerCa.certPem;
        this.memberCertificates = recordOf<MemberPki, MemberCertificates>(pki.members, (m) =>
            pulumi.output({ serverCertPem: m.server.certPem, peerCertPem: m.peer.certPem }),
        );
        this.memberCredentials = pulumi.secret(
            recordOf<MemberPki, MemberCredentials>(pki.members, (m) =>
                pulumi.output({
                    serverCertPem: m.server.certPem,
                    serverKeyPem: m.server.keyPem,
                    peerCertPem: m.peer.certPem,
                    peerKeyPem: m.peer.keyPem,
                }),
            ),
        );
        this.clientCredentials = pulumi.secret(
            recordOf<IssuedCertificate, ClientCredentials>(pki.clients, (c) =>
                pulumi.output({ certPem: c.certPem, keyPem: c.keyPem, caCertPem: pki.etcdCa.certPem }),
            ),
        );
        this.certificates = pulumi.all(pki.allCertificates().map(certificateInfo));

        // ---------------------------------------------------------------- network access control
        const metricsSecurityGroupIds = args.metricsSecurityGroupIds ?? [];
        const network = new EtcdSecurityGroup(
            `${name}-network`,
            name,
            {
                vpcId: args.vpcId,
                securityGroupId: args.securityGroupId,
                clientSecurityGroupIds: args.clientSecurityGroupIds ?? [],
                // Validated above: every CIDR parses.
                clientCidrs: (args.clientCidrs ?? []).map((c) => parseCidr(c) as ParsedCidr),
                metricsSecurityGroupIds,
            },
            { parent: this },
        );
        this.securityGroupId = network.securityGroupId;

        // ---------------------------------------------------------------- the AWS account
        const invokeOpts = { parent: this };
        const region = aws.getRegionOutput({}, invokeOpts).region;
        const partition = aws.getPartitionOutput({}, invokeOpts).partition;
        const account = pulumi.all([partition, aws.getCallerIdentityOutput({}, invokeOpts).accountId]);
        const keyPolicy = account.apply(([p, accountId]) =>
            JSON.stringify(accountKeyPolicy({ partition: p, accountId })),
        );
        const kmsKeyDeletionWindowDays = args.kmsKeyDeletionWindowDays ?? DEFAULTS.kmsKeyDeletionWindowDays;

        // ---------------------------------------------------------------- backups
        // The bucket and key come first: every member's node files name them.
        const backupDays = (path: string, value: pulumi.Input<number>) =>
            pulumi.output(value).apply((v) => checked(v, (d) => backupDaysProblems(path, d)));
        const retentionDays = backupDays(
            "backupRetentionDays",
            args.backupRetentionDays ?? DEFAULTS.backupRetentionDays,
        );
        const backup =
            (args.backups ?? DEFAULTS.backups)
                ? new BackupBucket(
                      `${name}-backup`,
                      name,
                      {
                          bucketName:
                              args.backupBucketName === undefined
                                  ? undefined
                                  : pulumi
                                        .output(args.backupBucketName)
                                        .apply((b) => checked(b, backupBucketNameProblems)),
                          kmsKeyArn:
                              args.backupKmsKeyArn === undefined
                                  ? undefined
                                  : pulumi
                                        .output(args.backupKmsKeyArn)
                                        .apply((arn) => checked(arn, (v) => kmsKeyArnProblems("backupKmsKeyArn", v))),
                          keyPolicy: account.apply(([p, accountId]) =>
                              JSON.stringify(backupKeyPolicy({ partition: p, accountId })),
                          ),
                          keyDeletionWindowDays: kmsKeyDeletionWindowDays,
                          retentionDays,
                          noncurrentVersionRetentionDays: backupDays(
                              "backupNoncurrentVersionRetentionDays",
                              args.backupNoncurrentVersionRetentionDays ??
                                  DEFAULTS.backupNoncurrentVersionRetentionDays,
                          ),
                          objectLock:
                              args.backupObjectLockMode === undefined
                                  ? undefined
                                  : {
                                        mode: args.backupObjectLockMode,
                                        days: backupDays(
                                            "backupObjectLockDays",
                                            args.backupObjectLockDays ?? retentionDays,
                                        ),
                                    },
                          partition,
                          region,
                          writerRoleNames: args.backupWriterRoleNames ?? [],
                          readerRoleNames: args.backupReaderRoleNames ?? [],
                      },
                      { parent: this },
                  )
                : undefined;

        // ---------------------------------------------------------------- etcd RBAC
        // Users are certificate CNs; the first member runs the bootstrap once, with the backup
        // client's identity, and enables auth. Root's password is never needed after that.
        this.rbacBootstrapScript = pulumi.output(renderBootstrapScript(resolveRbac(rbacArgsOf(args))));
        const rootPassword = new random.RandomPassword(
            `${name}-etcd-root-password`,
            { length: 32, special: false },
            { parent: this },
        ).result;
        const backupClient = pki.clients["etcd-backup"];
        const bootstrapMember = args.members[0].name;
        const rbacFiles = pulumi
            .all([this.rbacBootstrapScript, backupClient.certPem, backupClient.keyPem, rootPassword])
            .apply(([script, backupCertPem, backupKeyPem, password]) =>
                rbacNodeFiles({ script, backupCertPem, backupKeyPem, rootPassword: password }),
            );

        // Every member runs the backup timer; the agent uploads only on the leader.
        const backupSettings = backup
            ? pulumi
                  .all([
                      backup.bucketName,
                      backup.kmsKeyArn,
                      region,
                      pulumi
                          .output(args.backupIntervalMinutes ?? DEFAULTS.backupIntervalMinutes)
                          .apply((v) => checked(v, backupIntervalProblems)),
                      pulumi
                          .output(args.backupAgentPath ?? DEFAULTS.backupAgentPath)
                          .apply((v) => checked(v, backupAgentPathProblems)),
                      backupClient.certPem,
                      backupClient.keyPem,
                  ])
                  .apply(([bucket, kmsKeyArn, r, intervalMinutes, agentPath, backupCertPem, backupKeyPem]) => ({
                      cluster: name,
                      bucket,
                      kmsKeyArn,
                      region: r,
                      intervalMinutes,
                      agentPath,
                      backupCertPem,
                      backupKeyPem,
                  }))
            : pulumi.output(undefined);

        const artifacts = memberArtifacts(name, memberIps, pki, podSettings, {
            exposeMetrics: metricsSecurityGroupIds.length > 0,
            files: (member, addresses) =>
                pulumi
                    .all([
                        addresses,
                        args.hostFirewall ?? DEFAULTS.hostFirewall,
                        member === bootstrapMember ? rbacFiles : pulumi.output([]),
                        backupSettings,
                    ])
                    .apply(([all, firewall, rbac, backupAgent]) => {
                        const memberIp = all.find((a) => a.name === member)!.ip;
                        // The first member has the backup client's credentials for the RBAC
                        // bootstrap already: each path once.
                        return mergeNodeFiles([
                            configDirFile(),
                            ...(firewall
                                ? hostFirewallNodeFiles({
                                      memberIp,
                                      memberIps: all.map((a) => a.ip),
                                      clientCidrs: args.hostFirewallClientCidrs ?? args.clientCidrs ?? [],
                                      metricsCidrs: args.hostFirewallMetricsCidrs ?? [],
                                  })
                                : []),
                            ...rbac,
                            ...(backupAgent ? backupNodeFiles({ ...backupAgent, memberIp }) : []),
                        ]);
                    }),
        });
        this.etcdManifests = recordOf(artifacts, (a) => a.manifestYaml);
        this.nodeFiles = pulumi.secret(recordOf(artifacts, (a) => a.nodeFiles));
        this.etcdVersion = podSettings.version.text;

        // ---------------------------------------------------------------- encryption at rest
        const provider = args.encryptionProvider ?? DEFAULTS.encryptionProvider;
        const kms = provider === EncryptionProvider.Kms;
        const encryptedResources = pulumi
            .output(args.encryptedResources ?? [...DEFAULTS.encryptedResources])
            .apply((r) => checked(r, encryptedResourcesProblems));
        const encryption = new EncryptionAtRest(
            `${name}-encryption`,
            {
                clusterName: name,
                invokeOpts,
                provider,
                keyNames: kms ? [] : [...(args.encryptionKeyNames ?? DEFAULTS.encryptionKeyNames)],
                resources: encryptedResources,
                identityFallback: args.encryptionIdentityFallback ?? DEFAULTS.encryptionIdentityFallback,
                kmsKeyArn:
                    args.encryptionKmsKeyArn === undefined
                        ? undefined
                        : pulumi
                              .output(args.encryptionKmsKeyArn)
                              .apply((arn) => checked(arn, (v) => kmsKeyArnProblems("encryptionKmsKeyArn", v))),
                kmsKeyPolicy: keyPolicy,
                kmsDeletionWindowDays: kmsKeyDeletionWindowDays,
                kmsProviderName: DEFAULTS.kmsProviderName,
            },
            { parent: this },
        );
        this.encryptionConfigYaml = encryption.configYaml;
        this.encryptionProviderOrder = pulumi
            .output(args.encryptionIdentityFallback ?? DEFAULTS.encryptionIdentityFallback)
            .apply((fallback) => encryptionProviderOrderFor(provider, fallback));
        this.encryptionRewriteCommand = encryptedResources.apply(rewriteCommand);
        this.encryptionKmsKeyArn = pulumi.output(encryption.kmsKeyArn);
        this.kmsPluginManifest = kms
            ? pulumi
                  .all([
                      args.kmsPluginImage!,
                      encryption.kmsKeyArn!,
                      region,
                      args.kmsPluginHealthPort ?? DEFAULTS.kmsPluginHealthPort,
                  ])
                  .apply(([image, keyArn, r, healthPort]) =>
                      toYaml(renderKmsPluginPod({ image, keyArn, region: r, healthPort })),
                  )
            : pulumi.output(undefined);
        this.kmsPluginPolicy = kms
            ? encryption.kmsKeyArn!.apply((arn) => JSON.stringify(kmsPluginPolicy(arn)))
            : pulumi.output(undefined);

        const allIps = pulumi.all(memberIps.map((m) => m.ip));
        const fragmentInput = pulumi
            .all([allIps, args.encryptionConfigAutomaticReload ?? DEFAULTS.encryptionConfigAutomaticReload])
            .apply(([memberIpList, automaticReload]) => ({ memberIps: memberIpList, automaticReload, kms }));
        this.apiServer = fragmentInput.apply(renderApiServerFragment);
        this.kubeadmClusterConfiguration = fragmentInput.apply(renderKubeadmClusterConfiguration);
        const apiserverClient = pki.clients["kube-apiserver-etcd-client"];
        this.apiServerNodeFiles = pulumi.secret(
            pulumi
                .all([pki.etcdCa.certPem, apiserverClient.certPem, apiserverClient.keyPem, encryption.configYaml])
                .apply(([caCertPem, clientCertPem, clientKeyPem, encryptionConfigYaml]) =>
                    renderApiServerNodeFiles({ caCertPem, clientCertPem, clientKeyPem, encryptionConfigYaml }),
                ),
        );

        // ---------------------------------------------------------------- Secrets Manager
        const bundleOf = (files: pulumi.Output<NodeFile[]>, select: (f: NodeFile) => boolean) =>
            files.apply((list) =>
                JSON.stringify(
                    secretBundle(
                        list,
                        list.filter((f) => !f.directory && select(f)).map((f) => f.path),
                    ),
                ),
            );
        const isEncryptionConfig = (f: NodeFile) => f.path.endsWith("/encryption-config.yaml");
        const stored: StoredSecret[] = [
            ...args.members.map((m) => ({
                id: `member-${m.name}`,
                path: `members/${m.name}`,
                description: `etcd member ${m.name} of ${name}: keys and certificates (secure-etcd)`,
                value: artifacts[m.name].nodeFiles.apply((files) =>
                    JSON.stringify(secretBundle(files, defaultBundlePaths(files))),
                ),
            })),
            {
                id: "kube-apiserver-etcd-client",
                path: "kube-apiserver/etcd-client",
                description: `kube-apiserver's etcd client certificate, key and etcd CA for ${name} (secure-etcd)`,
                value: bundleOf(this.apiServerNodeFiles, (f) => !isEncryptionConfig(f)),
            },
            {
                id: "encryption-config",
                path: "kube-apiserver/encryption-config",
                description: `kube-apiserver EncryptionConfiguration for ${name} (secure-etcd)`,
                value: bundleOf(this.apiServerNodeFiles, isEncryptionConfig),
                dependsOn: encryption.afterKeyRingCheck,
            },
            {
                id: "etcd-root-password",
                path: "etcd/root-password",
                description: `Password of etcd's root user of ${name}; never needed in normal operation (secure-etcd)`,
                value: rootPassword,
            },
            // Key material outlives its place in the list: a key removed by mistake stays in
            // Secrets Manager (retained, not scheduled for deletion), so no object is stranded.
            ...Object.entries(encryption.keyMaterial).map(([keyName, material]) => ({
                id: `encryption-key-${keyName}`,
                path: `encryption-keys/${keyName}`,
                description: `Encryption-at-rest key ${keyName} of ${name}, base64 (secure-etcd; retained when removed)`,
                value: material,
                retain: true,
                dependsOn: encryption.afterKeyRingCheck,
            })),
        ];
        const secrets = new SecretStore(
            `${name}-secrets`,
            name,
            {
                namePrefix: args.secretNamePrefix ?? DEFAULTS.secretNamePrefix,
                recoveryWindowDays: args.secretRecoveryWindowDays ?? DEFAULTS.secretRecoveryWindowDays,
                kmsKeyArn:
                    args.secretsKmsKeyArn === undefined
                        ? undefined
                        : pulumi
                              .output(args.secretsKmsKeyArn)
                              .apply((arn) => checked(arn, (v) => kmsKeyArnProblems("secretsKmsKeyArn", v))),
                keyPolicy,
                keyDeletionWindowDays: kmsKeyDeletionWindowDays,
                secrets: stored,
            },
            { parent: this },
        );
        // The ring is recorded once its keys and configuration are stored: never ahead of AWS.
        encryption.recordKeyRing([secrets]);
        this.secretsKmsKeyArn = secrets.kmsKeyArn;
        this.secretArns = pulumi.all(
            Object.fromEntries(stored.map((s): [string, pulumi.Output<string>] => [s.path, secrets.arns[s.id]])),
        );
        const readPolicy = (arns: pulumi.Output<string>[]) =>
            pulumi
                .all([pulumi.all(arns), secrets.kmsKeyArn, region])
                .apply(([secretArns, kmsKeyArn, r]) =>
                    JSON.stringify(secretsReadPolicy({ secretArns, kmsKeyArn, region: r })),
                );
        this.memberSecretsPolicies = recordOf(artifacts, (_, member) => readPolicy([secrets.arns[`member-${member}`]]));
        this.apiServerSecretsPolicy = readPolicy([
            secrets.arns["kube-apiserver-etcd-client"],
            secrets.arns["encryption-config"],
        ]);

        // ---------------------------------------------------------------- backup outputs
        this.backupBucketName = backup ? backup.bucketName : pulumi.output(undefined);
        this.backupBucketArn = backup ? backup.bucketArn : pulumi.output(undefined);
        this.backupKmsKeyArn = backup ? backup.kmsKeyArn : pulumi.output(undefined);
        this.backupPrefix = pulumi.output(backup?.prefix);
        this.backupBucketPolicy = backup ? backup.bucketPolicy : pulumi.output(undefined);
        this.backupWriterPolicy = backup ? backup.writerPolicy : pulumi.output(undefined);
        this.backupRestorePolicy = backup ? backup.restorePolicy : pulumi.output(undefined);
        this.memberInstancePolicies = pulumi
            .all([this.memberSecretsPolicies, this.backupWriterPolicy])
            .apply(([perMember, writer]) =>
                Object.fromEntries(
                    Object.entries(perMember).map(([member, secretsPolicy]) => [
                        member,
                        writer === undefined
                            ? secretsPolicy
                            : JSON.stringify(
                                  combinePolicies(
                                      JSON.parse(secretsPolicy) as PolicyDocument,
                                      JSON.parse(writer) as PolicyDocument,
                                  ),
                              ),
                    ]),
                ),
            );

        // ---------------------------------------------------------------- monitoring
        // The rules follow the certificates: a re-issued certificate re-renders its expiry rule.
        const ruleSettings = pulumi
            .all([
                args.monitoringEtcdJob ?? DEFAULTS.monitoringEtcdJob,
                args.monitoringApiServerJob ?? DEFAULTS.monitoringApiServerJob,
                args.certificateExpiryWarningDays,
                args.certificateExpiryCriticalDays,
                validity.certificateValidityHours,
                args.etcdDeniedRequestsThreshold ?? DEFAULTS.etcdDeniedRequestsThreshold,
                args.secretReadRateThreshold ?? DEFAULTS.secretReadRateThreshold,
            ])
            .apply(([etcdJob, apiServerJob, warningDays, criticalDays, validityHours, denied, secretRate]) => {
                checked(etcdJob, (v) => jobLabelProblems("monitoringEtcdJob", v));
                checked(apiServerJob, (v) => jobLabelProblems("monitoringApiServerJob", v));
                const expiry = checked(
                    {
                        certificateExpiryWarningDays: warningDays,
                        certificateExpiryCriticalDays: criticalDays,
                        certificateValidityHours: validityHours,
                    },
                    certificateExpiryProblems,
                );
                checked(
                    { etcdDeniedRequestsThreshold: denied, secretReadRateThreshold: secretRate },
                    alertThresholdProblems,
                );
                return { etcdJob, apiServerJob, ...expiryThresholds(expiry), denied, secretRate };
            });
        const rules = pulumi.all([this.certificates, ruleSettings]).apply(([certificates, r]) =>
            renderPrometheusRules({
                cluster: name,
                memberCount: args.members.length,
                etcdJob: r.etcdJob,
                apiServerJob: r.apiServerJob,
                certificates,
                certificateExpiryWarningDays: r.warningDays,
                certificateExpiryCriticalDays: r.criticalDays,
                etcdDeniedRequestsThreshold: r.denied,
                secretReadRateThreshold: r.secretRate,
            }),
        );
        this.prometheusRulesYaml = rules.apply(prometheusRulesYaml);
        this.prometheusRuleManifest = pulumi
            .all([
                rules,
                pulumi
                    .output(args.prometheusRuleNamespace ?? DEFAULTS.prometheusRuleNamespace)
                    .apply((v) => checked(v, prometheusRuleNamespaceProblems)),
                pulumi.output(args.prometheusRuleLabels ?? {}).apply((v) => checked(v, prometheusRuleLabelsProblems)),
            ])
            .apply(([ruleFile, namespace, labels]) =>
                renderPrometheusRule(ruleFile, { cluster: name, namespace, labels }),
            );

        // Backup freshness: CloudWatch alarms on the backup prefix's S3 request metrics.
        const backupMonitoring =
            backup && backupAlarmsEnabled(args)
                ? new BackupMonitoring(
                      `${name}-alarms`,
                      name,
                      {
                          bucketName: backup.bucketName,
                          prefix: backup.prefix,
                          createMetricsConfiguration: args.backupBucketName === undefined,
                          maxAgeMinutes: pulumi
                              .all([
                                  args.backupMaxAgeMinutes,
                                  pulumi
                                      .output(args.backupIntervalMinutes ?? DEFAULTS.backupIntervalMinutes)
                                      .apply((v) => checked(v, backupIntervalProblems)),
                              ])
                              .apply(([maxAge, interval]) =>
                                  checked(maxAge ?? 2 * interval, (v) =>
                                      backupMaxAgeProblems({ backupMaxAgeMinutes: v, backupIntervalMinutes: interval }),
                                  ),
                              ),
                          topicArn:
                              args.alarmTopicArn === undefined
                                  ? undefined
                                  : pulumi.output(args.alarmTopicArn).apply((v) => checked(v, alarmTopicArnProblems)),
                          topicKeyPolicy: account.apply(([p, accountId]) =>
                              JSON.stringify(alarmTopicKeyPolicy({ partition: p, accountId })),
                          ),
                          keyDeletionWindowDays: kmsKeyDeletionWindowDays,
                      },
                      { parent: this },
                  )
                : undefined;
        this.alarmTopicArn = backupMonitoring ? backupMonitoring.topicArn : pulumi.output(undefined);
        this.backupFreshnessAlarmArn = backupMonitoring ? backupMonitoring.freshnessAlarmArn : pulumi.output(undefined);
        this.backupUploadErrorsAlarmArn = backupMonitoring
            ? backupMonitoring.uploadErrorsAlarmArn
            : pulumi.output(undefined);
        this.backupMetricsFilterId = pulumi.output(backupMonitoring?.metricsFilterId);

        // ---------------------------------------------------------------- cloud-init
        this.memberUserData = recordOf(artifacts, (a, member) =>
            pulumi
                .all([a.fileLayout, secrets.arns[`member-${member}`], region, podSettings])
                .apply(([layout, secretArn, r, s]) =>
                    renderUserData({
                        files: layout,
                        bundlePaths: defaultBundlePaths(layout),
                        secretArn,
                        region: r,
                        user: { name: "etcd", uid: s.uid, gid: s.gid },
                    }),
                ),
        );

        this.registerOutputs({
            caCertPem: this.caCertPem,
            peerCaCertPem: this.peerCaCertPem,
            memberCertificates: this.memberCertificates,
            memberCredentials: this.memberCredentials,
            clientCredentials: this.clientCredentials,
            certificates: this.certificates,
            etcdManifests: this.etcdManifests,
            nodeFiles: this.nodeFiles,
            etcdVersion: this.etcdVersion,
            memberUserData: this.memberUserData,
            securityGroupId: this.securityGroupId,
            rbacBootstrapScript: this.rbacBootstrapScript,
            encryptionConfigYaml: this.encryptionConfigYaml,
            encryptionProviderOrder: this.encryptionProviderOrder,
            encryptionRewriteCommand: this.encryptionRewriteCommand,
            apiServer: this.apiServer,
            kubeadmClusterConfiguration: this.kubeadmClusterConfiguration,
            apiServerNodeFiles: this.apiServerNodeFiles,
            encryptionKmsKeyArn: this.encryptionKmsKeyArn,
            kmsPluginManifest: this.kmsPluginManifest,
            kmsPluginPolicy: this.kmsPluginPolicy,
            secretsKmsKeyArn: this.secretsKmsKeyArn,
            secretArns: this.secretArns,
            memberSecretsPolicies: this.memberSecretsPolicies,
            apiServerSecretsPolicy: this.apiServerSecretsPolicy,
            memberInstancePolicies: this.memberInstancePolicies,
            backupBucketName: this.backupBucketName,
            backupBucketArn: this.backupBucketArn,
            backupKmsKeyArn: this.backupKmsKeyArn,
            backupPrefix: this.backupPrefix,
            backupBucketPolicy: this.backupBucketPolicy,
            backupWriterPolicy: this.backupWriterPolicy,
            backupRestorePolicy: this.backupRestorePolicy,
            prometheusRulesYaml: this.prometheusRulesYaml,
            prometheusRuleManifest: this.prometheusRuleManifest,
            alarmTopicArn: this.alarmTopicArn,
            backupFreshnessAlarmArn: this.backupFreshnessAlarmArn,
            backupUploadErrorsAlarmArn: this.backupUploadErrorsAlarmArn,
            backupMetricsFilterId: this.backupMetricsFilterId,
        });
    }
}

function certificateInfo(cert: IssuedCertificate): pulumi.Output<CertificateInfo> {
    return cert.notAfter.apply((notAfter) => ({
        id: cert.id,
        commonName: cert.commonName,
        issuer: cert.issuer,
        notAfter,
    }));
}

/** An output record from a record of per-entry outputs. */
function recordOf<T, U>(
    entries: Record<string, T>,
    toOutput: (entry: T, key: string) => pulumi.Output<U>,
): pulumi.Output<Record<string, U>> {
    const outputs: Record<string, pulumi.Output<U>> = {};
    for (const [key, entry] of Object.entries(entries)) {
        outputs[key] = toOutput(entry, key);
    }
    return pulumi.all(outputs) as pulumi.Output<Record<string, U>>;
}
