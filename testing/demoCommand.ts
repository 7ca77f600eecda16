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
    .option(
        "--etcd-version <line-or-release>",
        "the etcd to run, e.g. 3.5 or 3.5.16: the one on PATH if it is that, else Debian's, fetched into " +
            "~/.cache/secure-etcd/etcd (default: the etcd on PATH, else the newest 3.5)",
    )
    .action(async (opts: { check?: boolean; keepDir?: boolean; etcdVersion?: string }) => {
        const code = await runDemo({
            check: opts.check === true,
            keepDir: opts.keepDir === true,
            etcdVersion: opts.etcdVersion,
        });
        // Exit now: probe sockets or SDK timers must not hold the process open after the cluster is gone.
        process.exit(code);
    })
    .parseAsync(process.argv)
    .catch((e: Error) => {
        process.stderr.write(`demo: ${e.stack ?? e.message}\n`);
        process.exit(1);
    });
