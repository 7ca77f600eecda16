#!/usr/bin/env node
// `npm run demo`: the local demo's own entry. It runs the component under the local stand-ins, so it
// lives with them in testing/ and is not part of the shipped `secure-etcd` command.
import { Command } from "commander";
import { runDemo } from "./demo";

new Command()
    .name("npm run demo --")
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
    })
    .parseAsync(process.argv)
    .catch((e: Error) => {
        process.stderr.write(`demo: ${e.stack ?? e.message}\n`);
        process.exit(1);
    });
