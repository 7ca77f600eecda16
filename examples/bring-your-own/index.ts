// A cluster in an account that already has what it needs: the members' security group, the KMS
// keys, the backup bucket and the alarm topic, managed by another team or stack. None of those is
// created here; they come from the stack's configuration (see Pulumi.example.yaml).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster } from "../../src";

const config = new pulumi.Config();
/** The members' fixed addresses, in member order. */
const memberIps = config.requireObject<string[]>("memberIps");
/** The members' existing instance roles, in member order: each gets its member's policy. */
const memberRoleNames = config.requireObject<string[]>("memberRoleNames");
if (memberRoleNames.length !== memberIps.length) {
    throw new Error(`memberRoleNames needs one role per member (${memberIps.length})`);
}

const etcd = new SecureEtcdCluster("main", {
    members: memberIps.map((ip, i) => ({ name: `etcd-${i}`, ip })),
    // The group must admit nothing beyond the rules the component adds to it.
    securityGroupId: config.require("securityGroupId"),
    // kube-apiserver's nodes, by group (for the security group) and by subnet (for the host firewall).
    clientSecurityGroupIds: config.requireObject<string[]>("clientSecurityGroupIds"),
    hostFirewallClientCidrs: config.requireObject<string[]>("apiServerSubnetCidrs"),
    // Keys whose policies leave access to IAM policies in this account (the default key policy
    // does): the component's policies below grant exactly what each node needs.
    secretsKmsKeyArn: config.require("secretsKmsKeyArn"),
    backupKmsKeyArn: config.require("backupKmsKeyArn"),
    // Versioned, SSE-KMS with backupKmsKeyArn, public access blocked, owner-enforced, with
    // `backupBucketPolicy` (exported below) in its policy, and a lifecycle rule for each retention
    // tier: `<backupPrefix>frequent/` (e.g. a day) and `<backupPrefix>daily/` (e.g. 30 days).
    backupBucketName: config.require("backupBucketName"),
    // Where the platform keeps its secrets; the cluster's name and a random part follow.
    secretNamePrefix: config.get("secretNamePrefix") ?? "platform/etcd/",
    // The platform's on-call topic: the backup alarms notify it (CloudWatch must be allowed to publish).
    alarmTopicArn: config.require("alarmTopicArn"),
});

// Each existing role reads its own member's secret only, and may upload backups.
memberRoleNames.forEach((role, i) => {
    new aws.iam.RolePolicy(`main-etcd-${i}-member`, {
        role,
        name: "secure-etcd-main-member",
        policy: etcd.memberInstancePolicies.apply((policies) => policies[`etcd-${i}`]),
    });
});

/** Add to the bucket's policy: TLS only, and every object encrypted under the backup key. */
export const backupBucketPolicy = etcd.backupBucketPolicy;
/** Where this cluster's backups go in the bucket. */
export const backupPrefix = etcd.backupPrefix;
/**
 * Create the bucket's S3 request-metrics configuration with this id, filtered to `backupPrefix`:
 * the freshness alarm reads it, and stays in ALARM until it exists.
 */
export const backupMetricsFilterId = etcd.backupMetricsFilterId;
/** The role a restore assumes needs this, and nothing more. */
export const backupRestorePolicy = etcd.backupRestorePolicy;
/** kube-apiserver's nodes' roles need this to fetch their etcd client bundle and encryption configuration. */
export const apiServerSecretsPolicy = etcd.apiServerSecretsPolicy;
/** Per member, the user data of its instance. */
export const memberUserData = etcd.memberUserData;
export const secretArns = etcd.secretArns;
export const apiServer = etcd.apiServer;
export const caCertPem = etcd.caCertPem;
