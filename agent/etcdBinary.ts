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
                "Elsewhere, put an etcd 3.4, 3.5 or 3.6 release binary on PATH.",
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

/** The version of the `etcd` on PATH, e.g. "3.4.23". */
export function installedEtcdVersion(): string {
    const out = run("etcd", ["--version"]);
    if (out === undefined) {
        throw new EtcdNotInstalledError("no `etcd` on PATH");
    }
    const m = /etcd Version: (\d+\.\d+\.\d+)/.exec(out);
    if (!m) {
        throw new Error(`cannot read the etcd version from \`etcd --version\`: ${out}`);
    }
    return m[1];
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
