// SecureEtcdCluster: validate the arguments, resolve their defaults, wire each concern, publish the
// outputs. Each concern's wiring lives in its folder and returns its slice of the outputs.
import * as pulumi from "@pulumi/pulumi";
import { ApiServerFragment } from "../apiserver/apiServerFragment";
import { wireApiServer } from "../apiserver/wire";
import { wireBackupBucket, wireNodeAgent } from "../backup/wire";
import { awsAccount } from "../core/account";
import { argumentsError } from "../core/problems";
import { bothGates, gatedOptions } from "../core/rules";
import { memberBackupPolicy } from "../restore/wire";
import { EncryptionProvider } from "../encryption/encryptionConfig";
import { wireEncryption } from "../encryption/wire";
import { NodeFile } from "../manifests/nodeFiles";
import { PrometheusRuleManifest } from "../monitoring/prometheusRules";
import { wireMonitoring } from "../monitoring/wire";
import { wireNetwork } from "../network/wire";
import { wireMembers, wireUserData } from "../nodes/wire";
import { membershipRendering, recordMembership, wireMembership } from "../nodes/membershipWire";
import { CertificateInfo, ClientCredentials, MemberCertificates, MemberCredentials } from "../pki/outputs";
import { wirePki } from "../pki/wire";
import { readDeploymentRecords, recordInvokeOptions } from "../core/deploymentRecord";
import { wireRbac } from "../rbac/wire";
import { wireSecrets } from "../secrets/wire";
import { SecureEtcdClusterArgs } from "./args";
import { argWarnings, validateComponentArgs } from "./validate";

/** The component's type token: never renamed (every deployed cluster's URN holds it). */
export const SECURE_ETCD_CLUSTER_TYPE = "secure-etcd:index:SecureEtcdCluster";

/**
 * etcd for a self-managed Kubernetes control plane on AWS, secure by default: a dedicated etcd
 * CA and a separate peer CA, per-member server and peer certificates with exact SANs, and
 * per-consumer client certificates.
 */
export class SecureEtcdCluster extends pulumi.ComponentResource {
    /**
     * The etcd CA's trust bundle, trust anchor for the client port (2379): the CA certificate, or
     * during a rotation of the etcd CA (`etcdCaRotationStage` `trust-new` or `issue-from-new`)
     * both generations' certificates, oldest first. Give it to every client as its CA file.
     */
    public readonly caCertPem!: pulumi.Output<string>;
    /**
     * The peer CA's trust bundle, trust anchor for the peer port (2380) only: one certificate, or
     * two during a rotation of the peer CA.
     */
    public readonly peerCaCertPem!: pulumi.Output<string>;
    /** Each member's server and peer certificates, by member name. */
    public readonly memberCertificates!: pulumi.Output<Record<string, MemberCertificates>>;
    /** Each member's certificates with their private keys, by member name. Secret. */
    public readonly memberCredentials!: pulumi.Output<Record<string, MemberCredentials>>;
    /**
     * Client credentials by client name: the built-in `kube-apiserver-etcd-client`,
     * `kube-etcd-healthcheck-client` and `etcd-backup`, and any extra clients. Secret.
     */
    public readonly clientCredentials!: pulumi.Output<Record<string, ClientCredentials>>;
    /** Every certificate the cluster issued, with its expiry. */
    public readonly certificates!: pulumi.Output<CertificateInfo[]>;
    /** The etcd static-pod manifest (YAML) of each member, by member name. Holds no secrets. */
    public readonly etcdManifests!: pulumi.Output<Record<string, string>>;
    /**
     * Every file a member node needs, by member name: the manifest, certificates, keys and
     * directories, each with path, mode and owner. Secret: it holds the member's keys.
     */
    public readonly nodeFiles!: pulumi.Output<Record<string, NodeFile[]>>;
    /** The etcd release the manifests are rendered for. */
    public readonly etcdVersion!: pulumi.Output<string>;
    /**
     * Per member, cloud-init user-data that creates the etcd user, installs the node agent from
     * `backupAgentUrl` when its SHA-256 matches `backupAgentSha256`, and fetches the member's keys
     * and certificates from Secrets Manager at boot with the instance role. Holds no secret.
     */
    public readonly memberUserData!: pulumi.Output<Record<string, string>>;
    /**
     * The etcd members' security group (created, or the one given): attach it to every member
     * beside the node's own groups, which carry its general egress.
     */
    public readonly securityGroupId!: pulumi.Output<string>;
    /**
     * The idempotent etcd RBAC bootstrap (Python 3 and etcdctl): creates the users and roles and
     * enables auth. The first member's node runs it at boot; it holds no secret.
     */
    public readonly rbacBootstrapScript!: pulumi.Output<string>;
    /** The kube-apiserver EncryptionConfiguration (YAML). Secret: it holds the keys. */
    public readonly encryptionConfigYaml!: pulumi.Output<string>;
    /**
     * The EncryptionConfiguration's provider types in order, e.g. `["secretbox", "identity"]`: the
     * first encrypts every write. Not secret, so reviewers' policies can judge it at preview.
     */
    public readonly encryptionProviderOrder!: pulumi.Output<string[]>;
    /** Rewrites every encrypted object with the key that encrypts now: step 3 of a rotation. */
    public readonly encryptionRewriteCommand!: pulumi.Output<string>;
    /** kube-apiserver flags, volumes and read-only mounts for this etcd and encryption at rest. */
    public readonly apiServer!: pulumi.Output<ApiServerFragment>;
    /** A kubeadm `ClusterConfiguration` (v1beta4, YAML) with this etcd as external etcd. */
    public readonly kubeadmClusterConfiguration!: pulumi.Output<string>;
    /** The files a kube-apiserver node needs for etcd, with modes and owners. Secret. */
    public readonly apiServerNodeFiles!: pulumi.Output<NodeFile[]>;
    /** `kms` only: the KMS key that encrypts Kubernetes objects. */
    public readonly encryptionKmsKeyArn!: pulumi.Output<string | undefined>;
    /** `kms` only: the aws-encryption-provider static pod for every kube-apiserver node (YAML). */
    public readonly kmsPluginManifest!: pulumi.Output<string | undefined>;
    /** `kms` only: the IAM policy (JSON) the control-plane role needs for the plugin. */
    public readonly kmsPluginPolicy!: pulumi.Output<string | undefined>;
    /** The KMS key under which every Secrets Manager secret of this cluster is encrypted. */
    public readonly secretsKmsKeyArn!: pulumi.Output<string>;
    /** Secret ARNs by path: `members/<name>`, `kube-apiserver/etcd-client`, `kube-apiserver/encryption-config`, `encryption-keys/<key>`. */
    public readonly secretArns!: pulumi.Output<Record<string, string>>;
    /** Per member, the IAM policy (JSON) its instance role needs: read its own secret, nothing else. */
    public readonly memberSecretsPolicies!: pulumi.Output<Record<string, string>>;
    /** The IAM policy (JSON) a kube-apiserver node's role needs to read its etcd client bundle and the encryption configuration. */
    public readonly apiServerSecretsPolicy!: pulumi.Output<string>;
    /**
     * Per member, everything its instance role needs in one IAM policy (JSON): its
     * `memberSecretsPolicies` entry, plus `backupWriterPolicy` when backups are on, plus
     * `s3:GetObject` on the node agent's artifact when `backupAgentUrl` is an s3:// URL.
     */
    public readonly memberInstancePolicies!: pulumi.Output<Record<string, string>>;
    /**
     * Per KMS key the cluster uses — `secrets`, `backup` (backups on), `encryption` (the `kms`
     * provider) — the key-policy statements (a JSON array) that let the users the component names
     * use it, each with its conditions. A key the component creates has them in its policy; a key
     * you bring (`secretsKmsKeyArn`, `backupKmsKeyArn`, `encryptionKmsKeyArn`) needs them in its own,
     * beside your administrators' statement. The policy pack's `etcd-key-policy-users` checks it.
     */
    public readonly keyPolicyStatements!: pulumi.Output<Record<string, string>>;
    /** Backups only: the bucket that holds them (created, or `backupBucketName`). */
    public readonly backupBucketName!: pulumi.Output<string | undefined>;
    /** Backups only: the bucket's ARN. */
    public readonly backupBucketArn!: pulumi.Output<string | undefined>;
    /** Backups only: the KMS key that wraps every backup's data key and encrypts the objects at rest. */
    public readonly backupKmsKeyArn!: pulumi.Output<string | undefined>;
    /** Backups only: the object-key prefix of this cluster's backups, `etcd-backups/<name>/`. */
    public readonly backupPrefix!: pulumi.Output<string | undefined>;
    /**
     * Backups only: the bucket policy (JSON): TLS 1.2+ only, every object SSE-KMS under the backup
     * key. Applied to a created bucket; apply it to a bucket you bring.
     */
    public readonly backupBucketPolicy!: pulumi.Output<string | undefined>;
    /**
     * Backups only: the IAM policy (JSON) the members' roles need to upload backups, and nothing
     * else: no read, list or delete. Included in `memberInstancePolicies`.
     */
    public readonly backupWriterPolicy!: pulumi.Output<string | undefined>;
    /** Backups only: the IAM policy (JSON) a restore needs: list and read the backups, decrypt them. No writes. */
    public readonly backupRestorePolicy!: pulumi.Output<string | undefined>;
    /**
     * Prometheus alerting rules (a rule file, YAML): etcd's health, refused etcd requests, unusual
     * secret reads at kube-apiserver, and one expiry alert per certificate (warning at
     * `certificateExpiryWarningDays`, critical at `certificateExpiryCriticalDays`). Re-rendered when a
     * certificate is re-issued: deploy it from the same `pulumi up`. Holds no secret.
     */
    public readonly prometheusRulesYaml!: pulumi.Output<string>;
    /**
     * The same rules as a Prometheus Operator `PrometheusRule` (monitoring.coreos.com/v1) object,
     * in `prometheusRuleNamespace` with `prometheusRuleLabels`: give it to a Kubernetes provider.
     */
    public readonly prometheusRuleManifest!: pulumi.Output<PrometheusRuleManifest>;
    /** Backup alarms only: the SNS topic they notify (created, or `alarmTopicArn`); subscribe to it. */
    public readonly alarmTopicArn!: pulumi.Output<string | undefined>;
    /** Backup alarms only: the alarm that fires when no backup was written within `backupMaxAgeMinutes`. */
    public readonly backupFreshnessAlarmArn!: pulumi.Output<string | undefined>;
    /** Backup alarms only: the alarm that fires when S3 refuses a request on the backup prefix. */
    public readonly backupUploadErrorsAlarmArn!: pulumi.Output<string | undefined>;
    /**
     * Backup alarms only: the id of the S3 request-metrics configuration (filtered to `backupPrefix`)
     * the alarms read. Created on a bucket this component creates; on `backupBucketName`, create it
     * yourself with this id and prefix.
     */
    public readonly backupMetricsFilterId!: pulumi.Output<string | undefined>;

    constructor(name: string, args: SecureEtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Plain values are checked before anything is registered; Outputs when they resolve, and
        // until then no child registers (the gate).
        const validation = validateComponentArgs(name, args);
        if (validation.now.length > 0) {
            throw argumentsError(name, validation.now);
        }
        const resolved = validation.args;
        // Read before any child registers: the membership guard holds the gate too.
        const records = readDeploymentRecords(name, recordInvokeOptions(opts));
        const membership = wireMembership(name, resolved, records);
        // Nothing from args goes to super(): the SDK stores those in state.
        super(SECURE_ETCD_CLUSTER_TYPE, name, {}, gatedOptions(opts, bothGates(validation.gate, membership.gate)));
        argWarnings(resolved).forEach((warning) => void pulumi.log.warn(warning, this));
        membership.decision.apply((d) => d.warnings.forEach((w) => void pulumi.log.warn(w, this)));

        const account = awsAccount(this);
        const pki = wirePki(this, name, resolved, records);
        const network = wireNetwork(this, name, resolved);
        const backup = wireBackupBucket(this, name, resolved, account);
        const nodeAgent = wireNodeAgent(resolved, account);
        const rbac = wireRbac(this, name, resolved, pki.pki.clients["etcd-backup"]);
        const members = wireMembers(this, name, resolved, {
            pki: pki.outputs,
            crls: pki.crls,
            backupClient: pki.pki.clients["etcd-backup"],
            bucket: backup.bucket,
            account,
            bootstrapFiles: rbac.bootstrapFiles,
            membership: membershipRendering(membership.decision, pki.pki.etcdCa, resolved.membershipCredentialHours),
        });
        const encryption = wireEncryption(this, name, resolved, account, pki.records);
        const apiServer = wireApiServer(
            { ...resolved, kms: resolved.encryptionProvider === EncryptionProvider.Kms },
            pki.pki,
            encryption.outputs.encryptionConfigYaml,
        );
        const secrets = wireSecrets(this, name, resolved, {
            memberNames: resolved.members.map((m) => m.name),
            artifacts: members.artifacts,
            apiServerNodeFiles: apiServer.apiServerNodeFiles,
            rootPassword: rbac.rootPassword,
            keyMaterial: encryption.encryption.keyMaterial,
            afterKeyRingCheck: encryption.encryption.afterKeyRingCheck,
            backupWriterPolicy: memberBackupPolicy(resolved.restoreFromBackup, backup.outputs),
            agentArtifactPolicy: nodeAgent.readPolicy,
            account,
        });
        encryption.encryption.recordKeyRing([secrets.store]); // each record once stored: never ahead of AWS
        pki.recordRotation([secrets.store]);
        recordMembership(this, name, records, membership.decision, [secrets.store]);
        const monitoring = wireMonitoring(this, name, resolved, {
            certificates: pki.outputs.certificates,
            bucket: backup.bucket,
            account,
        });
        const userData = wireUserData(name, members, secrets.store.arns, account, nodeAgent.artifact);

        const { encryptionKeyUseStatements, ...encryptionOutputs } = encryption.outputs;
        const { secretsKeyUseStatements, ...secretsOutputs } = secrets.outputs;
        const { backupKeyUseStatements, ...backupOutputs } = backup.outputs;
        const outputs: ClusterOutputs = {
            ...pki.outputs,
            ...members.outputs,
            ...userData,
            ...network,
            ...rbac.outputs,
            ...encryptionOutputs,
            ...apiServer,
            ...secretsOutputs,
            ...backupOutputs,
            ...monitoring,
            keyPolicyStatements: keyPolicyStatements({
                secrets: secretsKeyUseStatements,
                backup: backupKeyUseStatements,
                encryption: encryptionKeyUseStatements,
            }),
        };
        Object.assign(this, outputs);
        this.registerOutputs(outputs);
    }
}

/** The keys in use, by kind, with their use statements; a kind not in use is left out. */
function keyPolicyStatements(
    byKind: Record<string, pulumi.Output<string | undefined>>,
): pulumi.Output<Record<string, string>> {
    return pulumi
        .all(byKind)
        .apply((resolved) =>
            Object.fromEntries(
                Object.entries(resolved).filter((entry): entry is [string, string] => entry[1] !== undefined),
            ),
        );
}

/** Every output of the component, by name: each concern's wiring provides its slice. */
export type ClusterOutputs = {
    [
        K in keyof SecureEtcdCluster as K extends "urn"
            ? never
            : SecureEtcdCluster[K] extends pulumi.Output<unknown>
              ? K
              : never
    ]: SecureEtcdCluster[K];
};
