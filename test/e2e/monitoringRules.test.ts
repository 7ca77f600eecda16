// The Prometheus rules as rendered, checked by the real promtool: `check rules` on the file and on
// the PrometheusRule's spec, and `test rules` with synthetic series showing each alert fire when it
// should and stay silent otherwise (promtool's clock starts at the epoch, so certificates here
// expire days after 1970-01-01).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { buildCluster, THREE_MEMBERS } from "../harness/cluster";
import { valueOf } from "../../testing/program";
import {
    AlertRule,
    CertificateExpiry,
    ETCD_HEALTH_THRESHOLDS,
    manifestName,
    prometheusRulesYaml,
    PrometheusRulesInput,
    renderPrometheusRule,
    renderPrometheusRules,
    ruleMetricNames,
    RuleFile,
    templateLiteral,
} from "../../src/monitoring/prometheusRules";

const DAY = 86400;
const at = (days: number) => new Date(days * DAY * 1000).toISOString().replace(/\.000Z$/, "Z");

/** A leaf that expires 40 days after promtool's clock starts, and CAs that outlive every test. */
const CERTIFICATES: CertificateExpiry[] = [
    { id: "etcd-ca", commonName: "etcd-ca", issuer: "etcd-ca", notAfter: at(3650) },
    { id: "etcd-peer-ca", commonName: "etcd-peer-ca", issuer: "etcd-peer-ca", notAfter: at(3650) },
    { id: "member/etcd-0/server", commonName: "etcd-0", issuer: "etcd-ca", notAfter: at(40) },
    { id: "client/etcd-backup", commonName: "etcd-backup", issuer: "etcd-ca", notAfter: at(100) },
];

const INPUT: PrometheusRulesInput = {
    cluster: "prod",
    memberCount: 3,
    etcdJob: "etcd",
    apiServerJob: "apiserver",
    certificates: CERTIFICATES,
    certificateExpiryWarningDays: 30,
    certificateExpiryCriticalDays: 7,
    etcdDeniedRequestsThreshold: 0,
    secretReadRateThreshold: 20,
    nodeSyncIntervalMinutes: 5,
    defragmentationIntervalMinutes: 60,
};

const PROMTOOL = "promtool";

interface Ran {
    status: number | null;
    out: string;
}

/** Writes `files` into a fresh directory and runs promtool there. */
function promtool(args: string[], files: Record<string, string>): Ran {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-promtool-"));
    try {
        for (const [name, content] of Object.entries(files)) {
            fs.writeFileSync(path.join(dir, name), content);
        }
        const ran = spawnSync(PROMTOOL, args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
        if (ran.error) {
            throw new Error(
                `cannot run promtool (${ran.error.message}); install it: apt-get install prometheus (Debian ships promtool in it)`,
            );
        }
        return { status: ran.status, out: `${ran.stdout}\n${ran.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function allRules(file: RuleFile): AlertRule[] {
    return file.groups.flatMap((g) => g.rules);
}

/** The rules without annotations: promtool compares annotations too, and the matrix checks labels. */
function withoutAnnotations(file: RuleFile): RuleFile {
    return {
        groups: file.groups.map((g) => ({
            name: g.name,
            rules: g.rules.map((r) => ({ ...r, annotations: undefined as unknown as AlertRule["annotations"] })),
        })),
    };
}

interface Series {
    series: string;
    values: string;
}

interface Expectation {
    at: string;
    /** Labels of each alert expected to fire; [] for silence. */
    alerts: Record<string, string>[];
    annotations?: Record<string, string>[];
}

interface AlertCase {
    alert: string;
    title: string;
    series: Series[];
    expect: Expectation[];
}

const CLUSTER = { etcd_cluster: "prod" };
const inst = (i: number) => `10.0.1.1${i}:2381`;
const etcd = (metric: string, i: number, extra = "") =>
    `${metric}{job="etcd",instance="${inst(i)}"${extra ? `,${extra}` : ""}}`;
const member = (i: number, severity: string) => ({ ...CLUSTER, job: "etcd", instance: inst(i), severity });

/** The metric a node's bootstrap leaves for node_exporter's textfile collector. */
const bootstrapFailures = (cluster: string, memberName: string) =>
    `secure_etcd_node_bootstrap_consecutive_failures{job="node",instance="10.0.1.1${memberName.slice(-1)}:9100",` +
    `etcd_cluster="${cluster}",member="${memberName}"}`;

/** A node-sync metric of a member, as node_exporter's textfile collector exports it. */
const nodeSync = (metric: string, memberName: string, extra = "") =>
    `secure_etcd_node_${metric}{job="node",instance="10.0.1.1${memberName.slice(-1)}:9100",` +
    `etcd_cluster="prod",member="${memberName}"${extra}}`;
/** A maintenance metric of a member, as node_exporter's textfile collector exports it. */
const maintenance = (metric: string, memberName: string) =>
    `secure_etcd_maintenance_${metric}{job="node",instance="10.0.1.1${memberName.slice(-1)}:9100",` +
    `etcd_cluster="prod",member="${memberName}"}`;
const nodeLabels = (memberName: string, severity: string, extra: Record<string, string> = {}) => ({
    ...CLUSTER,
    member: memberName,
    job: "node",
    instance: `10.0.1.1${memberName.slice(-1)}:9100`,
    ...extra,
    severity,
});

/** Histogram buckets with every observation (10 a minute) in the bucket ending at `le`. */
function histogram(metric: string, i: number, les: string[], le: string): Series[] {
    const hit = les.indexOf(le);
    return [...les, "+Inf"].map((b, j) => ({
        series: etcd(metric, i, `le="${b}"`),
        values: j >= hit || b === "+Inf" ? "0+10x30" : "0x30",
    }));
}

/** Each alert, the series that make it fire, and when it must and must not. */
const HEALTH_CASES: AlertCase[] = [
    {
        alert: "EtcdSpaceAlarmNotCleared",
        title: "NOSPACE still raised after the runs for half an hour, one alert for the cluster",
        series: [
            { series: maintenance("space_alarm", "etcd-0"), values: "0x10 1x50" },
            { series: maintenance("space_alarm", "etcd-1"), values: "0x10 1x50" },
            { series: maintenance("space_alarm", "etcd-2"), values: "0x60" },
        ],
        expect: [
            { at: "39m", alerts: [] },
            { at: "41m", alerts: [{ ...CLUSTER, severity: "critical" }] },
        ],
    },
    {
        alert: "EtcdMaintenanceFailing",
        title: "three runs failing in a row; a member with two",
        series: [
            { series: maintenance("consecutive_failures", "etcd-0"), values: "0x5 1x5 2x5 3x10" },
            { series: maintenance("consecutive_failures", "etcd-1"), values: "2x25" },
        ],
        expect: [
            { at: "17m", alerts: [] },
            { at: "19m", alerts: [nodeLabels("etcd-0", "warning")] },
        ],
    },
    {
        alert: "EtcdNodeSyncFailing",
        title: "three runs failing in a row for a quarter of an hour; a member that recovers",
        series: [
            { series: nodeSync("sync_consecutive_failures", "etcd-0"), values: "0x5 1x5 2x5 3x20" },
            { series: nodeSync("sync_consecutive_failures", "etcd-1"), values: "1x10 0x25" },
        ],
        expect: [
            { at: "19m", alerts: [] },
            { at: "21m", alerts: [nodeLabels("etcd-0", "warning")] },
        ],
    },
    {
        alert: "EtcdNodeSyncStalled",
        title: "a member whose last success stays put (a timer that stopped); one that keeps succeeding",
        series: [
            { series: nodeSync("sync_last_success_timestamp_seconds", "etcd-0"), values: "0x45" },
            { series: nodeSync("sync_last_success_timestamp_seconds", "etcd-1"), values: "0+60x45" },
        ],
        expect: [
            { at: "29m", alerts: [] },
            { at: "31m", alerts: [nodeLabels("etcd-0", "warning")] },
        ],
    },
    {
        alert: "EtcdMemberDown",
        title: "one member stops answering the scrape",
        series: [
            { series: etcd("up", 0), values: "1x5 0x15" },
            { series: etcd("up", 1), values: "1x20" },
            { series: etcd("up", 2), values: "1x20" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "8m", alerts: [] },
            { at: "10m", alerts: [member(0, "critical")] },
        ],
    },
    {
        alert: "EtcdNodeBootstrapFailing",
        title: "a node whose boot keeps failing; one that recovers; another cluster's node",
        series: [
            { series: bootstrapFailures("prod", "etcd-0"), values: "0x5 1x5 2x5 3x10" },
            { series: bootstrapFailures("prod", "etcd-1"), values: "1x5 0x20" },
            { series: bootstrapFailures("staging", "etcd-0"), values: "1x25" },
        ],
        expect: [
            { at: "14m", alerts: [] },
            {
                at: "16m",
                alerts: [
                    { ...CLUSTER, member: "etcd-0", job: "node", instance: "10.0.1.10:9100", severity: "warning" },
                ],
            },
        ],
    },
    {
        alert: "EtcdInsufficientMembers",
        title: "one member down keeps quorum; two lose it",
        series: [
            { series: etcd("up", 0), values: "1x5 0x15" },
            { series: etcd("up", 1), values: "1x10 0x10" },
            { series: etcd("up", 2), values: "1x20" },
        ],
        expect: [
            { at: "9m", alerts: [] },
            { at: "12m", alerts: [] },
            { at: "15m", alerts: [{ ...CLUSTER, severity: "critical" }] },
        ],
    },
    {
        alert: "EtcdInsufficientMembers",
        title: "no member scraped at all counts as none up",
        series: [{ series: 'unrelated{job="node"}', values: "1x10" }],
        expect: [{ at: "5m", alerts: [{ ...CLUSTER, severity: "critical" }] }],
    },
    {
        alert: "EtcdMembersMissingFromScrape",
        title: "two of three members are scrape targets",
        series: [
            { series: etcd("up", 0), values: "1x20" },
            { series: etcd("up", 1), values: "1x20" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "11m", alerts: [{ ...CLUSTER, severity: "warning" }] },
        ],
    },
    {
        alert: "EtcdMembersMissingFromScrape",
        title: "every member is a scrape target, one of them down",
        series: [0, 1, 2].map((i) => ({ series: etcd("up", i), values: i === 0 ? "0x20" : "1x20" })),
        expect: [{ at: "15m", alerts: [] }],
    },
    {
        alert: "EtcdNoLeader",
        title: "a member loses its leader",
        series: [
            { series: etcd("etcd_server_has_leader", 0), values: "1x5 0x5" },
            { series: etcd("etcd_server_has_leader", 1), values: "1x10" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "8m", alerts: [member(0, "critical")] },
        ],
    },
    {
        alert: "EtcdFrequentLeaderChanges",
        title: "five elections within a few minutes, then calm",
        series: [
            { series: etcd("etcd_server_leader_changes_seen_total", 0), values: "1x10 2 3 4 5 6x30" },
            { series: etcd("etcd_server_leader_changes_seen_total", 1), values: "1x10 2 3 4 5 6x30" },
        ],
        expect: [
            { at: "9m", alerts: [] },
            { at: "22m", alerts: [{ ...CLUSTER, job: "etcd", severity: "warning" }] },
            { at: "35m", alerts: [] },
        ],
    },
    {
        alert: "EtcdFrequentLeaderChanges",
        title: "two elections are not frequent",
        series: [{ series: etcd("etcd_server_leader_changes_seen_total", 0), values: "1x10 2 3x30" }],
        expect: [{ at: "20m", alerts: [] }],
    },
    {
        alert: "EtcdHighFsyncDurations",
        title: "fast, slow (warning) and very slow (critical) WAL fsyncs",
        series: [
            ...histogram("etcd_disk_wal_fsync_duration_seconds_bucket", 0, ["0.008", "0.8", "2.048"], "0.008"),
            ...histogram("etcd_disk_wal_fsync_duration_seconds_bucket", 1, ["0.008", "0.512", "0.8", "2.048"], "0.8"),
            ...histogram("etcd_disk_wal_fsync_duration_seconds_bucket", 2, ["0.008", "1.024", "2.048"], "2.048"),
        ],
        expect: [
            { at: "8m", alerts: [] },
            {
                at: "15m",
                alerts: [member(1, "warning"), member(2, "warning"), member(2, "critical")],
            },
        ],
    },
    {
        alert: "EtcdHighCommitDurations",
        title: "a fast and a slow backend",
        series: [
            ...histogram("etcd_disk_backend_commit_duration_seconds_bucket", 0, ["0.008", "0.512"], "0.008"),
            ...histogram("etcd_disk_backend_commit_duration_seconds_bucket", 1, ["0.008", "0.256", "0.512"], "0.512"),
        ],
        expect: [
            { at: "8m", alerts: [] },
            { at: "15m", alerts: [member(1, "warning")] },
        ],
    },
    {
        alert: "EtcdDatabaseQuotaLowSpace",
        title: "databases at 50%, 85% and 97% of the quota",
        series: [
            ...[50, 85, 97].map((size, i) => ({
                series: etcd("etcd_mvcc_db_total_size_in_bytes", i),
                values: `${size * 1024 * 1024}x20`,
            })),
            ...[0, 1, 2].map((i) => ({
                series: etcd("etcd_server_quota_backend_bytes", i),
                values: `${100 * 1024 * 1024}x20`,
            })),
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "15m", alerts: [member(1, "warning"), member(2, "warning"), member(2, "critical")] },
        ],
    },
    {
        alert: "EtcdApplyBacklog",
        title: "one member stops applying what is committed",
        series: [
            { series: etcd("etcd_server_proposals_committed_total", 0), values: "1000+100x20" },
            { series: etcd("etcd_server_proposals_applied_total", 0), values: "1000+100x20" },
            { series: etcd("etcd_server_proposals_committed_total", 1), values: "1000+1000x20" },
            { series: etcd("etcd_server_proposals_applied_total", 1), values: "1000x20" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "15m", alerts: [member(1, "warning")] },
        ],
    },
    {
        alert: "EtcdMemberOutOfSync",
        title: "one member's commit index trails by 10000",
        series: [
            { series: etcd("etcd_server_proposals_committed_total", 0), values: "50000+10x20" },
            { series: etcd("etcd_server_proposals_committed_total", 1), values: "49990+10x20" },
            { series: etcd("etcd_server_proposals_committed_total", 2), values: "40000+10x20" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "15m", alerts: [member(2, "warning")] },
        ],
    },
];

const grpc = (i: number, code: string) =>
    etcd(
        "grpc_server_handled_total",
        i,
        `grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range",grpc_code="${code}"`,
    );
const denied = (i: number, code: string) => ({
    ...member(i, "critical"),
    grpc_service: "etcdserverpb.KV",
    grpc_method: "Range",
    grpc_code: code,
});
const secrets = (verb: string, resource = "secrets") =>
    `apiserver_request_total{job="apiserver",resource="${resource}",verb="${verb}",code="200"}`;

const ACCESS_CASES: AlertCase[] = [
    {
        alert: "EtcdRequestsDenied",
        title: "a denied read and an unauthenticated one, among many allowed",
        series: [
            { series: grpc(0, "OK"), values: "0+100x30" },
            { series: grpc(0, "PermissionDenied"), values: "0x10 1x20" },
            { series: grpc(1, "Unauthenticated"), values: "0x10 2x20" },
            { series: grpc(2, "PermissionDenied"), values: "0x30" },
            { series: grpc(2, "InvalidArgument"), values: "0+5x30" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "12m", alerts: [denied(0, "PermissionDenied"), denied(1, "Unauthenticated")] },
            // Ten quiet minutes later the window has moved past them.
            { at: "25m", alerts: [] },
        ],
    },
    {
        alert: "KubeApiServerSecretReadsHigh",
        title: "30 secret lists a second; busy writes and configmap reads do not count",
        series: [
            { series: secrets("LIST"), values: "0+1800x40" },
            { series: secrets("POST"), values: "0+6000x40" },
            { series: secrets("GET", "configmaps"), values: "0+6000x40" },
        ],
        expect: [
            { at: "5m", alerts: [] },
            { at: "25m", alerts: [{ ...CLUSTER, job: "apiserver", severity: "warning" }] },
        ],
    },
    {
        alert: "KubeApiServerSecretReadsHigh",
        title: "10 secret reads a second are normal",
        series: [
            { series: secrets("GET"), values: "0+300x40" },
            { series: secrets("WATCH"), values: "0+300x40" },
        ],
        expect: [{ at: "25m", alerts: [] }],
    },
];

const certAlert = (cert: CertificateExpiry, severity: string) => ({
    ...CLUSTER,
    severity,
    certificate: cert.id,
    common_name: cert.commonName,
    issuer: cert.issuer,
    not_after: cert.notAfter,
});
const leaf = CERTIFICATES[2];

const NODE_CERTIFICATE = { path: "/etc/kubernetes/pki/etcd/server.crt", subject: "etcd-0" };

const CERTIFICATE_CASES: AlertCase[] = [
    {
        alert: "EtcdNodeCertificateExpiring",
        title: "a certificate on a node 40 days from expiry (whatever Pulumi issued since): warning, then critical",
        series: [
            {
                series: nodeSync(
                    "certificate_expiry_timestamp_seconds",
                    "etcd-0",
                    `,path="${NODE_CERTIFICATE.path}",subject="${NODE_CERTIFICATE.subject}"`,
                ),
                values: `${40 * DAY}x1000`,
            },
        ],
        expect: [
            { at: "9d", alerts: [] },
            { at: "11d", alerts: [nodeLabels("etcd-0", "warning", NODE_CERTIFICATE)] },
            {
                at: "34d",
                alerts: [
                    nodeLabels("etcd-0", "warning", NODE_CERTIFICATE),
                    nodeLabels("etcd-0", "critical", NODE_CERTIFICATE),
                ],
            },
        ],
    },
    {
        alert: "EtcdCertificateExpiring",
        title: "a leaf 40 days from expiry: silent, then warning, then critical too, then expired",
        series: [{ series: 'unrelated{job="node"}', values: "1x1000" }],
        expect: [
            { at: "5d", alerts: [] },
            { at: "9d", alerts: [] },
            { at: "11d", alerts: [certAlert(leaf, "warning")] },
            { at: "32d", alerts: [certAlert(leaf, "warning")] },
            { at: "34d", alerts: [certAlert(leaf, "warning"), certAlert(leaf, "critical")] },
            { at: "41d", alerts: [certAlert(leaf, "warning"), certAlert(leaf, "critical")] },
        ],
    },
];

function testFile(ruleFile: string, evaluationInterval: string, cases: AlertCase[]): string {
    return YAML.stringify(
        {
            rule_files: [ruleFile],
            evaluation_interval: evaluationInterval,
            tests: cases.map((c) => ({
                interval: evaluationInterval,
                input_series: c.series,
                alert_rule_test: c.expect.map((e) => ({
                    eval_time: e.at,
                    alertname: c.alert,
                    exp_alerts: e.alerts.map((labels, i) => ({
                        exp_labels: labels,
                        ...(e.annotations ? { exp_annotations: e.annotations[i] } : {}),
                    })),
                })),
            })),
        },
        { lineWidth: 0 },
    );
}

/** Runs `promtool test rules` on the cases against `rules`; asserts every case passed. */
function assertPromtoolTests(rules: RuleFile, evaluationInterval: string, cases: AlertCase[]): void {
    const ran = promtool(["test", "rules", "tests.yaml"], {
        "rules.yaml": prometheusRulesYaml(rules),
        "tests.yaml": testFile("rules.yaml", evaluationInterval, cases),
    });
    assert.equal(ran.status, 0, ran.out);
    assert.doesNotMatch(ran.out, /FAILED/, ran.out);
    assert.match(ran.out, /SUCCESS/, ran.out);
}

describe("monitoring: Prometheus rules", function () {
    this.timeout(120_000);
    const rules = renderPrometheusRules(INPUT);

    it("the component's own rendered rules pass promtool check rules", async () => {
        const { cluster } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const checked = promtool(["check", "rules", "rules.yaml"], {
            "rules.yaml": await valueOf(cluster.prometheusRulesYaml),
        });
        assert.equal(checked.status, 0, checked.out);
    });

    it("pass promtool check rules, as a rule file and as the PrometheusRule's spec", () => {
        const yaml = prometheusRulesYaml(rules);
        const checked = promtool(["check", "rules", "rules.yaml"], { "rules.yaml": yaml });
        assert.equal(checked.status, 0, checked.out);
        assert.match(checked.out, new RegExp(`SUCCESS: ${allRules(rules).length} rules found`), checked.out);
        const manifest = renderPrometheusRule(rules, { cluster: "prod", namespace: "monitoring", labels: {} });
        const spec = promtool(["check", "rules", "spec.yaml"], { "spec.yaml": YAML.stringify(manifest.spec) });
        assert.equal(spec.status, 0, spec.out);
    });

    it("give every rule a summary, a description that says what to do, a severity and the cluster", () => {
        for (const rule of allRules(rules)) {
            assert.ok(rule.annotations.summary.length > 10, rule.alert);
            assert.ok(rule.annotations.description.length > 80, rule.alert);
            assert.match(rule.annotations.description, /\b(check|find|run|bring|add|look|plan|rotate)\b/i, rule.alert);
            assert.ok(["warning", "critical"].includes(rule.labels.severity), rule.alert);
            assert.equal(rule.labels.etcd_cluster, "prod", rule.alert);
        }
    });

    it("cover the health, access and certificate alerts, one expiry pair per certificate", () => {
        assert.deepEqual(
            rules.groups.map((g) => g.name),
            ["secure-etcd.prod.health", "secure-etcd.prod.access", "secure-etcd.prod.certificates"],
        );
        const names = new Set(allRules(rules).map((r) => r.alert));
        assert.deepEqual([...names].sort(), [
            "EtcdApplyBacklog",
            "EtcdCertificateExpiring",
            "EtcdDatabaseQuotaLowSpace",
            "EtcdFrequentLeaderChanges",
            "EtcdHighCommitDurations",
            "EtcdHighFsyncDurations",
            "EtcdInsufficientMembers",
            "EtcdMaintenanceFailing",
            "EtcdMemberDown",
            "EtcdMemberOutOfSync",
            "EtcdMembersMissingFromScrape",
            "EtcdNoLeader",
            "EtcdNodeBootstrapFailing",
            "EtcdNodeCertificateExpiring",
            "EtcdNodeSyncFailing",
            "EtcdNodeSyncStalled",
            "EtcdRequestsDenied",
            "EtcdSpaceAlarmNotCleared",
            "KubeApiServerSecretReadsHigh",
        ]);
        const expiry = rules.groups[2].rules.filter((r) => r.alert === "EtcdCertificateExpiring");
        assert.equal(expiry.length, 2 * CERTIFICATES.length);
        assert.deepEqual(
            expiry.map((r) => `${r.labels.certificate} ${r.labels.severity} ${r.expr}`),
            CERTIFICATES.flatMap((c) => {
                const epoch = Date.parse(c.notAfter) / 1000;
                return [
                    `${c.id} warning (vector(${epoch}) - time()) / 86400 < 30`,
                    `${c.id} critical (vector(${epoch}) - time()) / 86400 < 7`,
                ];
            }),
        );
        // Every alert the renderer produces has a promtool case below.
        const tested = new Set([...HEALTH_CASES, ...ACCESS_CASES, ...CERTIFICATE_CASES].map((c) => c.alert));
        assert.deepEqual([...tested].sort(), [...names].sort());
    });

    it("read only metrics etcd, kube-apiserver and the nodes' bootstrap export, with kube-apiserver's upper-case verbs", () => {
        assert.deepEqual(ruleMetricNames(rules), [
            "apiserver_request_total",
            "etcd_disk_backend_commit_duration_seconds_bucket",
            "etcd_disk_wal_fsync_duration_seconds_bucket",
            "etcd_mvcc_db_total_size_in_bytes",
            "etcd_server_has_leader",
            "etcd_server_leader_changes_seen_total",
            "etcd_server_proposals_applied_total",
            "etcd_server_proposals_committed_total",
            "etcd_server_quota_backend_bytes",
            "grpc_server_handled_total",
            "secure_etcd_maintenance_consecutive_failures",
            "secure_etcd_maintenance_space_alarm",
            "secure_etcd_node_bootstrap_consecutive_failures",
            "secure_etcd_node_certificate_expiry_timestamp_seconds",
            "secure_etcd_node_sync_consecutive_failures",
            "secure_etcd_node_sync_last_success_timestamp_seconds",
            "up",
        ]);
        const secretsRule = allRules(rules).find((r) => r.alert === "KubeApiServerSecretReadsHigh")!;
        assert.match(secretsRule.expr, /verb=~"GET\|LIST\|WATCH"/);
    });

    it("derive quorum and expected targets from the member count", () => {
        const five = allRules(renderPrometheusRules({ ...INPUT, memberCount: 5 }));
        assert.equal(
            five.find((r) => r.alert === "EtcdInsufficientMembers")!.expr,
            '(sum(up{job="etcd"}) or vector(0)) < 3',
        );
        assert.equal(
            five.find((r) => r.alert === "EtcdMembersMissingFromScrape")!.expr,
            '(count(up{job="etcd"}) or vector(0)) < 5',
        );
        assert.match(five.find((r) => r.alert === "EtcdMemberDown")!.annotations.description, /survives 2 member/);
    });

    for (const [title, cases] of [
        ["etcd health", HEALTH_CASES],
        ["unauthorized access", ACCESS_CASES],
    ] as const) {
        it(`promtool test rules: ${title} alerts fire when they should and stay silent otherwise`, () =>
            assertPromtoolTests(withoutAnnotations(rules), "1m", cases));
    }

    it("promtool test rules: each certificate's alert fires at its warning and critical days, not before", () =>
        assertPromtoolTests(withoutAnnotations(rules), "1h", CERTIFICATE_CASES));

    it("promtool test rules: the thresholds given are the thresholds used", () => {
        const tuned = renderPrometheusRules({
            ...INPUT,
            certificateExpiryWarningDays: 20,
            certificateExpiryCriticalDays: 2,
            etcdDeniedRequestsThreshold: 5,
            secretReadRateThreshold: 50,
        });
        assertPromtoolTests(withoutAnnotations(tuned), "1m", [
            {
                alert: "EtcdRequestsDenied",
                title: "3 refusals are under a threshold of 5; 10 are over it",
                series: [
                    { series: grpc(0, "PermissionDenied"), values: "0x10 3x20" },
                    { series: grpc(1, "PermissionDenied"), values: "0x10 10x20" },
                ],
                expect: [{ at: "12m", alerts: [denied(1, "PermissionDenied")] }],
            },
            {
                alert: "KubeApiServerSecretReadsHigh",
                title: "30 reads a second are under a threshold of 50",
                series: [{ series: secrets("LIST"), values: "0+1800x40" }],
                expect: [{ at: "25m", alerts: [] }],
            },
        ]);
        assertPromtoolTests(withoutAnnotations(tuned), "1h", [
            {
                alert: "EtcdCertificateExpiring",
                title: "warning from 20 days, critical from 2",
                series: [{ series: 'unrelated{job="node"}', values: "1x1000" }],
                expect: [
                    { at: "19d", alerts: [] },
                    { at: "21d", alerts: [certAlert(leaf, "warning")] },
                    { at: "38d1h", alerts: [certAlert(leaf, "warning"), certAlert(leaf, "critical")] },
                ],
            },
        ]);
    });

    it("promtool test rules: descriptions expand with the member, the value and the certificate", () => {
        const memberDown = allRules(rules).find((r) => r.alert === "EtcdMemberDown")!.annotations;
        const critical = rules.groups[2].rules.find(
            (r) => r.labels.certificate === leaf.id && r.labels.severity === "critical",
        )!.annotations;
        assertPromtoolTests(rules, "1h", [
            {
                alert: "EtcdMemberDown",
                title: "the member's instance in the text",
                series: [{ series: etcd("up", 0), values: "0x10" }],
                expect: [
                    {
                        at: "5h",
                        alerts: [member(0, "critical")],
                        annotations: [
                            {
                                summary: memberDown.summary.replace("{{ $labels.instance }}", inst(0)),
                                description: memberDown.description.replace("{{ $labels.instance }}", inst(0)),
                            },
                        ],
                    },
                ],
            },
            {
                alert: "EtcdCertificateExpiring",
                title: "the days left in the text",
                series: [{ series: 'unrelated{job="node"}', values: "1x1000" }],
                expect: [
                    {
                        at: "35d",
                        alerts: [certAlert(leaf, "warning"), certAlert(leaf, "critical")],
                        // Same text but the summary's threshold: 5.0 days left.
                        annotations: [
                            {
                                summary: critical.summary.replace("under 7", "under 30"),
                                description: critical.description.replace('{{ $value | printf "%.1f" }}', "5.0"),
                            },
                            {
                                summary: critical.summary,
                                description: critical.description.replace('{{ $value | printf "%.1f" }}', "5.0"),
                            },
                        ],
                    },
                ],
            },
        ]);
    });

    it("promtool test rules: names that look like template code come out as given", () => {
        const odd = { id: "client/odd", commonName: 'we{{ .ird }}"x', issuer: "etcd-ca", notAfter: at(3) };
        const oddRules = renderPrometheusRules({ ...INPUT, cluster: "prod{{ $value }}", certificates: [odd] });
        const description = oddRules.groups[2].rules[0].annotations.description;
        assert.ok(description.includes(templateLiteral(odd.commonName)));
        assertPromtoolTests(withoutAnnotations(oddRules), "1h", [
            {
                alert: "EtcdCertificateExpiring",
                title: "labels expand to the raw names",
                series: [{ series: 'unrelated{job="node"}', values: "1x10" }],
                expect: [
                    {
                        at: "1h",
                        alerts: [
                            { ...certAlert(odd, "warning"), etcd_cluster: "prod{{ $value }}" },
                            { ...certAlert(odd, "critical"), etcd_cluster: "prod{{ $value }}" },
                        ],
                    },
                ],
            },
        ]);
        const checked = promtool(["check", "rules", "rules.yaml"], { "rules.yaml": prometheusRulesYaml(oddRules) });
        assert.equal(checked.status, 0, checked.out);
    });

    it("render a PrometheusRule named after the cluster, with the labels given", () => {
        const manifest = renderPrometheusRule(rules, {
            cluster: "Prod_EU.1",
            namespace: "observability",
            labels: { release: "kube-prometheus-stack" },
        });
        assert.deepEqual(
            { ...manifest, spec: undefined },
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: {
                    name: "secure-etcd-prod-eu.1",
                    namespace: "observability",
                    labels: {
                        "app.kubernetes.io/name": "secure-etcd",
                        "app.kubernetes.io/instance": "secure-etcd-prod-eu.1",
                        release: "kube-prometheus-stack",
                    },
                },
                spec: undefined,
            },
        );
        assert.deepEqual(manifest.spec, rules);
        assert.equal(manifestName("--"), "secure-etcd");
        assert.match(manifestName("x".repeat(300)), /^secure-etcd-x+$/);
        assert.ok(manifestName("x".repeat(300)).length <= 253);
    });

    it("keep the thresholds of the health rules in one table", () => {
        const fsync = allRules(rules).filter((r) => r.alert === "EtcdHighFsyncDurations");
        assert.deepEqual(
            fsync.map((r) => r.expr.split(" > ")[1]),
            [String(ETCD_HEALTH_THRESHOLDS.fsyncWarningSeconds), String(ETCD_HEALTH_THRESHOLDS.fsyncCriticalSeconds)],
        );
    });
});
