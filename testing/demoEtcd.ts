// Which etcd the demo runs: the one on PATH, or, where there is none (or not the requested release),
// Debian's etcd packages fetched by scripts/fetch-etcd.sh into a per-user cache and reused from there.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EtcdBinary, etcdVersionOf, onPath } from "../agent/etcdBinary";

/** The line the demo fetches when nothing else is asked for: 3.4 is end-of-life. */
export const DEMO_ETCD_LINE = "3.5";

/** A line ("3.5"), a release ("3.5.16") or a Debian version ("3.5.16-4"), as scripts/fetch-etcd.sh takes them. */
const REQUEST = /^\d+\.\d+(\.\d+(-[A-Za-z0-9.+~]+)?)?$/;

export type EtcdChoice =
    /** Run this binary. */
    | { kind: "use"; etcd: EtcdBinary }
    /** Fetch `request` from Debian's archive into `dir` (or reuse what is there); `why` says why. */
    | { kind: "fetch"; request: string; dir: string; why: string }
    /** Neither: `message` says what to install. */
    | { kind: "fail"; message: string };

export interface EtcdChoiceInput {
    /** `--etcd-version`, if given. */
    requested?: string;
    /** The etcd on PATH, if there is one. */
    onPath?: EtcdBinary;
    /** Whether this machine can fetch Debian's packages (apt-get and dpkg-deb are there). */
    canFetch: boolean;
    /** The per-user cache: one directory per request under it. */
    cacheDir: string;
}

/** Whether release `version` ("3.5.30") is what `request` asks for. */
export function releaseMatches(request: string, version: string): boolean {
    const upstream = request.split("-")[0];
    return upstream.split(".").length === 2 ? version.startsWith(`${upstream}.`) : version === upstream;
}

/** The demo's decision, without side effects. */
export function chooseEtcd(input: EtcdChoiceInput): EtcdChoice {
    const { requested, onPath: found } = input;
    if (requested !== undefined && !REQUEST.test(requested)) {
        return {
            kind: "fail",
            message: `--etcd-version ${JSON.stringify(requested)} is not an etcd line or release: give e.g. 3.5, 3.5.16 or 3.5.16-4`,
        };
    }
    if (found && (requested === undefined || releaseMatches(requested, found.version))) {
        return { kind: "use", etcd: found };
    }
    const request = requested ?? DEMO_ETCD_LINE;
    const why = found ? `etcd ${found.version} on PATH is not the requested ${request}` : "no etcd on PATH";
    if (!input.canFetch) {
        return {
            kind: "fail",
            message:
                `${why}, and this machine has no apt-get and dpkg-deb to fetch Debian's etcd packages with. ` +
                `Install etcd ${request} (its etcd and etcdctl binaries, from your distribution or the etcd ` +
                "project's release archive for your system) so that `etcd` is on PATH, then run the demo again.",
        };
    }
    return { kind: "fetch", request, dir: path.join(input.cacheDir, request), why };
}

/** `$XDG_CACHE_HOME/secure-etcd/etcd`, or `~/.cache/secure-etcd/etcd` (the XDG default). */
export function etcdCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
    const xdg = env.XDG_CACHE_HOME;
    const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, ".cache");
    return path.join(base, "secure-etcd", "etcd");
}

/** Whether this machine has what scripts/fetch-etcd.sh needs. */
export function canFetchDebianEtcd(): boolean {
    return ["bash", "apt-get", "apt-cache", "dpkg-deb"].every((c) => onPath(c) !== undefined);
}

/** scripts/fetch-etcd.sh, from testing/ (ts-node) or build/testing/ (compiled). */
export function fetchScript(): string {
    const candidates = ["../scripts/fetch-etcd.sh", "../../scripts/fetch-etcd.sh"].map((p) =>
        path.resolve(__dirname, p),
    );
    const found = candidates.find((p) => fs.existsSync(p));
    if (!found) {
        throw new Error(`scripts/fetch-etcd.sh not found (looked at ${candidates.join(", ")})`);
    }
    return found;
}

/**
 * Runs scripts/fetch-etcd.sh `request` `dir`, passing each of its progress lines to `progress`;
 * resolves to the etcd it put in `dir`/bin.
 */
export function fetchEtcd(request: string, dir: string, progress: (line: string) => void): Promise<EtcdBinary> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", [fetchScript(), request, dir], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let pending = "";
        const lines: string[] = [];
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
            pending += d.toString();
            const complete = pending.split("\n");
            pending = complete.pop() ?? "";
            for (const line of complete) {
                lines.push(line);
                progress(line);
            }
        });
        child.once("error", reject);
        child.once("close", (code) => {
            if (pending) {
                lines.push(pending);
                progress(pending);
            }
            if (code !== 0) {
                reject(
                    new Error(`scripts/fetch-etcd.sh ${request} failed (exit ${code}): ${lines.slice(-1)[0] ?? ""}`),
                );
                return;
            }
            try {
                const etcd = path.join(stdout.trim(), "etcd");
                resolve({ path: etcd, version: etcdVersionOf(etcd) });
            } catch (e) {
                reject(e instanceof Error ? e : new Error(String(e)));
            }
        });
    });
}
