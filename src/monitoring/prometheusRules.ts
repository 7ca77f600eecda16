// Prometheus alerting rules for one SecureEtcdCluster: etcd's health, unauthorized access (at etcd
// and at kube-apiserver), and the expiry of every certificate the component issued. Pure: plain data
// in, a rule file out (and a PrometheusRule manifest around it). Every alert carries a summary, a
// description that says what to do, a `severity` and the cluster's name as `etcd_cluster`.
//
// Prometheus expands templates in annotations and in rule labels, and `$labels` there holds the
// series' labels only (not the rule's), so names (cluster, certificate CN) are written into the
// text; `templateLiteral` quotes any that could be read as template code.
import { toYaml } from "../core/yaml";
import { BOOTSTRAP_STATE, BOOTSTRAP_FAILURES_METRIC, BOOTSTRAP_UNIT } from "../nodes/bootstrapUnit";
import { BOOTSTRAP_SCRIPT_PATH } from "../nodes/cloudInit";
import { maintenanceRules } from "./maintenanceRules";
import { nodeCertificateRules, nodeSyncHealthRules } from "./nodeSyncRules";

/** Alertmanager routing: `critical` pages, `warning` goes to a queue. */
export enum AlertSeverity {
    Warning = "warning",
    Critical = "critical",
}

/** What an alert tells the person it pages. */
export interface AlertAnnotations {
    /** One line: what is wrong. */
    summary: string;
    /** What it means and what to do. */
    description: string;
}

/** One Prometheus alerting rule. */
export interface AlertRule {
    /** The alert's name. */
    alert: string;
    /** The PromQL condition. */
    expr: string;
    /** How long the condition must hold before the alert fires; none fires at once. */
    for?: string;
    /** Labels, `severity` among them. */
    labels: Record<string, string>;
    /** Summary and description. */
    annotations: AlertAnnotations;
}

/** A named group of rules, evaluated together. */
export interface RuleGroup {
    /** The group's name. */
    name: string;
    /** Its rules. */
    rules: AlertRule[];
}

/** A Prometheus rule file (`rule_files:`), and the `spec` of a PrometheusRule. */
export interface RuleFile {
    /** The rule groups. */
    groups: RuleGroup[];
}

/** One issued certificate, as the component's `certificates` output lists it. */
export interface CertificateExpiry {
    /** `etcd-ca`, `etcd-peer-ca`, `member/<name>/server`, `member/<name>/peer` or `client/<name>`. */
    id: string;
    commonName: string;
    issuer: string;
    /** RFC 3339. */
    notAfter: string;
}

export interface PrometheusRulesInput {
    /** The component's name: every alert's `etcd_cluster` label. */
    cluster: string;
    /** How many members the cluster has: quorum and the expected scrape targets follow from it. */
    memberCount: number;
    /** The `job` label of the scrape job for the members' metrics listeners. */
    etcdJob: string;
    /** The `job` label of the scrape job for kube-apiserver. */
    apiServerJob: string;
    certificates: CertificateExpiry[];
    certificateExpiryWarningDays: number;
    certificateExpiryCriticalDays: number;
    /** Denied or unauthenticated etcd requests in 10 minutes above which an alert fires. */
    etcdDeniedRequestsThreshold: number;
    /** Secret reads per second at kube-apiserver (10-minute average) above which an alert fires. */
    secretReadRateThreshold: number;
    /** Minutes between node-sync runs; undefined when node sync is off. */
    nodeSyncIntervalMinutes?: number;
    /** Minutes between maintenance runs; undefined when defragmentation is off. */
    defragmentationIntervalMinutes?: number;
}

/**
 * Thresholds of the etcd health rules, from the upstream etcd mixin and etcd's own limits, as a
 * table so a review sees them together.
 */
export const ETCD_HEALTH_THRESHOLDS = {
    /** Leader elections within 15 minutes. */
    leaderChanges: 4,
    /** 99th percentile WAL fsync, seconds: etcd's own guidance is under 10 ms on a healthy disk. */
    fsyncWarningSeconds: 0.5,
    fsyncCriticalSeconds: 1,
    /** 99th percentile backend commit, seconds. */
    commitWarningSeconds: 0.25,
    /** Percent of `--quota-backend-bytes`: at 100 % etcd raises NOSPACE and refuses every write. */
    databaseWarningPercent: 80,
    databaseCriticalPercent: 95,
    /**
     * Committed but not applied entries: etcd refuses new proposals ("too many requests") once the
     * gap passes 5000, so half of that is the warning.
     */
    applyBacklog: 2500,
    /** Entries a member's commit index trails the most advanced member's by. */
    commitLag: 5000,
} as const;

/** A PromQL string literal: Go's escapes, which JSON's are a subset of. */
export function promString(value: string): string {
    return JSON.stringify(value);
}

/** The epoch second of an RFC 3339 time. */
export function epochSeconds(rfc3339: string): number {
    const ms = Date.parse(rfc3339);
    if (Number.isNaN(ms)) {
        throw new Error(`certificate expiry ${JSON.stringify(rfc3339)} is not an RFC 3339 time`);
    }
    return Math.floor(ms / 1000);
}

const SECONDS_PER_DAY = 86400;

/**
 * Text that expands to itself in a Go template: plain when it holds nothing a template would read,
 * otherwise a quoted string action (Go string literals take JSON's escapes).
 */
export function templateLiteral(value: string): string {
    return /^[A-Za-z0-9 ._:/@=+,()-]*$/.test(value) ? value : `{{ ${JSON.stringify(value)} }}`;
}

/** Whole days as they are, fractions (short-lived certificates) to two places. */
function readableDays(days: number): string {
    return Number.isInteger(days) ? String(days) : String(Number(days.toFixed(2)));
}

function isCa(cert: CertificateExpiry): boolean {
    return cert.id === cert.issuer && !cert.id.includes("/");
}

// eslint-disable-next-line max-lines-per-function -- a table of alert rules, one entry per alert
function etcdHealthRules(input: PrometheusRulesInput, labels: Record<string, string>): AlertRule[] {
    const cluster = templateLiteral(input.cluster);
    const job = `job=${promString(input.etcdJob)}`;
    const n = input.memberCount;
    const quorum = Math.floor(n / 2) + 1;
    const t = ETCD_HEALTH_THRESHOLDS;
    const rule = (
        alert: string,
        severity: AlertSeverity,
        expr: string,
        forDuration: string | undefined,
        summary: string,
        description: string,
    ): AlertRule => ({
        alert,
        expr,
        ...(forDuration ? { for: forDuration } : {}),
        labels: { ...labels, severity },
        annotations: { summary, description },
    });
    const histogram = (metric: string) =>
        `histogram_quantile(0.99, sum by (job, instance, le) (rate(${metric}{${job}}[5m])))`;
    const dbPercent = `100 * etcd_mvcc_db_total_size_in_bytes{${job}} / etcd_server_quota_backend_bytes{${job}}`;
    const fsync = (severity: AlertSeverity, seconds: number) =>
        rule(
            "EtcdHighFsyncDurations",
            severity,
            `${histogram("etcd_disk_wal_fsync_duration_seconds_bucket")} > ${seconds}`,
            "10m",
            "etcd member {{ $labels.instance }} writes its WAL slowly",
            `The 99th percentile WAL fsync on {{ $labels.instance }} of etcd cluster ${cluster} is {{ $value | humanizeDuration }} (over ${seconds}s for 10 minutes). ` +
                "Slow fsyncs delay every write and heartbeats, and lead to leader elections. Check the volume under " +
                "/var/lib/etcd (an SSD-backed, provisioned-IOPS volume of its own; burst credits on gp2), noisy " +
                "neighbours on the node, and that nothing else writes to it.",
        );
    const dbQuota = (severity: AlertSeverity, percent: number) =>
        rule(
            "EtcdDatabaseQuotaLowSpace",
            severity,
            `${dbPercent} > ${percent}`,
            "10m",
            "etcd's database is close to its quota",
            `The database of {{ $labels.instance }} (etcd cluster ${cluster}) uses {{ $value | humanize }}% of --quota-backend-bytes. ` +
                "At 100% etcd raises the NOSPACE alarm and refuses every write, and kube-apiserver fails. Find what grows " +
                "(`etcdctl get / --prefix --keys-only | cut -d/ -f3 | sort | uniq -c`, e.g. events or leaked objects), " +
                "and delete it or raise quotaBackendBytes. Defragmenting frees only free pages: the maintenance timer " +
                "(defragmentation) does it when worth it, followers first and the leader last; see docs/maintenance.md.",
        );
    return [
        rule(
            "EtcdMemberDown",
            AlertSeverity.Critical,
            `up{${job}} == 0`,
            "3m",
            "etcd member {{ $labels.instance }} is down",
            `Prometheus has not scraped etcd member {{ $labels.instance }} of cluster ${cluster} for 3 minutes. ` +
                `With ${n} members the cluster survives ${n - quorum} member(s) down. Check the node and its etcd ` +
                "static pod (`crictl ps -a --name etcd`, `journalctl -u kubelet`), then that the scraper still reaches " +
                "the metrics port 2381 (metricsSecurityGroupIds, hostFirewallMetricsCidrs).",
        ),
        rule(
            "EtcdNodeBootstrapFailing",
            AlertSeverity.Warning,
            // The node's own metric (node_exporter's textfile collector), labelled with the cluster.
            `${BOOTSTRAP_FAILURES_METRIC}{etcd_cluster=${promString(input.cluster)}} > 0`,
            "10m",
            "etcd member {{ $labels.member }} cannot fetch its files",
            `The boot of member {{ $labels.member }} ({{ $labels.instance }}) of etcd cluster ${cluster} has failed ` +
                "{{ $value }} run(s) in a row; it keeps trying every minute and starts etcd only once every file is written. " +
                `Check \`journalctl -u ${BOOTSTRAP_UNIT}\`: it names the failing call. Usual causes: the instance role lacks the ` +
                "member's policy (memberInstancePolicies), the key policy does not name the role (memberRoleNames), " +
                "Secrets Manager or KMS is unreachable (VPC endpoints, proxy), or the node agent's download or checksum fails. " +
                `State: ${BOOTSTRAP_STATE.statePath} on the node.`,
        ),
        rule(
            "EtcdInsufficientMembers",
            AlertSeverity.Critical,
            `(sum(up{${job}}) or vector(0)) < ${quorum}`,
            "3m",
            "etcd has lost quorum",
            `Only {{ $value }} of the ${n} members of etcd cluster ${cluster} answer Prometheus; quorum needs ${quorum}. ` +
                "Without quorum etcd refuses writes and linearizable reads, so kube-apiserver fails. Bring members back " +
                "(start the stopped ones first, never re-create data dirs); if a majority is lost for good, restore from " +
                "the latest backup (`secure-etcd restore-verify`, then the restore runbook).",
        ),
        rule(
            "EtcdMembersMissingFromScrape",
            AlertSeverity.Warning,
            `(count(up{${job}}) or vector(0)) < ${n}`,
            "10m",
            "Prometheus scrapes fewer etcd members than the cluster has",
            `Prometheus has scrape targets for {{ $value }} of the ${n} members of etcd cluster ${cluster}, ` +
                "so the member alerts cannot see the others. Add every member's metrics URL (http://<member>:2381/metrics) " +
                "to the scrape job, and check the job's name matches the one these rules were rendered for.",
        ),
        rule(
            "EtcdNoLeader",
            AlertSeverity.Critical,
            `etcd_server_has_leader{${job}} == 0`,
            "1m",
            "etcd member {{ $labels.instance }} has no leader",
            `Member {{ $labels.instance }} of etcd cluster ${cluster} has seen no leader for a minute, ` +
                "so it serves no writes. If every member says so the cluster has lost quorum; if one does, it is cut off " +
                "from its peers: check port 2380 between the members (security group, host firewall) and their peer certificates.",
        ),
        rule(
            "EtcdFrequentLeaderChanges",
            AlertSeverity.Warning,
            `max by (job) (increase(etcd_server_leader_changes_seen_total{${job}}[15m])) >= ${t.leaderChanges}`,
            "5m",
            "etcd elects leaders too often",
            `etcd cluster ${cluster} saw {{ $value | humanize }} leader changes in 15 minutes. ` +
                "Each election stalls writes. Check the usual causes: slow disks (EtcdHighFsyncDurations), CPU starvation " +
                "of the etcd process (its node's load), and packet loss or latency between members.",
        ),
        fsync(AlertSeverity.Warning, t.fsyncWarningSeconds),
        fsync(AlertSeverity.Critical, t.fsyncCriticalSeconds),
        rule(
            "EtcdHighCommitDurations",
            AlertSeverity.Warning,
            `${histogram("etcd_disk_backend_commit_duration_seconds_bucket")} > ${t.commitWarningSeconds}`,
            "10m",
            "etcd member {{ $labels.instance }} commits to its database slowly",
            `The 99th percentile backend commit on {{ $labels.instance }} of etcd cluster ${cluster} is {{ $value | humanizeDuration }} (over ${t.commitWarningSeconds}s for 10 minutes). ` +
                "Check the disk under /var/lib/etcd as for slow fsyncs, and the database size (a fragmented database commits slowly: defragment).",
        ),
        dbQuota(AlertSeverity.Warning, t.databaseWarningPercent),
        dbQuota(AlertSeverity.Critical, t.databaseCriticalPercent),
        rule(
            "EtcdApplyBacklog",
            AlertSeverity.Warning,
            `etcd_server_proposals_committed_total{${job}} - etcd_server_proposals_applied_total{${job}} > ${t.applyBacklog}`,
            "10m",
            "etcd member {{ $labels.instance }} applies committed entries too slowly",
            `{{ $value | humanize }} entries are committed but not applied on {{ $labels.instance }} (etcd cluster ${cluster}). ` +
                "At 5000 etcd refuses new requests. Look for expensive requests (large ranges, many watchers) and a slow disk on that member.",
        ),
        rule(
            "EtcdMemberOutOfSync",
            AlertSeverity.Warning,
            `max by (job) (etcd_server_proposals_committed_total{${job}}) - on (job) group_right () etcd_server_proposals_committed_total{${job}} > ${t.commitLag}`,
            "10m",
            "etcd member {{ $labels.instance }} is behind the others",
            `The commit index of {{ $labels.instance }} trails the most advanced member of etcd cluster ${cluster} ` +
                "by {{ $value | humanize }} entries for 10 minutes: it is cut off from the leader or cannot keep up. Check its " +
                "peer connectivity (port 2380) and disk; if it does not catch up, remove and re-add it as a new member.",
        ),
    ];
}

function accessRules(input: PrometheusRulesInput, labels: Record<string, string>): AlertRule[] {
    const cluster = templateLiteral(input.cluster);
    const etcdJob = `job=${promString(input.etcdJob)}`;
    const apiJob = `job=${promString(input.apiServerJob)}`;
    return [
        {
            // Only a client whose certificate chains to the etcd CA gets as far as gRPC: everyone else
            // is refused in the TLS handshake. Every built-in client has exactly the permissions it
            // uses, so a refusal here is a misconfigured client or a stolen certificate probing.
            alert: "EtcdRequestsDenied",
            expr:
                `sum by (job, instance, grpc_service, grpc_method, grpc_code) (increase(grpc_server_handled_total{${etcdJob}, grpc_code=~"PermissionDenied|Unauthenticated"}[10m])) ` +
                `> ${input.etcdDeniedRequestsThreshold}`,
            labels: { ...labels, severity: AlertSeverity.Critical },
            annotations: {
                summary: "etcd refused requests from a client holding an etcd certificate",
                description:
                    "{{ $labels.instance }} answered {{ $value | humanize }} {{ $labels.grpc_method }} request(s) with {{ $labels.grpc_code }} in 10 minutes " +
                    `(etcd cluster ${cluster}). Only clients with a certificate from this cluster's etcd CA reach this point, and every ` +
                    "built-in client holds exactly the permissions it uses. Find the client: a certificate whose CN is no user is logged by the member " +
                    '("cannot find a user for permission check", with the name); otherwise check which clients reach this member and their roles. ' +
                    "If no known client explains it, treat that certificate as compromised: rotate the etcd CA and every client certificate.",
            },
        },
        {
            // kube-apiserver reports verbs upper-case. Refused requests are not counted here: they
            // are rejected by filters that run before apiserver_request_total is recorded
            // (kubernetes#86063), so denials need the audit log.
            alert: "KubeApiServerSecretReadsHigh",
            expr:
                `sum by (job) (rate(apiserver_request_total{${apiJob}, resource="secrets", verb=~"GET|LIST|WATCH"}[10m])) ` +
                `> ${input.secretReadRateThreshold}`,
            for: "10m",
            labels: { ...labels, severity: AlertSeverity.Warning },
            annotations: {
                summary: "Secrets are read at an unusual rate",
                description:
                    `kube-apiserver serves {{ $value | humanize }} secret reads per second (get, list, watch; 10-minute average), above the ${input.secretReadRateThreshold}/s this cluster expects. ` +
                    "Bulk secret reads are how a stolen token is turned into more credentials. Find the client in the audit log " +
                    "(objectRef.resource=secrets, by user.username and userAgent); if it is legitimate, raise secretReadRateThreshold, " +
                    'otherwise revoke its credentials. Normal rate: `sum(rate(apiserver_request_total{resource="secrets", verb=~"GET|LIST|WATCH"}[1d]))`.',
            },
        },
    ];
}

/**
 * etcd exports no certificate expiry, but the component knows each certificate's notAfter, so each
 * certificate gets a rule that compares `time()` with it. This needs nothing beyond Prometheus
 * itself and works for certificates no endpoint serves (clients, the peer CA). The rules change
 * when a certificate is re-issued, so deploy them from the same `pulumi up` that renews. What it
 * cannot see is a node still serving an old certificate: `secure-etcd verify` (or a blackbox
 * exporter's `probe_ssl_earliest_cert_expiry`) checks what is actually served.
 */
function certificateRules(input: PrometheusRulesInput, labels: Record<string, string>): AlertRule[] {
    const cluster = templateLiteral(input.cluster);
    const thresholds: [AlertSeverity, number][] = [
        [AlertSeverity.Warning, input.certificateExpiryWarningDays],
        [AlertSeverity.Critical, input.certificateExpiryCriticalDays],
    ];
    return input.certificates.flatMap((cert) => {
        const notAfter = epochSeconds(cert.notAfter);
        const fix = isCa(cert)
            ? "CAs are not renewed automatically: plan a CA rotation now (a new CA beside the old in every trust bundle, re-issue every certificate, then drop the old CA)."
            : "Run `pulumi up`: certificates within certificateRenewalHours of expiry are re-issued with the same key, and node sync delivers them to every member within nodeSyncIntervalMinutes (etcd serves them on new connections, no restart; with node sync off, re-run " +
              BOOTSTRAP_SCRIPT_PATH +
              " on each node). kube-apiserver needs a restart for its client certificate. See the certificate renewal runbook in secure-etcd's docs/runbooks.md.";
        return thresholds.map(([severity, days]): AlertRule => ({
            alert: "EtcdCertificateExpiring",
            // vector(): a time comparison has no series to select; the value is the days left.
            expr: `(vector(${notAfter}) - time()) / ${SECONDS_PER_DAY} < ${days}`,
            labels: {
                ...labels,
                severity,
                certificate: templateLiteral(cert.id),
                common_name: templateLiteral(cert.commonName),
                issuer: templateLiteral(cert.issuer),
                not_after: templateLiteral(cert.notAfter),
            },
            annotations: {
                summary: `etcd certificate ${templateLiteral(cert.id)} expires in under ${readableDays(days)} days`,
                description:
                    `Certificate ${templateLiteral(cert.id)} (CN ${templateLiteral(cert.commonName)}, issued by ${templateLiteral(cert.issuer)}) of etcd cluster ${cluster} ` +
                    `expires at ${templateLiteral(cert.notAfter)}: {{ $value | printf "%.1f" }} days left (negative: expired). ${fix}`,
            },
        }));
    });
}

/** The rule file: three groups, health, access and certificates. */
export function renderPrometheusRules(input: PrometheusRulesInput): RuleFile {
    const labels = { etcd_cluster: templateLiteral(input.cluster) };
    const cluster = templateLiteral(input.cluster);
    // The nodes' own metrics carry the cluster's name as a label (node_exporter's textfile collector).
    const node = `etcd_cluster=${promString(input.cluster)}`;
    const group = (suffix: string, rules: AlertRule[]): RuleGroup => ({
        name: `secure-etcd.${input.cluster}.${suffix}`,
        rules,
    });
    return {
        groups: [
            group("health", [
                ...etcdHealthRules(input, labels),
                ...nodeSyncHealthRules(input, labels, cluster, node),
                ...maintenanceRules(input, labels, cluster, node),
            ]),
            group("access", accessRules(input, labels)),
            group("certificates", [
                ...certificateRules(input, labels),
                ...nodeCertificateRules(input, labels, cluster, node),
            ]),
        ],
    };
}

export function prometheusRulesYaml(rules: RuleFile): string {
    return toYaml(rules, { lineWidth: 0 });
}

/** Every metric the rules read (the certificate rules read none). */
export function ruleMetricNames(rules: RuleFile): string[] {
    const names = new Set<string>();
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
        for (const m of rule.expr.matchAll(/\b([a-z_][a-z0-9_]*)\{/g)) {
            names.add(m[1]);
        }
    }
    return [...names].sort();
}

/** A Prometheus Operator `PrometheusRule` (monitoring.coreos.com/v1). */
/** A Kubernetes object's name, namespace and labels. */
export interface ManifestMetadata {
    /** The object's name. */
    name: string;
    /** The namespace the Prometheus Operator watches for rules. */
    namespace: string;
    /** Labels the Prometheus's `ruleSelector` selects on. */
    labels: Record<string, string>;
}

export interface PrometheusRuleManifest {
    /** `monitoring.coreos.com/v1` (plain strings: kubernetes-models has no Prometheus Operator types). */
    apiVersion: string;
    /** `PrometheusRule`. */
    kind: string;
    /** Name, namespace and labels. */
    metadata: ManifestMetadata;
    /** The rule groups. */
    spec: RuleFile;
}

/** A DNS-1123 subdomain from a component name: lower case, other characters as `-`. */
export function manifestName(cluster: string): string {
    const cleaned = cluster
        .toLowerCase()
        .replace(/[^a-z0-9.-]+/g, "-")
        .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
    return `secure-etcd-${cleaned}`
        .replace(/-$/, "")
        .slice(0, 253)
        .replace(/[^a-z0-9]+$/, "");
}

export function renderPrometheusRule(
    rules: RuleFile,
    options: { cluster: string; namespace: string; labels: Record<string, string> },
): PrometheusRuleManifest {
    const name = manifestName(options.cluster);
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
            name,
            namespace: options.namespace,
            labels: {
                "app.kubernetes.io/name": "secure-etcd",
                "app.kubernetes.io/instance": name.slice(0, 63).replace(/[^a-z0-9]+$/, ""),
                ...options.labels,
            },
        },
        spec: rules,
    };
}
