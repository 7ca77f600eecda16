// Backup freshness on the AWS side, as pure functions of plain values: the S3 request-metrics filter
// on the backup prefix, the CloudWatch alarm settings, and the key policy of the alarm topic.
import * as crypto from "crypto";
import { accountRoot, keyPolicy, KeyPolicyScope } from "../access/keyPolicy";
import { policy, PolicyDocument, PolicyStatement } from "../core/policyDocument";

/** CloudWatch's longest alarm window: period × evaluation periods up to 7 days. */
export const MAX_ALARM_WINDOW_MINUTES = 10080;
/** With periods under an hour the window may span at most a day. */
const SHORT_PERIOD_WINDOW_SECONDS = 86400;
/** Enough periods that a missed backup is seen within a small fraction of the window. */
const MAX_EVALUATION_PERIODS = 60;

/**
 * The id of the backups' S3 metrics configuration: S3 allows 64 letters, digits and `.-_`. A long
 * cluster name is cut and a digest of the whole name appended, so two clusters never share one.
 */
export function backupMetricsFilterId(cluster: string): string {
    const id = `secure-etcd-${cluster}`;
    if (id.length <= 64) {
        return id;
    }
    const digest = crypto.createHash("sha256").update(cluster).digest("hex").slice(0, 8);
    return `${id.slice(0, 64 - 9)}-${digest}`;
}

export interface AlarmWindow {
    /** Seconds per period: a multiple of 60. */
    period: number;
    /** Periods evaluated, all of which must breach (no PUT in any): the window is period × this. */
    evaluationPeriods: number;
}

/**
 * The alarm's periods for "no backup object within `maxAgeMinutes`": every period in the window
 * must have no PUT. One long period would be aligned to CloudWatch's period boundaries and could
 * notice a gap up to twice as late; many short ones follow the window closely.
 */
export function freshnessAlarmWindow(maxAgeMinutes: number): AlarmWindow {
    if (!Number.isInteger(maxAgeMinutes) || maxAgeMinutes < 1 || maxAgeMinutes > MAX_ALARM_WINDOW_MINUTES) {
        throw new Error(`backupMaxAgeMinutes ${maxAgeMinutes} is not a whole number from 1 to 10080`);
    }
    const total = maxAgeMinutes * 60;
    for (let period = 60; period <= total; period += 60) {
        const periodsFit = total % period === 0 && total / period <= MAX_EVALUATION_PERIODS;
        const rangeAllowed = period >= 3600 || total <= SHORT_PERIOD_WINDOW_SECONDS;
        if (periodsFit && rangeAllowed) {
            return { period, evaluationPeriods: total / period };
        }
    }
    // Not reached: a single period of the whole window always fits.
    return { period: total, evaluationPeriods: 1 };
}

export interface BackupAlarmText {
    cluster: string;
    bucket: string;
    prefix: string;
    filterId: string;
    maxAgeMinutes: number;
}

export function freshnessAlarmDescription(t: BackupAlarmText): string {
    return (
        `secure-etcd: no etcd backup of cluster ${t.cluster} was written to s3://${t.bucket}/${t.prefix} in ${t.maxAgeMinutes} minutes ` +
        `(S3 request metrics ${t.filterId}; missing data counts as no backup). Check the leader's secure-etcd-backup.service ` +
        "(journalctl -u secure-etcd-backup), its IAM role (backupWriterPolicy) and the backup key's policy, then run " +
        "`secure-etcd restore-verify` on the newest backup."
    );
}

export function uploadErrorsAlarmDescription(t: BackupAlarmText): string {
    return (
        `secure-etcd: S3 refused requests (4xx) under s3://${t.bucket}/${t.prefix}, the backups of etcd cluster ${t.cluster}. ` +
        "A refused upload still counts as a PUT, so the freshness alarm alone would not see a writer that lost its permissions. " +
        "Check the agent's log on the leader, the members' roles (backupWriterPolicy) and the bucket and key policies; " +
        "a refusal no member explains is someone else trying the backups."
    );
}

/**
 * CloudWatch acting for this account's alarms in this region only: the confused-deputy guard AWS
 * recommends for service principals. CloudWatch's requests to SNS and, through SNS, to KMS carry
 * both keys (unlike EventBridge's, whose KMS requests carry neither).
 */
function fromThisAccountsAlarms(scope: KeyPolicyScope): PolicyStatement["Condition"] {
    return {
        StringEquals: { "aws:SourceAccount": scope.accountId },
        ArnLike: { "aws:SourceArn": `arn:${scope.partition}:cloudwatch:${scope.region}:${scope.accountId}:alarm:*` },
    };
}

/**
 * The alarm topic's key: administrators manage it, and CloudWatch may encrypt and decrypt with it
 * to publish this account's alarms. CloudWatch cannot publish to a topic under the AWS-managed SNS
 * key, whose policy cannot grant it.
 */
export function alarmTopicKeyPolicy(scope: KeyPolicyScope, administrators: string[]): PolicyDocument {
    return keyPolicy(scope, administrators, [
        {
            sid: "CloudWatchAlarmsPublish",
            service: "cloudwatch.amazonaws.com",
            actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
            condition: fromThisAccountsAlarms(scope),
        },
    ]);
}

/**
 * The alarm topic's own policy: this account's alarms publish, only over TLS; the account manages
 * the topic and its subscriptions (as SNS's default policy lets it), nobody else publishes.
 */
export function alarmTopicPolicy(scope: KeyPolicyScope, topicArn: string): PolicyDocument {
    return policy(
        {
            Sid: "CloudWatchAlarmsPublish",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topicArn,
            Condition: fromThisAccountsAlarms(scope),
        },
        {
            Sid: "AccountManagesTopic",
            Effect: "Allow",
            Principal: { AWS: accountRoot(scope) },
            Action: [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:AddPermission",
                "sns:RemovePermission",
                "sns:DeleteTopic",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
            ],
            Resource: topicArn,
        },
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "sns:Publish",
            Resource: topicArn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
    );
}

/** `arn:<partition>:sns:<region>:<account>:<topic>`; a FIFO topic cannot take alarm notifications. */
export const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

export function snsTopicArnProblem(value: string): string | undefined {
    if (SNS_TOPIC_ARN.test(value)) {
        return undefined;
    }
    if (/\.fifo$/.test(value)) {
        return `${JSON.stringify(value)} is a FIFO topic, which CloudWatch alarms cannot notify; give a standard topic's ARN`;
    }
    return `${JSON.stringify(value)} is not an SNS topic ARN; give arn:aws:sns:<region>:<account>:<topic>`;
}
