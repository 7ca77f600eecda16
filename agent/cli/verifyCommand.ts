// `secure-etcd verify`: checks a live cluster from outside with its endpoints and one client's
// credentials; prints a table (or JSON) and exits 1 if any check fails, 2 on a usage error.
import { Command } from "commander";
import * as fs from "fs";
import { renderTable, verifyCluster } from "../verify/verify";

interface VerifyCliOptions {
    endpoints: string;
    cacert: string;
    cert: string;
    key: string;
    warnDays: string;
    json?: boolean;
}

class UsageError extends Error {}

function readFile(file: string, option: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`${option} ${file}: ${(e as Error).message}`);
    }
}

function parseEndpoints(text: string): string[] {
    const endpoints = text
        .split(",")
        .map((e) => e.trim())
        .filter(Boolean);
    if (endpoints.length === 0) {
        throw new UsageError("--endpoints is empty; give the members' client URLs, e.g. https://10.0.1.10:2379");
    }
    for (const e of endpoints) {
        let url: URL | undefined;
        try {
            url = new URL(e);
        } catch {
            url = undefined;
        }
        if (!url || url.protocol !== "https:" || url.pathname !== "/" || !url.port) {
            throw new UsageError(
                `--endpoints: ${e} is not https://<host>:<port> (the client URL of a member, e.g. https://10.0.1.10:2379)`,
            );
        }
    }
    return endpoints;
}

export function addVerifyCommand(program: Command): void {
    program
        .command("verify")
        .description(
            "Check a live cluster from outside: each member's served certificate (chain to --cacert, address, " +
                "days to expiry), the TLS version, that plaintext, TLS 1.0/1.1 and certificate-less clients are refused, " +
                "that auth is enabled and that every member was checked. Reads no keys and writes nothing. " +
                "Exits 0 when every check passes, 1 when one fails.",
        )
        .requiredOption("--endpoints <urls>", "comma-separated client URLs of the members, https://<host>:2379")
        .requiredOption("--cacert <file>", "the etcd CA (a bundle during a CA rotation)")
        .requiredOption("--cert <file>", "a client certificate from the etcd CA, e.g. kube-etcd-healthcheck-client")
        .requiredOption("--key <file>", "its key")
        .option("--warn-days <n>", "fail for a certificate with fewer days left", "30")
        .option("--json", "print the checks as JSON instead of a table")
        .action(async (opts: VerifyCliOptions) => {
            let code: number;
            try {
                const warnDays = Number(opts.warnDays);
                if (!Number.isInteger(warnDays) || warnDays < 0) {
                    throw new UsageError("--warn-days must be a whole number of days from 0");
                }
                const report = await verifyCluster({
                    endpoints: parseEndpoints(opts.endpoints),
                    caPem: readFile(opts.cacert, "--cacert"),
                    certPem: readFile(opts.cert, "--cert"),
                    keyPem: readFile(opts.key, "--key"),
                    warnDays,
                    labels: { ca: opts.cacert, cert: opts.cert },
                });
                process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report));
                code = report.ok ? 0 : 1;
            } catch (e) {
                process.stderr.write(`secure-etcd verify: ${(e as Error).message}\n`);
                code = e instanceof UsageError ? 2 : 1;
            }
            // Exit now: open sockets must not hold the process.
            process.exit(code);
        });
}
