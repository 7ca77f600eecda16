// `secure-etcd node-sync`: what secure-etcd-node-sync.timer runs on every member. Reads the
// rendered configuration, converges the member to its bundle, and exits 1 when it could not (the
// reason on stderr and in the state file), 2 on a usage error.
import { Command } from "commander";
import * as fs from "fs";
import { NODE_SYNC_CONFIG_PATH, NodeSyncConfig } from "../../src/nodes/nodeSync";
import { runNodeSync } from "../sync/nodeSync";

interface NodeSyncCliOptions {
    config: string;
    root: string;
    secretsManagerEndpoint?: string;
}

class UsageError extends Error {}

const STRING_FIELDS = [
    "cluster",
    "member",
    "bundleSource",
    "memberEndpoint",
    "cacert",
    "cert",
    "key",
    "localMetricsUrl",
    "lockKey",
    "statePath",
    "metricsPath",
] as const;
const NUMBER_FIELDS = ["lockTtlSeconds", "lockWaitSeconds", "restartTimeoutSeconds"] as const;

/** The configuration in `file`, or a usage error naming what is wrong with it. */
export function readNodeSyncConfig(file: string): NodeSyncConfig {
    let value: Record<string, unknown>;
    try {
        value = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    } catch (e) {
        throw new UsageError(`--config ${file}: ${(e as Error).message}`);
    }
    const wrong = [
        ...STRING_FIELDS.filter((f) => typeof value[f] !== "string"),
        ...NUMBER_FIELDS.filter((f) => typeof value[f] !== "number"),
        ...(["endpoints", "restartPathPrefixes"] as const).filter(
            (f) => !Array.isArray(value[f]) || !(value[f] as unknown[]).every((v) => typeof v === "string"),
        ),
    ];
    if (wrong.length > 0) {
        throw new UsageError(
            `--config ${file} is not a node-sync configuration secure-etcd rendered: ${wrong.join(", ")} missing or of the wrong type`,
        );
    }
    return value as unknown as NodeSyncConfig;
}

export function addNodeSyncCommand(program: Command): void {
    program
        .command("node-sync")
        .description(
            "Converge this member to its bundle in Secrets Manager: write what changed (mode and owner first, atomically); restart etcd for a changed manifest only under the cluster's lock while every other member is healthy.",
        )
        .option("--config <file>", "the rendered configuration", NODE_SYNC_CONFIG_PATH)
        .option("--root <dir>", "write node paths under this directory instead of / (tests, chroots)", "/")
        .option("--secrets-manager-endpoint <url>", "a Secrets Manager stand-in (tests)")
        .action(async (opts: NodeSyncCliOptions) => {
            const log = (line: string) => process.stdout.write(`secure-etcd node-sync: ${line}\n`);
            try {
                const config = readNodeSyncConfig(opts.config);
                const result = await runNodeSync({
                    config,
                    root: opts.root,
                    secretsManagerEndpoint: opts.secretsManagerEndpoint,
                    log,
                });
                log(
                    result.changed.length === 0
                        ? "nothing changed"
                        : `changed ${result.changed.length} file(s)${result.restarted ? ", etcd restarted" : ""}`,
                );
            } catch (e) {
                process.stderr.write(`secure-etcd node-sync: ${(e as Error).message}\n`);
                process.exitCode = e instanceof UsageError ? 2 : 1;
            }
        });
}
