// The etcd installed on this machine: whether there is one, which version, and how to get one.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const ETCD_INSTALL_HINT = "sudo apt-get install -y etcd-server etcd-client";

/** No usable `etcd` on PATH; the message says how to install one. */
export class EtcdNotInstalledError extends Error {
    constructor(detail: string) {
        super(
            `etcd is not installed (${detail}). On Debian/Ubuntu install it with:\n` +
                `    ${ETCD_INSTALL_HINT}\n` +
                "Elsewhere, put an etcd 3.4, 3.5, 3.6 or 3.7 release binary on PATH.",
        );
        this.name = "EtcdNotInstalledError";
    }
}

function run(command: string, args: string[]): string | undefined {
    try {
        return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch {
        return undefined;
    }
}

/** An etcd binary and the release it reports. */
export interface EtcdBinary {
    /** Absolute path of the binary. */
    path: string;
    /** What its `--version` reports, e.g. "3.5.30". */
    version: string;
}

/** The release `binary --version` reports, e.g. "3.4.23". */
export function etcdVersionOf(binary: string): string {
    const out = run(binary, ["--version"]);
    if (out === undefined) {
        throw new EtcdNotInstalledError(`\`${binary} --version\` does not run`);
    }
    const m = /etcd Version: (\d+\.\d+\.\d+)/.exec(out);
    if (!m) {
        throw new Error(`cannot read the etcd version from \`${binary} --version\`: ${out}`);
    }
    return m[1];
}

/** The `etcd` on PATH (as a shell would find it) and its release. */
export function installedEtcd(): EtcdBinary {
    const found = onPath("etcd");
    if (!found) {
        throw new EtcdNotInstalledError("no `etcd` on PATH");
    }
    return { path: found, version: etcdVersionOf(found) };
}

/** The version of the `etcd` on PATH, e.g. "3.4.23". */
export function installedEtcdVersion(): string {
    return installedEtcd().version;
}

/** Where `command` is on PATH, if it is (as a shell would find it). */
export function onPath(command: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, command);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here
        }
    }
    return undefined;
}
