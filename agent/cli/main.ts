#!/usr/bin/env node
// The `secure-etcd` command: the node agent that ships with the component (backups, restore
// verification, verify). It imports nothing from testing/: the local demo has its own entry.
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { addBackupCommands } from "./backupCommands";
import { addMaintenanceCommand } from "./maintenanceCommand";
import { addNodeSyncCommand } from "./nodeSyncCommand";
import { addRestoreMemberCommand } from "./restoreCommand";
import { addVerifyCommand } from "./verifyCommand";

/** Set by scripts/build-agent.mjs in the one-file artifact, which has no package.json beside it. */
declare const SECURE_ETCD_BUNDLED_VERSION: string | undefined;

/**
 * The package's version: built into the artifact, else from the package.json above this file
 * (dist/agent/cli or build/agent/cli).
 */
function packageVersion(): string {
    if (typeof SECURE_ETCD_BUNDLED_VERSION === "string") {
        return SECURE_ETCD_BUNDLED_VERSION;
    }
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        try {
            const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
                name?: string;
                version?: string;
            };
            if (pkg.name === "secure-etcd" && pkg.version) {
                return pkg.version;
            }
        } catch {
            // no package.json here
        }
    }
    return "unknown";
}

const program = new Command()
    .name("secure-etcd")
    .description("Tools that ship with the secure-etcd Pulumi component.")
    .version(packageVersion());

addBackupCommands(program);
addVerifyCommand(program);
addNodeSyncCommand(program);
addRestoreMemberCommand(program);
addMaintenanceCommand(program);

program.parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`secure-etcd: ${e.stack ?? e.message}\n`);
    process.exit(1);
});
