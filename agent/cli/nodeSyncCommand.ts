// `secure-etcd node-sync`: what secure-etcd-node-sync.timer runs on every member. Reads the
// rendered configuration, converges the member to its bundle, and exits 1 when it could not (the
// reason on stderr and in the state file), 2 on a usage error.
import { Command } from "commander";
import { NODE_SYNC_CONFIG_PATH, NodeSyncConfig } from "../../src/nodes/nodeSync";
import { runNodeSync } from "../sync/nodeSync";
import { readRenderedConfig, UsageError } from "./renderedConfig";

interface NodeSyncCliOptions {
    config: string;
    root: string;
    secretsManagerEndpoint?: string;
}

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
    return readRenderedConfig(file, "node-sync", {
        strings: STRING_FIELDS,
        numbers: NUMBER_FIELDS,
        stringLists: ["endpoints", "restartPathPrefixes"],
    }) as unknown as NodeSyncConfig;
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
