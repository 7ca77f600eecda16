// Monitoring as SecureEtcdCluster wires it: rules rendered from the cluster's own certificates (and
// re-rendered when one is re-issued), the PrometheusRule, the backup alarms' exact CloudWatch and
// S3 configuration, public outputs without secrets, and every refusal before anything is created.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import {
    alarmTopicKeyPolicy,
    backupMetricsFilterId,
    freshnessAlarmWindow,
    MAX_ALARM_WINDOW_MINUTES,
} from "../../src/monitoring/backupAlarms";
import { RuleFile } from "../../src/monitoring/prometheusRules";
import { MOCK_ACCOUNT, MOCK_POLICY_SCOPE } from "../../testing/awsEmulator";
import { PolicyDocument } from "../../src/core/policyDocument";
import {
    buildCluster,
    refusedWhenResolved,
    capturedWarnings,
    rejectedArgs,
    TEST_VPC_ID,
    THREE_MEMBERS,
} from "../harness/cluster";
import { ProviderMocks } from "../../testing/mocks";
import { resolve, runProgram, valueOf } from "../../testing/program";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const METRIC = "aws:s3/bucketMetric:BucketMetric";
const TOPIC = "aws:sns/topic:Topic";
const KEY = "aws:kms/key:Key";
const GIVEN_TOPIC = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:platform-alarms`;

function build(args: Partial<SecureEtcdClusterArgs> = {}, name = "prod", previous?: ProviderMocks) {
    return runProgram(
        () => new SecureEtcdCluster(name, { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }),
        previous ? { previous } : {},
    );
}

function expiryRules(yaml: string): { certificate: string; severity: string; expr: string }[] {
    const file = YAML.parse(yaml) as RuleFile;
    const group = file.groups.find((g) => g.name.endsWith(".certificates"))!;
    // The component's own rules, one pair per certificate it issued; the nodes' rules are node sync's.
    return group.rules
        .filter((r) => r.alert === "EtcdCertificateExpiring")
        .map((r) => ({ certificate: r.labels.certificate, severity: r.labels.severity, expr: r.expr }));
}

const monitoringTypes = (mocks: ProviderMocks) =>
    mocks.registrations.filter((r) => [ALARM, METRIC, TOPIC].includes(r.type) || r.name.includes("-alarms"));

describe("monitoring: Prometheus rules from the cluster", function () {
    it("give every certificate the cluster issued an expiry rule at its own notAfter", async () => {
        const { cluster, outputs } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const yaml = await valueOf(cluster.prometheusRulesYaml);
        const rules = expiryRules(yaml);
        const certificates = outputs.certificates.value;
        assert.equal(certificates.length, 2 + 2 * 3 + 3);
        assert.deepEqual(
            rules,
            certificates.flatMap((c) => {
                const epoch = Math.floor(Date.parse(c.notAfter) / 1000);
                return [
                    { certificate: c.id, severity: "warning", expr: `(vector(${epoch}) - time()) / 86400 < 30` },
                    { certificate: c.id, severity: "critical", expr: `(vector(${epoch}) - time()) / 86400 < 7` },
                ];
            }),
        );
        // promtool accepts this output: test/e2e/monitoringRules.test.ts (the unit suite needs no promtool).
    });

    it("re-render a certificate's rule when a `pulumi up` re-issues it, and leave the others", async () => {
        const first = await build({});
        const before = expiryRules(await valueOf(first.result.prometheusRulesYaml));
        // Same stack, shorter validity: the provider replaces every leaf, never a CA.
        const second = await build({ certificateValidityHours: 4000 }, "prod", first.mocks);
        const after = expiryRules(await valueOf(second.result.prometheusRulesYaml));
        assert.equal(after.length, before.length);
        const certificates = await valueOf(second.result.certificates);
        for (const [i, rule] of after.entries()) {
            const cert = certificates.find((c) => c.id === rule.certificate)!;
            assert.ok(rule.expr.includes(`vector(${Math.floor(Date.parse(cert.notAfter) / 1000)})`), rule.certificate);
            const isCa = rule.certificate.endsWith("-ca");
            assert.equal(rule.expr === before[i].expr, isCa, `${rule.certificate}: re-rendered only when re-issued`);
        }
        const leaf = certificates.find((c) => c.id === "member/etcd-0/server")!;
        const hours = (Date.parse(leaf.notAfter) - Date.now()) / 3600_000;
        assert.ok(hours > 3990 && hours <= 4000, `${hours} hours left`);
    });

    it("use the job names and thresholds given", async () => {
        const { result } = await build({
            monitoringEtcdJob: pulumi.output("kube-etcd"),
            monitoringApiServerJob: "kubernetes-apiservers",
            certificateExpiryWarningDays: 45,
            certificateExpiryCriticalDays: 10,
            etcdDeniedRequestsThreshold: 3,
            secretReadRateThreshold: 75,
        });
        const file = YAML.parse(await valueOf(result.prometheusRulesYaml)) as RuleFile;
        const rules = file.groups.flatMap((g) => g.rules);
        const expr = (alert: string) => rules.find((r) => r.alert === alert)!.expr;
        assert.equal(expr("EtcdMemberDown"), 'up{job="kube-etcd"} == 0');
        assert.match(
            expr("EtcdRequestsDenied"),
            /\{job="kube-etcd", grpc_code=~"PermissionDenied\|Unauthenticated"\}.* > 3$/,
        );
        assert.match(expr("KubeApiServerSecretReadsHigh"), /\{job="kubernetes-apiservers", resource="secrets"/);
        assert.match(expr("KubeApiServerSecretReadsHigh"), / > 75$/);
        const expiry = rules.filter((r) => r.alert === "EtcdCertificateExpiring").map((r) => r.expr.split(" < ")[1]);
        assert.deepEqual([...new Set(expiry)], ["45", "10"]);
    });

    it("scale the default expiry thresholds down for short-lived certificates", async () => {
        const { result } = await build({ certificateValidityHours: 100, certificateRenewalHours: 24 });
        const file = YAML.parse(await valueOf(result.prometheusRulesYaml)) as RuleFile;
        const leaf = file.groups[2].rules.filter((r) => r.labels.certificate === "member/etcd-0/server");
        // A quarter of 100 hours, and a quarter of that.
        assert.deepEqual(
            leaf.map((r) => r.expr.split(" < ")[1]),
            [String(100 / 24 / 4), String(100 / 24 / 16)],
        );
        const given = await build({ certificateExpiryWarningDays: 10 });
        const tenDays = YAML.parse(await valueOf(given.result.prometheusRulesYaml)) as RuleFile;
        assert.deepEqual(
            tenDays.groups[2].rules.slice(0, 2).map((r) => r.expr.split(" < ")[1]),
            ["10", "2.5"],
        );
    });

    it("wrap them in a PrometheusRule in the namespace and with the labels given", async () => {
        const { result } = await build({
            prometheusRuleNamespace: "observability",
            prometheusRuleLabels: { release: pulumi.output("kube-prometheus-stack"), team: "platform" },
        });
        const manifest = await valueOf(result.prometheusRuleManifest);
        assert.equal(manifest.apiVersion, "monitoring.coreos.com/v1");
        assert.equal(manifest.kind, "PrometheusRule");
        assert.deepEqual(manifest.metadata, {
            name: "secure-etcd-prod",
            namespace: "observability",
            labels: {
                "app.kubernetes.io/name": "secure-etcd",
                "app.kubernetes.io/instance": "secure-etcd-prod",
                release: "kube-prometheus-stack",
                team: "platform",
            },
        });
        assert.deepEqual(manifest.spec, YAML.parse(await valueOf(result.prometheusRulesYaml)));
        const defaults = await valueOf((await build({ backups: false })).result.prometheusRuleManifest);
        assert.equal(defaults.metadata.namespace, "monitoring");
    });

    it("are public outputs with no key material, and so are the alarm outputs", async () => {
        const { cluster, outputs } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const keys = [
            ...Object.values(outputs.clientCredentials.value).map((c) => c.keyPem.split("\n")[1]),
            ...Object.values(outputs.memberCredentials.value).map((c) => c.serverKeyPem.split("\n")[1]),
        ];
        for (const [name, output] of Object.entries({
            prometheusRulesYaml: cluster.prometheusRulesYaml,
            prometheusRuleManifest: cluster.prometheusRuleManifest,
            alarmTopicArn: cluster.alarmTopicArn,
            backupFreshnessAlarmArn: cluster.backupFreshnessAlarmArn,
            backupUploadErrorsAlarmArn: cluster.backupUploadErrorsAlarmArn,
            backupMetricsFilterId: cluster.backupMetricsFilterId,
        })) {
            const { value, secret } = await resolve(output as pulumi.Output<unknown>);
            assert.equal(secret, false, `${name} is secret`);
            assert.ok(value !== undefined, name);
            const text = JSON.stringify(value);
            assert.ok(!text.includes("PRIVATE KEY") && !keys.some((k) => text.includes(k)), name);
        }
    });
});

describe("monitoring: backup freshness alarms", function () {
    it("create request metrics on the backup prefix, the freshness and upload-error alarms and an encrypted topic", async () => {
        const { result, mocks } = await build({});
        const bucket = await valueOf(result.backupBucketName);
        const topic = mocks.named("prod-alarms-topic");
        const topicKey = mocks.named("prod-alarms-topic-kms-key");
        const topicArn = topic.state!.arn as string;
        assert.equal(await valueOf(result.alarmTopicArn), topicArn);

        const metric = mocks.named("prod-alarms-backup-metrics");
        assert.equal(metric.type, METRIC);
        assert.deepEqual(metric.inputs, {
            bucket,
            name: "secure-etcd-prod",
            filter: { prefix: "etcd-backups/prod/" },
        });
        assert.equal(await valueOf(result.backupMetricsFilterId), "secure-etcd-prod");

        const freshness = mocks.named("prod-alarms-backup-freshness");
        const { alarmDescription, ...settings } = freshness.inputs;
        assert.deepEqual(settings, {
            namespace: "AWS/S3",
            metricName: "PutRequests",
            dimensions: { BucketName: bucket, FilterId: "secure-etcd-prod" },
            statistic: "Sum",
            // Default: twice the 30-minute interval, as 60 one-minute periods that must all be empty.
            period: 60,
            evaluationPeriods: 60,
            datapointsToAlarm: 60,
            comparisonOperator: "LessThanThreshold",
            threshold: 1,
            treatMissingData: "breaching",
            alarmActions: [topicArn],
            okActions: [topicArn],
            tags: { "secure-etcd:cluster": "prod" },
        });
        assert.match(String(alarmDescription), new RegExp(`s3://${bucket}/etcd-backups/prod/ in 60 minutes`));
        assert.equal(await valueOf(result.backupFreshnessAlarmArn), freshness.state!.arn);
        assert.match(freshness.state!.arn as string, /^arn:aws:cloudwatch:us-east-1:\d{12}:alarm:/);

        const errors = mocks.named("prod-alarms-backup-upload-errors");
        const { alarmDescription: errorsDescription, ...errorSettings } = errors.inputs;
        assert.deepEqual(errorSettings, {
            namespace: "AWS/S3",
            metricName: "4xxErrors",
            dimensions: { BucketName: bucket, FilterId: "secure-etcd-prod" },
            statistic: "Sum",
            period: 300,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            treatMissingData: "notBreaching",
            alarmActions: [topicArn],
            tags: { "secure-etcd:cluster": "prod" },
        });
        assert.match(String(errorsDescription), /A refused upload still counts as a PUT/);
        assert.equal(await valueOf(result.backupUploadErrorsAlarmArn), errors.state!.arn);

        // Both alarms wait for the metrics configuration they read.
        for (const alarm of [freshness, errors]) {
            const deps = mocks.optionsOf(alarm)!.dependencies;
            assert.ok(
                deps.some((d) => d.endsWith(`${METRIC}::prod-alarms-backup-metrics`)),
                deps.join("\n"),
            );
        }

        assert.deepEqual(topic.inputs, {
            displayName: "etcd prod alarms",
            kmsMasterKeyId: topicKey.state!.arn,
            tags: { "secure-etcd:cluster": "prod" },
        });
        assert.equal(topicKey.inputs.enableKeyRotation, true);
        assert.equal(topicKey.inputs.deletionWindowInDays, 30);
        assert.deepEqual(JSON.parse(topicKey.inputs.policy as string), alarmTopicKeyPolicy(MOCK_POLICY_SCOPE, []));
        const cloudwatch = alarmTopicKeyPolicy(MOCK_POLICY_SCOPE, []).Statement[1];
        assert.deepEqual(cloudwatch.Principal, { Service: "cloudwatch.amazonaws.com" });
        assert.deepEqual(cloudwatch.Action, ["kms:Decrypt", "kms:GenerateDataKey*"]);
        const fromThisAccountsAlarms = {
            StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
            ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:*` },
        };
        assert.deepEqual(cloudwatch.Condition, fromThisAccountsAlarms);
        // The topic's own policy replaces SNS's default: this account's alarms publish, over TLS only.
        const topicPolicy = mocks.named("prod-alarms-topic-policy");
        assert.equal(topicPolicy.inputs.arn, topic.state!.arn);
        const statements = (JSON.parse(topicPolicy.inputs.policy as string) as PolicyDocument).Statement;
        assert.deepEqual(
            statements.map((s) => [s.Sid, s.Effect]),
            [
                ["CloudWatchAlarmsPublish", "Allow"],
                ["AccountManagesTopic", "Allow"],
                ["DenyInsecureTransport", "Deny"],
            ],
        );
        assert.deepEqual(statements[0].Condition, fromThisAccountsAlarms);
    });

    it("follow backupMaxAgeMinutes and the interval: a day's interval gets a two-day window of hours", async () => {
        const daily = await build({ backupIntervalMinutes: 1440 });
        const alarm = daily.mocks.named("prod-alarms-backup-freshness").inputs;
        assert.deepEqual([alarm.period, alarm.evaluationPeriods, alarm.datapointsToAlarm], [3600, 48, 48]);
        const given = await build({ backupMaxAgeMinutes: pulumi.output(45), backupIntervalMinutes: 15 });
        const quick = given.mocks.named("prod-alarms-backup-freshness").inputs;
        assert.deepEqual([quick.period, quick.evaluationPeriods, quick.datapointsToAlarm], [60, 45, 45]);
        assert.match(String(quick.alarmDescription), / in 45 minutes /);
    });

    it("fit CloudWatch's limits for every window from a minute to a week", () => {
        for (let minutes = 1; minutes <= MAX_ALARM_WINDOW_MINUTES; minutes++) {
            const { period, evaluationPeriods } = freshnessAlarmWindow(minutes);
            const total = period * evaluationPeriods;
            assert.equal(total, minutes * 60, `${minutes}: the window is exactly the age`);
            assert.equal(period % 60, 0, `${minutes}: period ${period} is a multiple of 60`);
            assert.ok(total <= 604800, `${minutes}: at most 7 days`);
            assert.ok(period >= 3600 || total <= 86400, `${minutes}: periods under an hour span at most a day`);
            assert.ok(evaluationPeriods <= 60 || period === 60, `${minutes}: ${evaluationPeriods} periods`);
        }
        assert.throws(() => freshnessAlarmWindow(MAX_ALARM_WINDOW_MINUTES + 1), /1 to 10080/);
    });

    it("notify the topic given, and create no topic or key for it", async () => {
        const { result, mocks } = await build({ alarmTopicArn: GIVEN_TOPIC });
        assert.deepEqual(mocks.ofType(TOPIC), []);
        assert.ok(!mocks.ofType(KEY).some((k) => k.name.includes("-alarms-")));
        for (const alarm of mocks.ofType(ALARM)) {
            assert.deepEqual(alarm.inputs.alarmActions, [GIVEN_TOPIC], alarm.name);
        }
        assert.equal(await valueOf(result.alarmTopicArn), GIVEN_TOPIC);
    });

    it("on a bucket you bring: the alarms, but no metrics configuration on your bucket", async () => {
        const { result, mocks } = await build({ backupBucketName: "platform-etcd-backups" });
        assert.deepEqual(mocks.ofType(METRIC), []);
        const alarms = mocks.ofType(ALARM);
        assert.equal(alarms.length, 2);
        for (const alarm of alarms) {
            assert.deepEqual(alarm.inputs.dimensions, {
                BucketName: "platform-etcd-backups",
                FilterId: "secure-etcd-prod",
            });
            assert.ok(!mocks.optionsOf(alarm)!.dependencies.some((d) => d.includes(METRIC)), alarm.name);
        }
        assert.equal(await valueOf(result.backupMetricsFilterId), "secure-etcd-prod");
    });

    it("warn that a bucket you bring needs the metrics configuration, and only then", async () => {
        const quiet = await capturedWarnings(async () => {
            await build({ backupBucketName: "platform-etcd-backups", backupFreshnessAlarm: false });
            await build({});
        });
        assert.deepEqual(
            quiet.filter((w) => w.startsWith("backupFreshnessAlarm")),
            [],
        );
        const warnings = await capturedWarnings(() => build({ backupBucketName: "platform-etcd-backups" }));
        assert.ok(
            warnings.some(
                (w) =>
                    w.startsWith("backupFreshnessAlarm: on a bucket you bring") && w.includes("backupMetricsFilterId"),
            ),
            warnings.join("\n"),
        );
    });

    it("none without backups or with backupFreshnessAlarm false; the rules stay", async () => {
        for (const args of [{ backups: false }, { backupFreshnessAlarm: false }]) {
            const { result, mocks } = await build(args);
            assert.deepEqual(
                monitoringTypes(mocks).map((r) => r.name),
                [],
                JSON.stringify(args),
            );
            for (const output of [
                result.alarmTopicArn,
                result.backupFreshnessAlarmArn,
                result.backupUploadErrorsAlarmArn,
                result.backupMetricsFilterId,
            ]) {
                assert.equal(await valueOf(output), undefined);
            }
            assert.match(await valueOf(result.prometheusRulesYaml), /EtcdCertificateExpiring/);
        }
    });

    it("name the metrics configuration within S3's 64 characters, distinct for long names", () => {
        const a = backupMetricsFilterId(`${"a".repeat(70)}-one`);
        const b = backupMetricsFilterId(`${"a".repeat(70)}-two`);
        assert.equal(a.length, 64);
        assert.notEqual(a, b);
        assert.match(a, /^secure-etcd-a+-[0-9a-f]{8}$/);
    });
});

describe("monitoring: refusals before anything is created", function () {
    async function expectProblem(args: Partial<SecureEtcdClusterArgs>, problemPath: string, ...fragments: string[]) {
        const error = await rejectedArgs({ members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args });
        const problem = error.errors.find((e) => e.propertyPath === problemPath);
        assert.ok(problem, `no problem at ${problemPath}; got ${JSON.stringify(error.errors)}`);
        assert.ok(error.message.includes(`  - ${problemPath}: ${problem.reason}`), error.message);
        for (const f of fragments) {
            assert.ok(problem.reason.includes(f), `"${problem.reason}" lacks "${f}"`);
        }
    }

    const cases: [string, Partial<SecureEtcdClusterArgs>, string, ...string[]][] = [
        [
            "a critical threshold not below the warning",
            { certificateExpiryWarningDays: 10, certificateExpiryCriticalDays: 10 },
            "certificateExpiryCriticalDays",
            "not fewer days than certificateExpiryWarningDays (10)",
        ],
        [
            "a critical threshold above the default warning",
            { certificateExpiryCriticalDays: 45 },
            "certificateExpiryCriticalDays",
            "(30)",
        ],
        [
            "a warning as long as the validity",
            { certificateValidityHours: 720, certificateRenewalHours: 24, certificateExpiryWarningDays: 30 },
            "certificateExpiryWarningDays",
            "alert from the moment it is issued",
        ],
        ["negative days", { certificateExpiryWarningDays: -1 }, "certificateExpiryWarningDays", "above 0"],
        [
            "zero days",
            { certificateExpiryCriticalDays: 0 },
            "certificateExpiryCriticalDays",
            "above 0 and at most 3650",
        ],
        [
            "a critical threshold above the scaled default warning",
            { certificateValidityHours: 60, certificateRenewalHours: 24, certificateExpiryCriticalDays: 1 },
            "certificateExpiryCriticalDays",
            "not fewer days than certificateExpiryWarningDays (0.625)",
        ],
        ["an empty job name", { monitoringEtcdJob: "" }, "monitoringEtcdJob", "job_name of the scrape job"],
        ["a job name with a newline", { monitoringApiServerJob: "api\nserver" }, "monitoringApiServerJob", "printable"],
        ["a negative refusal threshold", { etcdDeniedRequestsThreshold: -1 }, "etcdDeniedRequestsThreshold", "from 0"],
        ["a zero read rate", { secretReadRateThreshold: 0 }, "secretReadRateThreshold", "above 0"],
        [
            "a namespace that is not a DNS label",
            { prometheusRuleNamespace: "Monitoring" },
            "prometheusRuleNamespace",
            "DNS-1123",
        ],
        [
            "a label key with spaces",
            { prometheusRuleLabels: { "my label": "x" } },
            "prometheusRuleLabels.my label",
            "label key",
        ],
        [
            "a label value with a slash",
            { prometheusRuleLabels: { release: "a/b" } },
            "prometheusRuleLabels.release",
            "label value",
        ],
        [
            "a freshness window no longer than the interval",
            { backupIntervalMinutes: 60, backupMaxAgeMinutes: 60 },
            "backupMaxAgeMinutes",
            "fire between two good backups",
            "e.g. 120",
        ],
        [
            "a freshness window over a week",
            { backupMaxAgeMinutes: 10081 },
            "backupMaxAgeMinutes",
            "CloudWatch's longest alarm window",
        ],
        ["a topic that is not an ARN", { alarmTopicArn: "alarms" }, "alarmTopicArn", "not an SNS topic ARN"],
        [
            "a FIFO topic",
            { alarmTopicArn: `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:alarms.fifo` },
            "alarmTopicArn",
            "FIFO",
        ],
        [
            "alarm settings without backups",
            { backups: false, backupMaxAgeMinutes: 120 },
            "backupMaxAgeMinutes",
            "only applies when backups are on",
        ],
        [
            "a topic with the alarms off",
            { backupFreshnessAlarm: false, alarmTopicArn: GIVEN_TOPIC },
            "alarmTopicArn",
            "backupFreshnessAlarm is false",
        ],
    ];
    for (const [title, args, problemPath, ...fragments] of cases) {
        it(`refuses ${title}`, () => expectProblem(args, problemPath, ...fragments));
    }

    it("checks rule and alarm settings that arrive as outputs when they resolve, with nothing registered", async () => {
        for (const [args, expected] of [
            [
                { certificateExpiryWarningDays: pulumi.output(400) },
                /certificateExpiryWarningDays: 400 days is not shorter/,
            ],
            [{ monitoringEtcdJob: pulumi.output("") }, /monitoringEtcdJob: "" is not a Prometheus job name/],
            [{ prometheusRuleNamespace: pulumi.output("NS") }, /prometheusRuleNamespace: "NS" is not/],
            [
                { backupMaxAgeMinutes: pulumi.output(20) },
                /backupMaxAgeMinutes: 20 is not longer than backupIntervalMinutes \(30\)/,
            ],
            [{ alarmTopicArn: pulumi.output("alarms") }, /alarmTopicArn: "alarms" is not an SNS topic ARN/],
        ] as [Partial<SecureEtcdClusterArgs>, RegExp][]) {
            const { error } = await refusedWhenResolved({ members: THREE_MEMBERS, ...args });
            assert.match(error.message, expected);
        }
    });
});
