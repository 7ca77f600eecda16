// Resource wiring for backup freshness: S3 request metrics on the backup prefix (for a bucket this
// component created), two CloudWatch alarms on them, and an encrypted SNS topic they notify (unless
// the caller gives one).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import {
    BackupAlarmText,
    backupMetricsFilterId,
    freshnessAlarmDescription,
    freshnessAlarmWindow,
    uploadErrorsAlarmDescription,
} from "./backupAlarms";

export interface BackupMonitoringArgs {
    bucketName: pulumi.Input<string>;
    /** The backups' object-key prefix. */
    prefix: string;
    /**
     * Create the S3 metrics configuration: only on a bucket this component created. On a bucket
     * the caller brings, the configuration is theirs to create (the alarm stays in ALARM until then).
     */
    createMetricsConfiguration: boolean;
    /** Already validated when it resolves. */
    maxAgeMinutes: pulumi.Input<number>;
    /** An existing topic; otherwise one is created under a key of its own. */
    topicArn?: pulumi.Input<string>;
    topicKeyPolicy: pulumi.Input<string>;
    /** The created topic's own policy, given its ARN. */
    topicPolicy: (topicArn: pulumi.Output<string>) => pulumi.Input<string>;
    keyDeletionWindowDays: pulumi.Input<number>;
}

export class BackupMonitoring extends pulumi.ComponentResource {
    public readonly topicArn: pulumi.Output<string>;
    public readonly freshnessAlarmArn: pulumi.Output<string>;
    public readonly uploadErrorsAlarmArn: pulumi.Output<string>;
    /** The S3 metrics configuration's id, the alarms' `FilterId` dimension. */
    public readonly metricsFilterId: string;

    constructor(name: string, clusterName: string, args: BackupMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:monitoring:BackupMonitoring", name, {}, opts);
        const tags = { "secure-etcd:cluster": clusterName };
        this.metricsFilterId = backupMetricsFilterId(clusterName);

        this.topicArn =
            args.topicArn !== undefined ? pulumi.output(args.topicArn) : this.newTopic(name, clusterName, args);

        const dependsOn: pulumi.Resource[] = [];
        if (args.createMetricsConfiguration) {
            dependsOn.push(
                new aws.s3.BucketMetric(
                    `${name}-backup-metrics`,
                    { bucket: args.bucketName, name: this.metricsFilterId, filter: { prefix: args.prefix } },
                    { parent: this },
                ),
            );
        }

        const text = allOf([args.bucketName, args.maxAgeMinutes]).apply(([bucket, maxAgeMinutes]): BackupAlarmText => ({
            cluster: clusterName,
            bucket,
            prefix: args.prefix,
            filterId: this.metricsFilterId,
            maxAgeMinutes,
        }));
        const window = pulumi.output(args.maxAgeMinutes).apply(freshnessAlarmWindow);
        const dimensions = { BucketName: args.bucketName, FilterId: this.metricsFilterId };
        const actions = [this.topicArn];

        // S3 reports request metrics only for minutes with requests: a window with none is missing
        // data, which is exactly "no backup", so it breaches.
        this.freshnessAlarmArn = new aws.cloudwatch.MetricAlarm(
            `${name}-backup-freshness`,
            {
                alarmDescription: text.apply(freshnessAlarmDescription),
                namespace: "AWS/S3",
                metricName: "PutRequests",
                dimensions,
                statistic: "Sum",
                period: window.period,
                evaluationPeriods: window.evaluationPeriods,
                datapointsToAlarm: window.evaluationPeriods,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                treatMissingData: "breaching",
                alarmActions: actions,
                okActions: actions,
                tags,
            },
            { parent: this, dependsOn },
        ).arn;

        this.uploadErrorsAlarmArn = new aws.cloudwatch.MetricAlarm(
            `${name}-backup-upload-errors`,
            {
                alarmDescription: text.apply(uploadErrorsAlarmDescription),
                namespace: "AWS/S3",
                metricName: "4xxErrors",
                dimensions,
                statistic: "Sum",
                period: 300,
                evaluationPeriods: 1,
                comparisonOperator: "GreaterThanThreshold",
                threshold: 0,
                // No requests, no errors.
                treatMissingData: "notBreaching",
                alarmActions: actions,
                tags,
            },
            { parent: this, dependsOn },
        ).arn;

        this.registerOutputs({
            topicArn: this.topicArn,
            freshnessAlarmArn: this.freshnessAlarmArn,
            uploadErrorsAlarmArn: this.uploadErrorsAlarmArn,
        });
    }

    /** An SNS topic under a KMS key of its own and with a policy of its own: CloudWatch publishes. */
    private newTopic(name: string, clusterName: string, args: BackupMonitoringArgs): pulumi.Output<string> {
        const tags = { "secure-etcd:cluster": clusterName };
        const key = new aws.kms.Key(
            `${name}-topic-kms-key`,
            {
                description: `Alarm notifications of etcd cluster ${clusterName} (secure-etcd)`,
                keyUsage: "ENCRYPT_DECRYPT",
                customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                enableKeyRotation: true,
                deletionWindowInDays: args.keyDeletionWindowDays,
                policy: args.topicKeyPolicy,
                tags,
            },
            { parent: this },
        );
        const topic = new aws.sns.Topic(
            `${name}-topic`,
            { displayName: `etcd ${clusterName} alarms`.slice(0, 100), kmsMasterKeyId: key.arn, tags },
            { parent: this },
        );
        // Replaces SNS's default policy: only this account's alarms publish, and only over TLS.
        new aws.sns.TopicPolicy(
            `${name}-topic-policy`,
            { arn: topic.arn, policy: args.topicPolicy(topic.arn) },
            { parent: this },
        );
        return topic.arn;
    }
}
