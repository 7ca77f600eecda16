// `secure-etcd verify` (the one-file artifact members install, run alone) against the conformance suite's real cluster: before auth is
// enabled it must fail on exactly that; after the RBAC bootstrap every check passes; a CA that did
// not issue the members' certificates, a --warn-days beyond their validity and a member left out
// each fail. Then the monitoring rules meet the same etcd: every etcd metric they read is exported,
// a refused client moves the counter EtcdRequestsDenied reads (and verify itself does not).
import { strict as assert } from "assert";
import { execFile, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Etcd3 } from "etcd3";
import { LocalEtcdCluster, LocalMember } from "../../testing/etcdCluster";
import { issueLeaf, newCa } from "../../agent/issue";
import { prometheusRulesYaml, renderPrometheusRules, ruleMetricNames } from "../../src/monitoring/prometheusRules";
import { renderBootstrapScript } from "../../src/rbac/bootstrapScript";
import { resolveRbac } from "../../src/rbac/roles";
import { CheckResult, CheckStatus, VerifyReport } from "../../agent/verify/verify";
import { isolatedAgent } from "../harness/agentBundle";
import { startNetnsCluster } from "./localCluster";

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

function run(file: string, args: string[]): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(file, args, { encoding: "utf8", timeout: 120_000 }, (error, stdout, stderr) =>
            resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
        );
    });
}

/** The series of one metric in a Prometheus text exposition, with their labels. */
function samples(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
    const found: { labels: Record<string, string>; value: number }[] = [];
    for (const line of text.split("\n")) {
        const m = new RegExp(`^${metric}(?:\\{(.*)\\})? (\\S+)$`).exec(line);
        if (m) {
            const labels = Object.fromEntries([...(m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
            found.push({ labels, value: Number(m[2]) });
        }
    }
    return found;
}

describe("verify: secure-etcd verify on a real three-member cluster", function () {
    this.timeout(180_000);
    let cluster: LocalEtcdCluster;
    let dir: string;
    let endpoints: string[];
    let agent: string;
    const file = (name: string) => path.join(dir, name);

    const verify = (extra: string[], creds = "healthcheck", endpointList = endpoints) =>
        run(agent, [
            "verify",
            `--endpoints=${endpointList.join(",")}`,
            `--cacert=${file("ca.crt")}`,
            `--cert=${file(`${creds}.crt`)}`,
            `--key=${file(`${creds}.key`)}`,
            ...extra,
        ]);

    async function verifyJson(extra: string[] = [], endpointList = endpoints): Promise<Ran & { report: VerifyReport }> {
        const ran = await verify(["--json", ...extra], "healthcheck", endpointList);
        assert.equal(ran.stderr, "");
        return { ...ran, report: JSON.parse(ran.stdout) as VerifyReport };
    }

    const byCheck = (report: VerifyReport, check: string) => report.checks.filter((c) => c.check === check);
    const failed = (report: VerifyReport) => report.checks.filter((c) => c.status === CheckStatus.Fail);
    const show = (checks: CheckResult[]) => checks.map((c) => `${c.check} ${c.target}: ${c.detail}`).join("\n");

    async function metrics(m: LocalMember): Promise<string> {
        const text = await cluster.metricsGet(m, "/metrics");
        assert.match(text, /etcd_server_has_leader/, `${m.name} metrics`);
        return text;
    }

    /** The refusal counters EtcdRequestsDenied reads, summed per member. */
    async function refusals(): Promise<number[]> {
        return Promise.all(
            cluster.members.map(async (m) =>
                samples(await metrics(m), "grpc_server_handled_total")
                    .filter((s) => /^(PermissionDenied|Unauthenticated)$/.test(s.labels.grpc_code))
                    .reduce((sum, s) => sum + s.value, 0),
            ),
        );
    }

    before(async () => {
        cluster = await startNetnsCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-verify-e2e-"));
        agent = isolatedAgent(dir);
        endpoints = cluster.members.map((m) => `https://${m.ip}:2379`);
        const creds = cluster.rendered.clientCredentials;
        fs.writeFileSync(file("ca.crt"), creds["etcd-backup"].caCertPem);
        for (const [name, client] of [
            ["healthcheck", "kube-etcd-healthcheck-client"],
            ["backup", "etcd-backup"],
        ]) {
            fs.writeFileSync(file(`${name}.crt`), creds[client].certPem);
            fs.writeFileSync(file(`${name}.key`), creds[client].keyPem, { mode: 0o600 });
        }
        fs.writeFileSync(file("other-ca.crt"), (await newCa("etcd-ca")).certPem);
    });

    after(async () => {
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("before auth is enabled: fails on exactly that, every TLS check passing", async () => {
        const { code, report } = await verifyJson();
        assert.equal(code, 1);
        assert.equal(report.ok, false);
        assert.deepEqual(
            failed(report).map((c) => c.check),
            ["auth enabled"],
            show(failed(report)),
        );
        assert.match(
            failed(report)[0].detail,
            /auth is not enabled: every certificate from the etcd CA can read and write/,
        );
        assert.deepEqual(
            report.checks.filter((c) => c.status === CheckStatus.Skip),
            [],
            "TLS 1.0/1.1 can be offered from here",
        );
    });

    it("after the RBAC bootstrap: every check passes, shown as a table, exit 0", async () => {
        const password = file("root-password");
        fs.writeFileSync(file("rbac.py"), renderBootstrapScript(resolveRbac({})));
        fs.writeFileSync(password, crypto.randomBytes(18).toString("base64"), { mode: 0o600 });
        const bootstrap = await run("python3", [
            file("rbac.py"),
            `--endpoints=${endpoints[0]}`,
            `--cacert=${file("ca.crt")}`,
            `--cert=${file("backup.crt")}`,
            `--key=${file("backup.key")}`,
            "--root-password-file",
            password,
        ]);
        assert.equal(bootstrap.code, 0, bootstrap.stderr);

        const ran = await verify([]);
        assert.equal(ran.code, 0, ran.stdout + ran.stderr);
        const lines = ran.stdout.trimEnd().split("\n");
        assert.match(lines[0], /^CHECK\s+TARGET\s+RESULT\s+DETAIL$/);
        // CA and client certificate, six checks per member, auth and coverage.
        const rows = lines.slice(1, -2);
        assert.equal(rows.length, 2 + 6 * 3 + 2, ran.stdout);
        assert.ok(
            rows.every((r) => / PASS /.test(r)),
            ran.stdout,
        );
        assert.equal(lines[lines.length - 1], "22 passed, 0 failed: OK");

        const { report } = await verifyJson();
        assert.equal(report.ok, true);
        for (const [i, check] of byCheck(report, "server certificate").entries()) {
            assert.equal(check.target, endpoints[i]);
            assert.match(
                check.detail,
                new RegExp(
                    `^CN etcd-${i}, chains to "etcd-ca", 36[45] days left .*SAN matches ${cluster.members[i].ip}$`,
                ),
            );
        }
        for (const check of byCheck(report, "TLS version")) {
            assert.match(check.detail, /^TLSv1\.[23] \(TLS_/);
        }
        for (const check of [
            ...byCheck(report, "TLS 1.0/1.1 refused"),
            ...byCheck(report, "no-certificate client refused"),
        ]) {
            assert.match(check.detail, /refused|closed|alert/, check.detail);
        }
        assert.equal(byCheck(report, "plaintext refused").length, 3);
        assert.match(byCheck(report, "auth enabled")[0].detail, /an unknown user is refused/);
        assert.equal(
            byCheck(report, "every member checked")[0].detail,
            "3 members, each answered at one of the endpoints",
        );
        assert.match(
            byCheck(report, "client certificate")[0].detail,
            /^CN kube-etcd-healthcheck-client: 36[45] days left/,
        );
    });

    it("a CA that did not issue the members' certificates: each chain fails, the refusals still hold", async () => {
        const ran = await run(agent, [
            "verify",
            `--endpoints=${endpoints.join(",")}`,
            `--cacert=${file("other-ca.crt")}`,
            `--cert=${file("healthcheck.crt")}`,
            `--key=${file("healthcheck.key")}`,
            // The stand-in CA lives a day.
            "--warn-days=0",
            "--json",
        ]);
        assert.equal(ran.code, 1);
        const report = JSON.parse(ran.stdout) as VerifyReport;
        assert.deepEqual(
            failed(report).map((c) => `${c.check} ${c.target}`),
            ["client certificate " + file("healthcheck.crt"), ...endpoints.map((e) => `server certificate ${e}`)],
            show(failed(report)),
        );
        for (const check of byCheck(report, "server certificate")) {
            assert.match(check.detail, /issued by "CN=etcd-ca", which does not chain to the given CA/);
        }
        assert.match(byCheck(report, "client certificate")[0].detail, /not issued by the given CA/);
    });

    it("--warn-days beyond the members' validity: every leaf fails, the CA passes", async () => {
        const { code, report } = await verifyJson(["--warn-days=400"]);
        assert.equal(code, 1);
        assert.deepEqual(
            failed(report).map((c) => c.check),
            ["client certificate", "server certificate", "server certificate", "server certificate"],
        );
        for (const check of failed(report)) {
            assert.match(check.detail, /36[45] days left \(until \d{4}-\d\d-\d\d\), within --warn-days 400/);
        }
        assert.equal(byCheck(report, "CA certificate")[0].status, CheckStatus.Pass);
    });

    it("a member left out of --endpoints is named", async () => {
        const { code, report } = await verifyJson([], endpoints.slice(0, 2));
        assert.equal(code, 1);
        const coverage = byCheck(report, "every member checked")[0];
        assert.equal(coverage.status, CheckStatus.Fail);
        assert.equal(coverage.detail, `not among --endpoints: etcd-2 (${endpoints[2]})`);
    });

    it("refuses usage errors with exit 2 before connecting", async () => {
        const ran = await verify([], "healthcheck", ["http://10.0.0.1:2379"]);
        assert.equal(ran.code, 2);
        assert.match(ran.stderr, /--endpoints: http:\/\/10\.0\.0\.1:2379 is not https:\/\/<host>:<port>/);
        const days = await verify(["--warn-days=soon"]);
        assert.equal(days.code, 2);
        assert.match(days.stderr, /--warn-days must be a whole number/);
    });

    it("monitoring: every etcd metric the rules read is exported by this etcd", async () => {
        const rules = renderPrometheusRules({
            cluster: "e2e",
            memberCount: 3,
            etcdJob: "etcd",
            apiServerJob: "apiserver",
            certificates: [],
            certificateExpiryWarningDays: 30,
            certificateExpiryCriticalDays: 7,
            etcdDeniedRequestsThreshold: 0,
            secretReadRateThreshold: 20,
        });
        const text = await metrics(cluster.members[0]);
        // up is Prometheus's own, the rest kube-apiserver's and the node bootstrap's (node_exporter).
        const etcdMetrics = ruleMetricNames(rules).filter(
            (m) => m !== "up" && !m.startsWith("apiserver_") && !m.startsWith("secure_etcd_node_"),
        );
        for (const metric of etcdMetrics) {
            assert.ok(samples(text, metric).length > 0, `${metric} is not exported`);
        }
        // Pre-initialized at 0 for every method, so the first refusal is an increase.
        const range = samples(text, "grpc_server_handled_total").filter(
            (s) => s.labels.grpc_method === "Range" && s.labels.grpc_code === "PermissionDenied",
        );
        assert.deepEqual(
            range.map((s) => s.value),
            [0],
        );
    });

    it("monitoring: a refused client moves the counter EtcdRequestsDenied fires on; verify does not", async () => {
        const before = await refusals();
        const verified = await verify([]);
        assert.equal(verified.code, 0, verified.stdout);
        assert.deepEqual(await refusals(), before, "verify's probes are not refusals an alert would page on");

        const m0 = cluster.members[0];
        const countOf = async () =>
            samples(await metrics(m0), "grpc_server_handled_total").find(
                (s) => s.labels.grpc_method === "Range" && s.labels.grpc_code === "PermissionDenied",
            )!;
        const start = (await countOf()).value;
        const intruder = await issueLeaf({ ca: cluster.rendered.etcdCa, commonName: "intruder" });
        const client = new Etcd3({
            hosts: [endpoints[0]],
            credentials: {
                rootCertificate: fs.readFileSync(file("ca.crt")),
                certChain: Buffer.from(intruder.certPem),
                privateKey: Buffer.from(intruder.keyPem),
            },
        });
        try {
            await assert.rejects(client.get("/registry/secrets/kube-system/x").string(), /permission denied/);
        } finally {
            client.close();
        }
        const after = await countOf();
        assert.equal(after.value, start + 1);

        // The rule, on these very values: silent before, firing after.
        const rules = renderPrometheusRules({
            cluster: "e2e",
            memberCount: 3,
            etcdJob: "etcd",
            apiServerJob: "apiserver",
            certificates: [],
            certificateExpiryWarningDays: 30,
            certificateExpiryCriticalDays: 7,
            etcdDeniedRequestsThreshold: 0,
            secretReadRateThreshold: 20,
        });
        const labels: Record<string, string> = { ...after.labels, job: "etcd", instance: `${m0.ip}:2381` };
        const series = `grpc_server_handled_total{${Object.entries(labels)
            .map(([k, v]) => `${k}="${v}"`)
            .join(",")}}`;
        const promDir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-promtool-"));
        try {
            fs.writeFileSync(path.join(promDir, "rules.yaml"), prometheusRulesYaml(rules));
            fs.writeFileSync(
                path.join(promDir, "tests.yaml"),
                YAML.stringify({
                    rule_files: ["rules.yaml"],
                    evaluation_interval: "1m",
                    tests: [
                        {
                            interval: "1m",
                            input_series: [{ series, values: `${start}x10 ${after.value}x10` }],
                            alert_rule_test: [
                                { eval_time: "9m", alertname: "EtcdRequestsDenied", exp_alerts: [] },
                                {
                                    eval_time: "12m",
                                    alertname: "EtcdRequestsDenied",
                                    exp_alerts: [
                                        {
                                            exp_labels: {
                                                etcd_cluster: "e2e",
                                                severity: "critical",
                                                job: "etcd",
                                                instance: labels.instance,
                                                grpc_service: labels.grpc_service,
                                                grpc_method: "Range",
                                                grpc_code: "PermissionDenied",
                                            },
                                            exp_annotations: {
                                                summary: rules.groups[1].rules[0].annotations.summary,
                                                description: rules.groups[1].rules[0].annotations.description
                                                    .replace("{{ $labels.instance }}", labels.instance)
                                                    .replace("{{ $value | humanize }}", "1")
                                                    .replace("{{ $labels.grpc_method }}", "Range")
                                                    .replace("{{ $labels.grpc_code }}", "PermissionDenied"),
                                            },
                                        },
                                    ],
                                },
                            ],
                        },
                    ],
                }),
            );
            const ran = spawnSync("promtool", ["test", "rules", "tests.yaml"], { cwd: promDir, encoding: "utf8" });
            assert.equal(ran.status, 0, `${ran.error?.message ?? ""}${ran.stdout}${ran.stderr}`);
        } finally {
            fs.rmSync(promDir, { recursive: true, force: true });
        }
    });
});
