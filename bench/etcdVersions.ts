// Which etcd the benchmarks run against: BENCH_ETCD=3.4,3.5 (default: every line that can be had
// here). The etcd on PATH serves its own line; another line comes from Debian's archive through
// scripts/fetch-etcd.sh, cached between runs.
import * as os from "os";
import * as path from "path";
import { installedEtcd } from "../agent/etcdBinary";
import { fetchEtcd } from "../testing/demoEtcd";

export const BENCH_ETCD_LINES = ["3.4", "3.5"];

export interface BenchEtcd {
    line: string;
    version: string;
    /** Directory to put first on PATH; none for the etcd already on PATH. */
    binDir?: string;
}

const lineOf = (version: string) => version.split(".").slice(0, 2).join(".");

/** Where fetched etcd releases are kept: readable by the members' unprivileged user (not a home). */
export const fetchedEtcdCache = () =>
    process.env.SECURE_ETCD_ETCD_CACHE ?? path.join(os.tmpdir(), "secure-etcd-etcd-cache");

function installedVersion(): string | undefined {
    try {
        return installedEtcd().version;
    } catch {
        return undefined;
    }
}

/**
 * The etcd releases to run: `requested` is BENCH_ETCD's value. Unset, every line that can be had
 * (a line that cannot is reported and skipped); set, each line named must be had.
 */
export async function benchEtcds(requested: string | undefined, report: (line: string) => void): Promise<BenchEtcd[]> {
    const lines = requested ? requested.split(",").map((l) => l.trim()) : BENCH_ETCD_LINES;
    const onPath = installedVersion();
    const found: BenchEtcd[] = [];
    for (const line of lines) {
        if (onPath && lineOf(onPath) === line) {
            found.push({ line, version: onPath });
            continue;
        }
        try {
            const etcd = await fetchEtcd(line, fetchedEtcdCache(), report);
            found.push({ line, version: etcd.version, binDir: path.dirname(etcd.path) });
        } catch (e) {
            if (requested) {
                throw new Error(`BENCH_ETCD=${requested}: etcd ${line} cannot be had here: ${(e as Error).message}`);
            }
            report(`etcd ${line} skipped: ${(e as Error).message.split("\n")[0]}`);
        }
    }
    return found;
}

/** Runs `body` with `etcd`'s bin directory first on PATH (members and tools follow PATH). */
export async function withEtcd<T>(etcd: BenchEtcd, body: () => Promise<T>): Promise<T> {
    const saved = process.env.PATH;
    if (etcd.binDir) {
        process.env.PATH = `${etcd.binDir}${path.delimiter}${saved ?? ""}`;
    }
    try {
        return await body();
    } finally {
        process.env.PATH = saved;
    }
}
