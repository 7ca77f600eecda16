// `secure-etcd restore-member --config /etc/secure-etcd/restore.json`: this member's part of a
// whole-cluster restore (agent/restore/restoreMember.ts). Exit 0 when restored (or when it had
// been under this restore id already), 1 when refused or failed (the reason on stderr and in the
// log), 2 on a usage error.
import { Command } from "commander";
import { agentConfigProblems, BackupAgentConfig } from "../../src/backup/agentConfig";
import { RESTORE_CONFIG_PATH, restoreConfigProblems, RestoreMemberConfig } from "../../src/restore/restoreConfig";
import { describeError } from "../backup/backup";
import { defaultLog, structuredLog } from "../backup/log";
import { runRestoreMember } from "../restore/restoreMember";
import { onHost } from "../sync/files";
import { readJsonFile, UsageError } from "./renderedConfig";

interface RestoreMemberCliOptions {
    config: string;
    root: string;
    wait: boolean;
    waitMinutes: string;
    s3Endpoint?: string;
    rawKeyFile?: string;
    json?: boolean;
}

function readJson(file: string, problemsOf: (v: unknown) => string[], what: string): unknown {
    const value = readJsonFile(file);
    const problems = problemsOf(value);
    if (problems.length > 0) {
        throw new UsageError(`${file} is not ${what} secure-etcd rendered:\n  ${problems.join("\n  ")}`);
    }
    return value;
}

async function restoreMemberAction(opts: RestoreMemberCliOptions): Promise<number> {
    const log = opts.json ? structuredLog() : defaultLog();
    try {
        const config = readJson(opts.config, restoreConfigProblems, "a restore request") as RestoreMemberConfig;
        const backup = readJson(
            onHost(opts.root, config.backupConfig),
            agentConfigProblems,
            "a backup agent configuration",
        ) as BackupAgentConfig;
        const minutes = Number(opts.waitMinutes);
        if (!(minutes > 0)) {
            throw new UsageError("--wait-minutes must be a positive number");
        }
        const outcome = await runRestoreMember({
            config,
            backup,
            root: opts.root,
            log,
            s3Endpoint: opts.s3Endpoint,
            rawKeyFile: opts.rawKeyFile,
            wait: opts.wait,
            waitTimeoutMs: minutes * 60_000,
            stopTimeoutMs: 120_000,
        });
        log.info("restore-member.ok", { outcome, restoreId: config.restoreId });
        return 0;
    } catch (e) {
        log.close();
        if (e instanceof UsageError) {
            process.stderr.write(`secure-etcd restore-member: ${e.message}\n`);
            return 2;
        }
        log.error("restore-member.failed", describeError(e as Error));
        process.stderr.write(`secure-etcd restore-member: ${(e as Error).message}\n`);
        return 1;
    }
}

export function addRestoreMemberCommand(program: Command): void {
    program
        .command("restore-member")
        .description(
            "Restore this member from the backup its restore request names, as part of restoring the whole " +
                "cluster: refuse over a running cluster, verify and decrypt the backup as restore-verify does, " +
                "restore it, serve clients on loopback only until every member is restored and running, then " +
                "put the rendered manifest back. Does nothing once done under the same restore id.",
        )
        .option("--config <file>", "the rendered restore request", RESTORE_CONFIG_PATH)
        .option("--root <dir>", "node paths under this directory instead of / (tests, chroots)", "/")
        .option("--no-wait", "stop at the quarantine (a later run waits for the cluster and releases)")
        .option("--wait-minutes <n>", "how long to wait for every member to be restored and running", "60")
        .option("--s3-endpoint <url>", "an S3-compatible endpoint (path-style), e.g. a VPC endpoint or a local server")
        .option("--raw-key-file <file>", "a base64 256-bit key instead of KMS: for tests and air-gapped restores only")
        .option("--json", "structured log lines even at a terminal")
        .action(async (opts: RestoreMemberCliOptions) => {
            process.exit(await restoreMemberAction(opts));
        });
}
