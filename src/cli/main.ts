#!/usr/bin/env node
// The `secure-etcd` command: runtime tools that ship with the component.
import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { addBackupCommands } from "./backupCommands";
import { runDemo } from "./demo";
import { addVerifyCommand } from "./verifyCommand";

/** The package's version, from the package.json above this file (dist/cli or build/src/cli). */
function packageVersion(): string {
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

program
    .command("demo")
    .description(
        "Run a hardened three-member etcd cluster on loopback (127.0.0.1-3) from the component's own " +
            "artifacts, print how to reach it, and probe every security promise. Ctrl-C stops it.",
    )
    .option("--check", "run the probes, then stop; exit 0 only if every probe passed")
    .option("--keep-dir", "keep the temporary directory (certificates, keys, data, logs) after stopping")
    .action(async (opts: { check?: boolean; keepDir?: boolean }) => {
        const code = await runDemo({ check: opts.check === true, keepDir: opts.keepDir === true });
        // Exit now: probe sockets or SDK timers must not hold the process open after the cluster is gone.
        process.exit(code);
    });

addBackupCommands(program);
addVerifyCommand(program);

program.parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`secure-etcd: ${e.stack ?? e.message}\n`);
    process.exit(1);
});
