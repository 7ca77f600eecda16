// `npm run bench`: measurements that are reported, never asserted. Prints a table per benchmark
// (medians of repeated runs, with min-max) and writes the raw figures to bench-results.json.
// BENCH_ONLY=hardening,keytype,component,backup picks some; BENCH_ETCD=3.4,3.5 the etcd lines the
// hardening and key-type benchmarks run on (default: every line available); see docs/benchmarks.md.
import * as fs from "fs";
import * as os from "os";
import { execFileSync } from "child_process";
import { KeyAlgorithm } from "../src";
import { benchBackup, BackupBenchResult } from "./backupBench";
import { benchComponent, ComponentBenchResult } from "./componentBench";
import { benchHandshakes, HandshakeBenchResult } from "./handshakeBench";
import { BenchEtcd, benchEtcds, withEtcd } from "./etcdVersions";
import { benchHardening, HardeningBenchResult, HardeningConfig } from "./hardeningBench";
import { median, spread } from "./stats";

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const REPEATS = Number(env("BENCH_REPEATS", "5"));
const BACKUP_REPEATS = Number(env("BENCH_BACKUP_REPEATS", "3"));
const ONLY = env("BENCH_ONLY", "hardening,keytype,component,backup").split(",");
const MEMBER_IPS = ["127.0.1.1", "127.0.1.2", "127.0.1.3"];

/** The fixed rate as a share of the slowest configuration's saturation throughput: above 0, at most 1. */
function rateShare(text: string): number {
    const share = Number(text);
    if (!(share > 0 && share <= 1)) {
        throw new Error(
            `BENCH_RATE_SHARE=${text}: give a share of the saturation throughput above 0 and at most 1, such as 0.25`,
        );
    }
    return share;
}

const met = (ok: boolean) => (ok ? "met" : "MISSED");

function machineInfo(etcds: BenchEtcd[]): string {
    let disk = "";
    try {
        disk = execFileSync("findmnt", ["-no", "FSTYPE,SOURCE", "-T", os.tmpdir()], { encoding: "utf8" }).trim();
    } catch {
        disk = "unknown filesystem";
    }
    const versions = etcds.length > 0 ? etcds.map((e) => e.version).join(" and ") : "none";
    return (
        `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
        `Linux ${os.release()}, Node ${process.version}, etcd ${versions}, data on ${disk}`
    );
}

function hardeningTable(r: HardeningBenchResult, etcd: BenchEtcd): string {
    const rows = [
        "| op | configuration | ops/s median (min-max) | p50 ms | p99 ms median (min-max) | etcd CPU us/op | load generator CPU us/op |",
        "|---|---|---|---|---|---|---|",
    ];
    const saturation = r.runs.filter((x) => x.shape === "saturation");
    for (const op of ["put", "range"] as const) {
        for (const config of r.options.configs) {
            const runs = saturation.filter((x) => x.op === op && x.config === config);
            const s = r.summary[op];
            rows.push(
                `| ${op} | ${config} | ${spread(
                    runs.map((x) => x.opsPerSecond),
                    0,
                )} | ${s.p50Ms[config]!.toFixed(1)} | ` +
                    `${spread(runs.map((x) => x.p99Ms))} | ${s.serverCpuMicrosPerOp[config]!.toFixed(0)} | ` +
                    `${s.clientCpuMicrosPerOp[config]!.toFixed(0)} |`,
            );
        }
    }
    const ratios = [
        "",
        "| op | hardened / kubeadm throughput (>= 1.0) | hardened / kubeadm p99 | hardened / plaintext throughput |",
        "|---|---|---|---|",
    ];
    for (const op of ["put", "range"] as const) {
        const s = r.summary[op];
        ratios.push(
            `| ${op} | ${s.hardenedVsKubeadmThroughput.toFixed(2)}x ${met(s.hardenedVsKubeadmThroughput >= 1)} | ` +
                `${s.hardenedVsKubeadmP99.toFixed(2)}x | ${s.hardenedVsPlaintextThroughput.toFixed(2)}x |`,
        );
    }
    const l = r.options.load;
    return (
        `Hardening tax on etcd ${etcd.version}: saturation (${r.options.rounds} rounds; 3 members on ${r.options.ips.join(", ")}; etcd3 client, ` +
        `${l.clients} clients over ${l.conns} connections, ${l.valueBytes}-byte values, ${l.total} timed requests per op)\n` +
        [...rows, ...ratios].join("\n") +
        "\n\n" +
        fixedRateTable(r, etcd)
    );
}

function fixedRateTable(r: HardeningBenchResult, etcd: BenchEtcd): string {
    const rows = [
        "| op | offered rate /s | configuration | ops/s achieved median | p50 ms median | p99 ms median (min-max) | etcd CPU us/op |",
        "|---|---|---|---|---|---|---|",
    ];
    const fixed = r.runs.filter((x) => x.shape === "fixed-rate");
    for (const op of ["put", "range"] as const) {
        const f = r.summary[op].fixedRate;
        for (const config of r.options.configs) {
            const runs = fixed.filter((x) => x.op === op && x.config === config);
            rows.push(
                `| ${op} | ${f.rate} | ${config} | ${median(runs.map((x) => x.opsPerSecond)).toFixed(0)} | ` +
                    `${f.p50Ms[config]!.toFixed(1)} | ${spread(runs.map((x) => x.p99Ms))} | ` +
                    `${f.serverCpuMicrosPerOp[config]!.toFixed(0)} |`,
            );
        }
    }
    rows.push("", "| op | hardened / plaintext p99 (<= 1.25) | hardened / kubeadm p99 |", "|---|---|---|");
    for (const op of ["put", "range"] as const) {
        const f = r.summary[op].fixedRate;
        rows.push(
            `| ${op} | ${f.hardenedVsPlaintextP99.toFixed(2)}x ${met(f.hardenedVsPlaintextP99 <= 1.25)} | ` +
                `${f.hardenedVsKubeadmP99.toFixed(2)}x |`,
        );
    }
    const share =
        r.options.fixedRate.rate === undefined
            ? ` (${r.options.fixedRate.rateShareOfSlowest} of the slowest configuration's saturation throughput)`
            : "";
    return (
        `Hardening tax on etcd ${etcd.version}: fixed offered rate${share}, the same for every configuration; ` +
        `${r.options.fixedRate.total} timed requests per op, latency from each request's scheduled time\n` +
        rows.join("\n")
    );
}

function handshakeTable(r: HandshakeBenchResult): string {
    const rows = ["| key | handshakes/s median (min-max) | etcd CPU us per handshake |", "|---|---|---|"];
    for (const k of [KeyAlgorithm.EcdsaP256, KeyAlgorithm.Rsa2048]) {
        const runs = r.runs.filter((x) => x.keyAlgorithm === k);
        rows.push(
            `| ${k} | ${spread(
                runs.map((x) => x.handshakesPerSecond),
                0,
            )} | ${spread(
                runs.map((x) => x.serverCpuMicrosPerHandshake),
                0,
            )} |`,
        );
    }
    rows.push(`| ECDSA-P256 / RSA-2048 | ${r.ecdsaVsRsa.toFixed(2)}x | |`);
    return (
        `Key type (${REPEATS} rounds of ${r.secondsPerRun} s; openssl s_time -new, mutual TLS, ${r.protocol})\n` +
        rows.join("\n")
    );
}

function componentTable(r: ComponentBenchResult): string {
    const rows = [
        "| clusters | registrations | component s median (min-max) | bare s median (min-max) | time ratio (<= 1.1) | resolved s median (min-max) | ratio to resolved | ms per cluster component / bare | peak RSS MiB component / bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ];
    for (const s of r.sizes) {
        const seconds = (mode: string) =>
            spread(
                r.runs.filter((x) => x.clusters === s.clusters && x.mode === mode).map((x) => x.seconds),
                2,
            );
        rows.push(
            `| ${s.clusters} | ${s.registrations} | ${seconds("component")} | ${seconds("bare")} | ` +
                `${s.timeRatio.toFixed(2)}x ${met(s.timeRatio <= 1.1)} | ${seconds("resolved")} | ` +
                `${s.resolvedTimeRatio.toFixed(2)}x | ` +
                `${s.componentMsPerCluster.toFixed(0)} / ${s.bareMsPerCluster.toFixed(0)} | ` +
                `${s.componentMaxRssMiB.toFixed(0)} / ${s.bareMaxRssMiB.toFixed(0)} (${s.memoryRatio.toFixed(2)}x) |`,
        );
    }
    const [first, last] = [r.sizes[0], r.sizes[r.sizes.length - 1]];
    const growth = last.componentSeconds / first.componentSeconds;
    return (
        `Component cost (${REPEATS} rounds; ${r.registrationsPerCluster} registrations per cluster; fresh process per run;\n` +
        `bare = the same registrations waiting for the same dependencies; resolved = every input known up front)\n` +
        rows.join("\n") +
        `\n${first.clusters} -> ${last.clusters} clusters: component time x${growth.toFixed(1)} for x${last.clusters / first.clusters} the clusters` +
        ` (bare x${(last.bareSeconds / first.bareSeconds).toFixed(1)})`
    );
}

function backupTable(r: BackupBenchResult): string {
    const rows = ["| snapshot | mode | MiB/s median (min-max) | peak RSS MiB median (min-max) |", "|---|---|---|---|"];
    const label: Record<string, string> = {
        plain: "plain read (no encryption, no upload)",
        encrypt: "check + encrypt (no upload)",
        upload: "upload only (no check, no encryption)",
        backup: "backup (check, encrypt, upload)",
    };
    const keys = [...new Set(r.runs.map((x) => `${x.sizeMiB}|${x.mode}`))];
    for (const key of keys) {
        const [size, mode] = key.split("|");
        const runs = r.runs.filter((x) => `${x.sizeMiB}|${x.mode}` === key);
        rows.push(
            `| ${size} MiB | ${label[mode]} | ${spread(runs.map((x) => x.mibPerSecond))} | ${spread(runs.map((x) => x.maxRssMiB))} |`,
        );
    }
    const size = (k: string) => k.replace("MiB", " MiB");
    for (const [k, ratio] of Object.entries(r.pipelineRatio)) {
        rows.push(`| ${size(k)} | check + encrypt / plain throughput | ${ratio.toFixed(2)}x | |`);
    }
    for (const [k, ratio] of Object.entries(r.uploadRatio)) {
        rows.push(`| ${size(k)} | upload only / plain throughput | ${ratio.toFixed(2)}x | |`);
    }
    for (const [k, ratio] of Object.entries(r.throughputRatio)) {
        rows.push(
            `| ${size(k)} | backup / plain throughput | ${ratio.toFixed(2)}x (target >= 0.80x) | peak ${r.peakRssMiB[k].toFixed(0)} MiB (target < 200) |`,
        );
    }
    return `Backup (${BACKUP_REPEATS} runs each)\n${rows.join("\n")}`;
}

async function main(): Promise<void> {
    const needsEtcd = ["hardening", "keytype", "backup"].some((b) => ONLY.includes(b));
    const etcds = needsEtcd ? await benchEtcds(process.env.BENCH_ETCD, (m) => process.stderr.write(`${m}\n`)) : [];
    const machine = machineInfo(etcds);
    process.stderr.write(`secure-etcd benchmarks on ${machine}\n`);
    const results: Record<string, unknown> = { machine, date: new Date().toISOString() };
    const tables: string[] = [];
    const perEtcd: Record<string, Record<string, unknown>> = {};
    for (const etcd of etcds) {
        const own: Record<string, unknown> = (perEtcd[etcd.version] = {});
        await withEtcd(etcd, async () => {
            if (ONLY.includes("hardening")) {
                const r = await benchHardening(hardeningOptions());
                own.hardening = r;
                tables.push(hardeningTable(r, etcd));
            }
            if (ONLY.includes("keytype")) {
                const r = await benchHandshakes(REPEATS, Number(env("BENCH_HANDSHAKE_SECONDS", "5")), MEMBER_IPS);
                own.keyType = r;
                tables.push(`etcd ${etcd.version}: ${handshakeTable(r)}`);
            }
        });
    }
    results.etcd = perEtcd;
    if (ONLY.includes("component")) {
        const r = await benchComponent(REPEATS, env("BENCH_CLUSTERS", "1,10,50").split(",").map(Number));
        results.component = r;
        tables.push(componentTable(r));
    }
    if (ONLY.includes("backup") && etcds.length > 0) {
        // Snapshot size and the pipeline are what is measured, not the etcd line: the first one serves.
        const r = await withEtcd(etcds[0], () => benchBackup(BACKUP_REPEATS));
        results.backup = r;
        tables.push(`etcd ${etcds[0].version}: ${backupTable(r)}`);
    }
    process.stdout.write(`\nsecure-etcd benchmarks on ${machine}\n\n${tables.join("\n\n")}\n`);
    fs.writeFileSync("bench-results.json", JSON.stringify(results, null, 2) + "\n");
    process.stdout.write("\nraw figures: bench-results.json\n");
}

function hardeningOptions() {
    return {
        rounds: REPEATS,
        ips: MEMBER_IPS,
        configs: [
            HardeningConfig.Plaintext,
            HardeningConfig.Kubeadm,
            HardeningConfig.PackageTlsOnly,
            HardeningConfig.Hardened,
        ],
        load: {
            total: Number(env("BENCH_OPS", "10000")),
            warmup: 1000,
            clients: Number(env("BENCH_CLIENTS", "64")),
            conns: Number(env("BENCH_CONNS", "8")),
            valueBytes: 256,
            keySpace: 10_000,
            prefix: "/registry/bench/",
        },
        fixedRate: {
            total: Number(env("BENCH_RATE_OPS", "5000")),
            rate: process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined,
            rateShareOfSlowest: rateShare(env("BENCH_RATE_SHARE", "0.5")),
        },
    };
}

main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
});
