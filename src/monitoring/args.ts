// Monitoring: the Prometheus rules' selectors and thresholds, and the backup alarms.
import * as pulumi from "@pulumi/pulumi";

export interface MonitoringArgs {
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

export const MONITORING_DEFAULTS = {
    monitoringEtcdJob: "etcd",
    monitoringApiServerJob: "apiserver",
    certificateExpiryWarningDays: 30,
    certificateExpiryCriticalDays: 7,
    etcdDeniedRequestsThreshold: 0,
    secretReadRateThreshold: 20,
    prometheusRuleNamespace: "monitoring",
    backupFreshnessAlarm: true,
} as const;
