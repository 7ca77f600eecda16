// `secure-etcd maintenance`: what secure-etcd-maintenance.timer runs on every member. Reads the
// rendered configuration and runs once; exits 1 when the run failed (the reason on stderr and in
// the state file), 2 on a usage error.
import { Command } from "commander";
import { MAINTENANCE_CONFIG_PATH, MaintenanceConfig } from "../../src/maintenance/maintenance";
import { runMaintenance } from "../maintenance/maintenance";
import { readRenderedConfig, UsageError } from "./renderedConfig";

const STRING_FIELDS = [
    "cluster",
    "member",
    "memberEndpoint",
    "cacert",
    "cert",
    "key",
    "lockKey",
    "statePath",
    "metricsPath",
] as const;
const NUMBER_FIELDS = [
    "lockTtlSeconds",
    "lockWaitSeconds",
    "healthTimeoutSeconds",
    "quotaBackendBytes",
    "fragmentedRatio",
    "quotaRatio",
    "minFragmentedBytes",
] as const;

/** The configuration in `file`, or a usage error naming what is wrong with it. */
export function readMaintenanceConfig(file: string): MaintenanceConfig {
    return readRenderedConfig(file, "maintenance", {
        booleans: ["onlyIfLeader"],
        strings: STRING_FIELDS,
        numbers: NUMBER_FIELDS,
        stringLists: ["endpoints"],
        nonEmpty: ["endpoints"],
    }) as unknown as MaintenanceConfig;
}

export function addMaintenanceCommand(program: Command): void {
    program
        .command("maintenance")
        .description(
            "On the member that leads: defragment the members that need it (followers first, the leader last, one at a time) under the cluster's restart lock while every member is healthy; under NOSPACE, compact if needed, defragment and disarm the alarm once space is back.",
        )
        .option("--config <file>", "the rendered configuration", MAINTENANCE_CONFIG_PATH)
        .option("--root <dir>", "read and write node paths under this directory instead of / (tests)", "/")
        .action(async (opts: { config: string; root: string }) => {
            const log = (line: string) => process.stdout.write(`secure-etcd maintenance: ${line}\n`);
            try {
                const config = readMaintenanceConfig(opts.config);
                const result = await runMaintenance({ config, root: opts.root, log });
                if (result.acted) {
                    log(
                        result.defragmented.length === 0
                            ? "nothing to defragment"
                            : `defragmented ${result.defragmented.join(", ")}`,
                    );
                }
            } catch (e) {
                process.stderr.write(`secure-etcd maintenance: ${(e as Error).message}\n`);
                process.exitCode = e instanceof UsageError ? 2 : 1;
            }
        });
}
