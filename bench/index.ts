// `npm run bench`: measurements that are reported, never asserted. Prints a table (medians of
// repeated runs, with min-max) and writes the raw figures to bench-results.json.
import * as fs from "fs";
import * as os from "os";
import { benchBackup, BackupMeasurement } from "./backupBench";

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function summary(values: number[]): string {
    const sorted = [...values].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)];
    return `${med.toFixed(1)} (${sorted[0].toFixed(1)}-${sorted[sorted.length - 1].toFixed(1)})`;
}

async function main(): Promise<void> {
    const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    process.stderr.write(`secure-etcd benchmarks on ${machine}\n`);
    const backup = await benchBackup(REPEATS);
    const rows: string[] = [
        "| snapshot | mode | MiB/s median (min-max) | peak RSS MiB median (min-max) |",
        "|---|---|---|---|",
    ];
    const groups = new Map<string, BackupMeasurement[]>();
    for (const r of backup.runs) {
        const key = `${r.sizeMiB}|${r.mode}`;
        groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const [key, runs] of groups) {
        const [size, mode] = key.split("|");
        const label = {
            plain: "plain read (no encryption, no upload)",
            encrypt: "check + encrypt (no upload)",
            upload: "upload only (no check, no encryption)",
            backup: "backup (check, encrypt, upload)",
        }[mode];
        rows.push(
            `| ${size} MiB | ${label} | ${summary(runs.map((r) => r.mibPerSecond))} | ${summary(runs.map((r) => r.maxRssMiB))} |`,
        );
    }
    for (const [size, ratio] of Object.entries(backup.pipelineRatio)) {
        rows.push(`| ${size.replace("MiB", " MiB")} | check + encrypt / plain throughput | ${ratio.toFixed(2)}x | |`);
    }
    for (const [size, ratio] of Object.entries(backup.uploadRatio)) {
        rows.push(`| ${size.replace("MiB", " MiB")} | upload only / plain throughput | ${ratio.toFixed(2)}x | |`);
    }
    for (const [size, ratio] of Object.entries(backup.throughputRatio)) {
        rows.push(
            `| ${size.replace("MiB", " MiB")} | backup / plain throughput | ${ratio.toFixed(2)}x (target >= 0.80x) | peak ${backup.peakRssMiB[size].toFixed(0)} MiB (target < 200) |`,
        );
    }
    process.stdout.write(`\nBackup (${REPEATS} runs each; ${machine})\n${rows.join("\n")}\n`);
    fs.writeFileSync(
        "bench-results.json",
        JSON.stringify({ machine, date: new Date().toISOString(), backup }, null, 2) + "\n",
    );
    process.stdout.write("\nraw figures: bench-results.json\n");
}

main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
});
