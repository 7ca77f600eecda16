// Wires monitoring: the Prometheus rules (re-rendered when a certificate is re-issued), the same
// rules as a PrometheusRule, and the backup freshness alarms on the backup prefix's S3 metrics.
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { BackupBucket } from "../backup/backupBucket";
import { AwsAccount, forAccount, forAccountAnd } from "../core/account";
import { CertificateInfo } from "../pki/outputs";
import { alarmTopicKeyPolicy, alarmTopicPolicy } from "./backupAlarms";
import { BackupMonitoring } from "./backupMonitoring";
import {
    PrometheusRuleManifest,
    prometheusRulesYaml,
    renderPrometheusRule,
    renderPrometheusRules,
} from "./prometheusRules";
import { backupAlarmsEnabled } from "./validate";

export interface MonitoringInputs {
    keyAdministratorArns: string[];
    members: unknown[];
    monitoringEtcdJob: pulumi.Input<string>;
    monitoringApiServerJob: pulumi.Input<string>;
    certificateExpiryWarningDays: pulumi.Input<number>;
    certificateExpiryCriticalDays: pulumi.Input<number>;
    etcdDeniedRequestsThreshold: pulumi.Input<number>;
    secretReadRateThreshold: pulumi.Input<number>;
    nodeSync: pulumi.Input<boolean>;
    nodeSyncIntervalMinutes: pulumi.Input<number>;
    defragmentation: pulumi.Input<boolean>;
    defragmentationIntervalMinutes: pulumi.Input<number>;
    prometheusRuleNamespace: pulumi.Input<string>;
    prometheusRuleLabels: pulumi.Input<Record<string, pulumi.Input<string>>>;
    backups: boolean;
    backupFreshnessAlarm: boolean;
    backupBucketName?: pulumi.Input<string>;
    backupMaxAgeMinutes: pulumi.Input<number>;
    alarmTopicArn?: pulumi.Input<string>;
    kmsKeyDeletionWindowDays: pulumi.Input<number>;
}

export interface MonitoringOutputs {
    prometheusRulesYaml: pulumi.Output<string>;
    prometheusRuleManifest: pulumi.Output<PrometheusRuleManifest>;
    alarmTopicArn: pulumi.Output<string | undefined>;
    backupFreshnessAlarmArn: pulumi.Output<string | undefined>;
    backupUploadErrorsAlarmArn: pulumi.Output<string | undefined>;
    backupMetricsFilterId: pulumi.Output<string | undefined>;
}

export function wireMonitoring(
    parent: pulumi.Resource,
    name: string,
    args: MonitoringInputs,
    deps: { certificates: pulumi.Output<CertificateInfo[]>; bucket?: BackupBucket; account: AwsAccount },
): MonitoringOutputs {
    const rules = allOf([
        deps.certificates,
        args.monitoringEtcdJob,
        args.monitoringApiServerJob,
        args.certificateExpiryWarningDays,
        args.certificateExpiryCriticalDays,
        args.etcdDeniedRequestsThreshold,
        args.secretReadRateThreshold,
        args.nodeSync,
        args.nodeSyncIntervalMinutes,
        args.defragmentation,
        args.defragmentationIntervalMinutes,
    ]).apply(
        ([
            certificates,
            etcdJob,
            apiServerJob,
            warningDays,
            criticalDays,
            denied,
            secretRate,
            sync,
            syncMinutes,
            defrag,
            defragMinutes,
        ]) =>
            renderPrometheusRules({
                cluster: name,
                memberCount: args.members.length,
                etcdJob,
                apiServerJob,
                certificates,
                certificateExpiryWarningDays: warningDays,
                certificateExpiryCriticalDays: criticalDays,
                etcdDeniedRequestsThreshold: denied,
                secretReadRateThreshold: secretRate,
                nodeSyncIntervalMinutes: sync ? syncMinutes : undefined,
                defragmentationIntervalMinutes: defrag ? defragMinutes : undefined,
            }),
    );
    const alarms =
        deps.bucket && backupAlarmsEnabled(args)
            ? new BackupMonitoring(
                  `${name}-alarms`,
                  name,
                  {
                      bucketName: deps.bucket.bucketName,
                      prefix: deps.bucket.prefix,
                      createMetricsConfiguration: args.backupBucketName === undefined,
                      maxAgeMinutes: args.backupMaxAgeMinutes,
                      topicArn: args.alarmTopicArn,
                      topicKeyPolicy: forAccount(deps.account, (scope) =>
                          alarmTopicKeyPolicy(scope, args.keyAdministratorArns),
                      ),
                      topicPolicy: (topicArn) => forAccountAnd(deps.account, topicArn, alarmTopicPolicy),
                      keyDeletionWindowDays: args.kmsKeyDeletionWindowDays,
                  },
                  { parent },
              )
            : undefined;
    const none = pulumi.output(undefined);
    return {
        prometheusRulesYaml: rules.apply(prometheusRulesYaml),
        prometheusRuleManifest: allOf([rules, args.prometheusRuleNamespace, args.prometheusRuleLabels]).apply(
            ([ruleFile, namespace, labels]) => renderPrometheusRule(ruleFile, { cluster: name, namespace, labels }),
        ),
        alarmTopicArn: alarms?.topicArn ?? none,
        backupFreshnessAlarmArn: alarms?.freshnessAlarmArn ?? none,
        backupUploadErrorsAlarmArn: alarms?.uploadErrorsAlarmArn ?? none,
        backupMetricsFilterId: pulumi.output(alarms?.metricsFilterId),
    };
}
