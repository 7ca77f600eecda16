// The price of hardening: one three-member cluster on loopback, rendered by the component and started
// in turn in each configuration below, in the same run, with the same load (loadChild.ts). Only the
// security settings differ between configurations; the remaining flags (snapshot count, logger,
// corrupt check, watch progress) are the rendered ones in all of them.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { KeyAlgorithm, SecureEtcdClusterArgs } from "../src";
import { LocalEtcdCluster } from "../testing/etcdCluster";
import { collectingWarnings } from "../testing/warnings";
import { renderBootstrapScript } from "../src/rbac/bootstrapScript";
import { resolveRbac } from "../src/rbac/roles";
import { LoadResult, LoadSpec } from "./loadChild";
import { median, runChild } from "./stats";

const execFileAsync = promisify(execFile);

export enum HardeningConfig {
    /** No TLS, no auth: the physical baseline. */
    Plaintext = "plaintext",
    /** kubeadm's etcd flags: mTLS for clients and peers, RSA-2048 (its default key), no auth, Go's TLS defaults. */
    Kubeadm = "kubeadm",
    /** This package's rendered command with RBAC left off: what the TLS settings alone cost. */
    PackageTlsOnly = "package-tls-only",
    /** This package's rendered command, with its RBAC bootstrapped (auth on): what users get. */
    Hardened = "hardened",
}

/** Mutual TLS for clients and for peers: what kubeadm has and plaintext drops. */
const MUTUAL_TLS_FLAGS = [
    "--cert-file",
    "--key-file",
    "--trusted-ca-file",
    "--client-cert-auth",
    "--peer-cert-file",
    "--peer-key-file",
    "--peer-trusted-ca-file",
    "--peer-client-cert-auth",
];

/** Flags kubeadm sets on etcd (facts §2); every other rendered flag is dropped for its configuration. */
const KUBEADM_FLAGS = [
    "--name",
    "--data-dir",
    "--listen-client-urls",
    "--advertise-client-urls",
    "--listen-peer-urls",
    "--initial-advertise-peer-urls",
    "--initial-cluster",
    "--initial-cluster-state",
    "--initial-cluster-token",
    ...MUTUAL_TLS_FLAGS,
    "--snapshot-count",
    "--listen-metrics-urls",
    "--experimental-initial-corrupt-check",
    "--experimental-watch-progress-notify-interval",
    // Their names from etcd 3.6 on.
    "--feature-gates",
    "--watch-progress-notify-interval",
    // Not kubeadm's, but kept so that every configuration logs the same way.
    "--logger",
];

const flagName = (arg: string) => arg.split("=")[0];

/** The rendered command cut down to kubeadm's flags: no cipher suites, no TLS minimum, nothing else. */
export function kubeadmCommand(rendered: string[]): string[] {
    return rendered.filter((arg, i) => i === 0 || KUBEADM_FLAGS.includes(flagName(arg)));
}

/** kubeadm's flags without any TLS: plain HTTP for clients and peers. */
export function plaintextCommand(rendered: string[]): string[] {
    return kubeadmCommand(rendered)
        .filter((arg) => !MUTUAL_TLS_FLAGS.includes(flagName(arg)))
        .map((arg) => arg.replace(/https:\/\//g, "http://"));
}

export interface HardeningOptions {
    rounds: number;
    /** Member addresses (loopback). */
    ips: string[];
    /** The load: everything but the endpoints, credentials, operation and rate. */
    load: Omit<LoadSpec, "endpoints" | "tls" | "op" | "serverPids" | "rate">;
    configs: HardeningConfig[];
    /**
     * The production-shaped load: every configuration offered the same fixed rate, with this many
     * timed requests. The rate is `rate` if given, else `rateShareOfSlowest` of the slowest
     * configuration's median saturation throughput for the operation: a rate every configuration
     * runs well below its own limit, as a production host does, so that latency measures the
     * configuration and not a queue. (Half of plaintext's throughput is 75-90% of what TLS leaves
     * on two shared cores: its p99 was queueing.)
     */
    fixedRate: { total: number; rate?: number; rateShareOfSlowest: number };
}

export type LoadShape = "saturation" | "fixed-rate";

export interface HardeningMeasurement extends LoadResult {
    config: HardeningConfig;
    round: number;
    shape: LoadShape;
}

type PerConfig = Partial<Record<HardeningConfig, number>>;

/** Latency at one offered rate, the same for every configuration. */
export interface FixedRateSummary {
    rate: number;
    p50Ms: PerConfig;
    p99Ms: PerConfig;
    serverCpuMicrosPerOp: PerConfig;
    hardenedVsPlaintextP99: number;
    hardenedVsKubeadmP99: number;
}

export interface HardeningBenchResult {
    options: HardeningOptions;
    runs: HardeningMeasurement[];
    /** Per operation: medians over rounds, and the ratios the targets are stated in. */
    summary: Record<
        "put" | "range",
        {
            opsPerSecond: PerConfig;
            p50Ms: PerConfig;
            p99Ms: PerConfig;
            serverCpuMicrosPerOp: PerConfig;
            clientCpuMicrosPerOp: PerConfig;
            hardenedVsKubeadmThroughput: number;
            hardenedVsPlaintextThroughput: number;
            hardenedVsKubeadmP99: number;
            fixedRate: FixedRateSummary;
        }
    >;
    /** Warnings the component gave while rendering (once per distinct text). */
    componentWarnings: string[];
}

export interface RunningConfig {
    cluster: LocalEtcdCluster;
    endpoints: string[];
    tls?: LoadSpec["tls"];
}

export async function startConfig(config: HardeningConfig, ips: string[], warnings: string[]): Promise<RunningConfig> {
    const args: Partial<SecureEtcdClusterArgs> =
        config === HardeningConfig.Kubeadm ? { keyAlgorithm: KeyAlgorithm.Rsa2048 } : {};
    const rewriteCommand =
        config === HardeningConfig.Kubeadm
            ? kubeadmCommand
            : config === HardeningConfig.Plaintext
              ? plaintextCommand
              : undefined;
    const cluster = await collectingWarnings(
        () =>
            LocalEtcdCluster.start({
                name: `bench-${config}`,
                hosts: ips.map((ip) => ({ ip })),
                tempPrefix: `secure-etcd-bench-${config}-`,
                args,
                rewriteCommand,
            }),
        warnings,
    );
    try {
        const scheme = config === HardeningConfig.Plaintext ? "http" : "https";
        const endpoints = ips.map((ip) => `${scheme}://${ip}:2379`);
        if (config === HardeningConfig.Plaintext) {
            return { cluster, endpoints };
        }
        const creds = cluster.rendered.clientCredentials;
        if (config === HardeningConfig.Hardened) {
            await bootstrapRbac(cluster, endpoints[0]);
        }
        const apiserver = creds["kube-apiserver-etcd-client"];
        return {
            cluster,
            endpoints,
            tls: { ca: apiserver.caCertPem, cert: apiserver.certPem, key: apiserver.keyPem },
        };
    } catch (e) {
        await cluster.stop();
        throw e;
    }
}

/** Runs the component's RBAC bootstrap script against the cluster: roles, users, then auth on. */
async function bootstrapRbac(cluster: LocalEtcdCluster, endpoint: string): Promise<void> {
    const dir = path.join(cluster.root, "bench-rbac");
    fs.mkdirSync(dir, { mode: 0o700 });
    const backup = cluster.rendered.clientCredentials["etcd-backup"];
    const file = (name: string, content: string) => {
        fs.writeFileSync(path.join(dir, name), content, { mode: 0o600 });
        return path.join(dir, name);
    };
    const script = file("rbac.py", renderBootstrapScript(resolveRbac({})));
    await execFileAsync("python3", [
        script,
        `--endpoints=${endpoint}`,
        `--cacert=${file("ca.crt", backup.caCertPem)}`,
        `--cert=${file("client.crt", backup.certPem)}`,
        `--key=${file("client.key", backup.keyPem)}`,
        "--root-password-file",
        file("root-password", crypto.randomBytes(18).toString("base64")),
    ]);
}

const OPS = ["put", "range"] as const;
type Op = (typeof OPS)[number];

/** One shape of load, every configuration in turn, `rounds` times; the order rotates each round. */
async function measureShape(
    options: HardeningOptions,
    shape: LoadShape,
    rates: Partial<Record<Op, number>>,
    warnings: string[],
): Promise<HardeningMeasurement[]> {
    const runs: HardeningMeasurement[] = [];
    for (let round = 0; round < options.rounds; round++) {
        // Rotate the order each round so that no configuration always runs first (or on a warmer disk).
        const order = options.configs.map((_, i) => options.configs[(i + round) % options.configs.length]);
        for (const config of order) {
            const running = await startConfig(config, options.ips, warnings);
            try {
                for (const op of OPS) {
                    const spec: LoadSpec = {
                        ...options.load,
                        ...(shape === "fixed-rate" ? { total: options.fixedRate.total, rate: rates[op] } : {}),
                        endpoints: running.endpoints,
                        tls: running.tls,
                        op,
                        serverPids: running.cluster.members.map((m) => m.process.pid!),
                    };
                    const result = await runChild<LoadResult>("loadChild", spec);
                    runs.push({ ...result, config, round, shape });
                    process.stderr.write(
                        `hardening bench (${shape}${spec.rate ? ` ${spec.rate.toFixed(0)}/s` : ""}): round ` +
                            `${round + 1}/${options.rounds} ${config} ${op}: ${result.opsPerSecond.toFixed(0)} ops/s, ` +
                            `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, CPU per op ` +
                            `etcd ${result.serverCpuMicrosPerOp.toFixed(0)} us, client ${result.clientCpuMicrosPerOp.toFixed(0)} us\n`,
                    );
                }
            } finally {
                await running.cluster.stop();
            }
        }
    }
    return runs;
}

/** The fixed rate per operation: given, or a share of the slowest configuration's median saturation throughput. */
export function fixedRates(options: HardeningOptions, saturation: HardeningMeasurement[]): Record<Op, number> {
    const rate = (op: Op) => {
        if (options.fixedRate.rate !== undefined) {
            return options.fixedRate.rate;
        }
        const medians = options.configs
            .map((config) => saturation.filter((r) => r.op === op && r.config === config).map((r) => r.opsPerSecond))
            .filter((throughputs) => throughputs.length > 0)
            .map(median);
        if (medians.length === 0) {
            throw new Error(`a fixed rate needs either a rate or saturation figures for ${op} to derive it from`);
        }
        return Math.round(options.fixedRate.rateShareOfSlowest * Math.min(...medians));
    };
    return { put: rate("put"), range: rate("range") };
}

export async function benchHardening(options: HardeningOptions): Promise<HardeningBenchResult> {
    const warnings: string[] = [];
    const saturation = await measureShape(options, "saturation", {}, warnings);
    const rates = fixedRates(options, saturation);
    const fixed = await measureShape(options, "fixed-rate", rates, warnings);
    const runs = [...saturation, ...fixed];
    return {
        options,
        runs,
        summary: summarize(options.configs, runs, rates),
        componentWarnings: [...new Set(warnings)],
    };
}

function summarize(
    configs: HardeningConfig[],
    runs: HardeningMeasurement[],
    rates: Record<Op, number>,
): HardeningBenchResult["summary"] {
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : NaN);
    const table = (op: Op) => {
        const per = (shape: LoadShape, pick: (r: HardeningMeasurement) => number): PerConfig =>
            Object.fromEntries(
                configs.map((c) => [
                    c,
                    median(runs.filter((r) => r.op === op && r.config === c && r.shape === shape).map(pick)),
                ]),
            );
        const opsPerSecond = per("saturation", (r) => r.opsPerSecond);
        const p99Ms = per("saturation", (r) => r.p99Ms);
        const fixedP99 = per("fixed-rate", (r) => r.p99Ms);
        return {
            opsPerSecond,
            p50Ms: per("saturation", (r) => r.p50Ms),
            p99Ms,
            serverCpuMicrosPerOp: per("saturation", (r) => r.serverCpuMicrosPerOp),
            clientCpuMicrosPerOp: per("saturation", (r) => r.clientCpuMicrosPerOp),
            hardenedVsKubeadmThroughput: ratio(opsPerSecond.hardened, opsPerSecond.kubeadm),
            hardenedVsPlaintextThroughput: ratio(opsPerSecond.hardened, opsPerSecond.plaintext),
            hardenedVsKubeadmP99: ratio(p99Ms.hardened, p99Ms.kubeadm),
            fixedRate: {
                rate: rates[op],
                p50Ms: per("fixed-rate", (r) => r.p50Ms),
                p99Ms: fixedP99,
                serverCpuMicrosPerOp: per("fixed-rate", (r) => r.serverCpuMicrosPerOp),
                hardenedVsPlaintextP99: ratio(fixedP99.hardened, fixedP99.plaintext),
                hardenedVsKubeadmP99: ratio(fixedP99.hardened, fixedP99.kubeadm),
            },
        };
    };
    return { put: table("put"), range: table("range") };
}
