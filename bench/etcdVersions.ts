// Which etcd the benchmarks run against: BENCH_ETCD=3.4,3.5 (default: every line that can be had
// here). The etcd on PATH serves its own line; another line comes from Debian's archive through
// scripts/fetch-etcd.sh, cached between runs.
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { installedEtcdVersion } from "../agent/etcdBinary";

export const BENCH_ETCD_LINES = ["3.4", "3.5"];

export interface BenchEtcd {
    line: string;
    version: string;
    /** Directory to put first on PATH; none for the etcd already on PATH. */
    binDir?: string;
}

const lineOf = (version: string) => version.split(".").slice(0, 2).join(".");

/** The repository root, from build/bench or bench. */
const repoRoot = () => path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? "../.." : "..");

/** Where fetched etcd releases are kept: readable by the members' unprivileged user. */
export const fetchedEtcdCache = () =>
    process.env.SECURE_ETCD_ETCD_CACHE ?? path.join(os.tmpdir(), "secure-etcd-etcd-cache");

function installed(): string | undefined {
    try {
        return installedEtcdVersion();
    } catch {
        return undefined;
    }
}

/** The version of the etcd in `binDir`. */
function versionIn(binDir: string): string {
    const out = execFileSync(path.join(binDir, "etcd"), ["--version"], { encoding: "utf8" });
    const m = /etcd Version: (\d+\.\d+\.\d+)/.exec(out);
    if (!m) {
        throw new Error(`cannot read the version of ${binDir}/etcd: ${out}`);
    }
    return m[1];
}

function fetchLine(line: string): BenchEtcd {
    const out = execFileSync("bash", [path.join(repoRoot(), "scripts", "fetch-etcd.sh"), line, fetchedEtcdCache()], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    const binDir = out.trim().split("\n").pop()!;
    return { line, version: versionIn(binDir), binDir };
}

/**
 * The etcd releases to run: `requested` is BENCH_ETCD's value. Unset, every line that can be had
 * (a line that cannot is reported and skipped); set, each line named must be had.
 */
export function benchEtcds(requested: string | undefined, report: (line: string) => void): BenchEtcd[] {
    const lines = requested ? requested.split(",").map((l) => l.trim()) : BENCH_ETCD_LINES;
    const onPath = installed();
    const found: BenchEtcd[] = [];
    for (const line of lines) {
        if (onPath && lineOf(onPath) === line) {
            found.push({ line, version: onPath });
            continue;
        }
        try {
            found.push(fetchLine(line));
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
