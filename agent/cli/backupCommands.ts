// `secure-etcd backup` and `secure-etcd restore-verify`. A member runs `backup --config` from its
// systemd timer with the file the component rendered; a person can give every setting as options.
import { Command, Option } from "commander";
import * as fs from "fs";
import {
    agentConfigProblems,
    BackupAgentConfig,
    BACKUP_CLIENT_PATHS,
    backupPrefix,
} from "../../src/backup/agentConfig";
import { BackupOptions, describeError, runBackup } from "../backup/backup";
import { KeyringChoice } from "../backup/envelope";
import { AgentLog, defaultLog, structuredLog } from "../backup/log";
import { RestoreVerifyOptions, runRestoreVerify } from "../backup/restoreVerify";

interface CommonOptions {
    project?: string;
    stack?: string;
    cluster?: string;
    bucket?: string;
    prefix?: string;
    region?: string;
    s3Endpoint?: string;
    kmsKeyArn?: string;
    kmsEndpoint?: string;
    rawKeyFile?: string;
    json?: boolean;
}

interface BackupCliOptions extends CommonOptions {
    config?: string;
    endpoints?: string;
    cacert?: string;
    cert?: string;
    key?: string;
    sseKmsKeyArn?: string;
    onlyIfLeader?: boolean;
    partSizeMib?: string;
}

interface RestoreCliOptions extends CommonOptions {
    object?: string;
    restore?: boolean;
    keepDir?: string;
}

/** A usage problem: printed without a stack, exit 2. */
class UsageError extends Error {}

function readConfig(file: string): Partial<BackupAgentConfig> {
    let value: unknown;
    try {
        value = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`--config ${file}: ${(e as Error).message}`);
    }
    const problems = agentConfigProblems(value);
    if (problems.length > 0) {
        throw new UsageError(`--config ${file}:\n  ${problems.join("\n  ")}`);
    }
    return value as BackupAgentConfig;
}

function need<T>(value: T | undefined, option: string): T {
    if (value === undefined || value === "") {
        throw new UsageError(`${option} is required (or give it in --config)`);
    }
    return value;
}

function keyringOf(opts: CommonOptions, configKey?: string): KeyringChoice {
    if (opts.rawKeyFile !== undefined) {
        return { rawKeyFile: opts.rawKeyFile };
    }
    return {
        kmsKeyArn: need(opts.kmsKeyArn ?? configKey, "--kms-key-arn (or --raw-key-file)"),
        kmsEndpoint: opts.kmsEndpoint,
    };
}

function logOf(opts: CommonOptions): AgentLog {
    return opts.json ? structuredLog() : defaultLog();
}

function commonOptions(command: Command): Command {
    return command
        .option("--project <name>", "the Pulumi project of the cluster's stack (the encryption context)")
        .option("--stack <name>", "the Pulumi stack that owns the cluster (the encryption context)")
        .option("--cluster <name>", "the cluster's name, the component's (object keys and the encryption context)")
        .option("--bucket <name>", "the backup bucket")
        .option("--prefix <prefix>", "object-key prefix (default etcd-backups/<cluster>/)")
        .option("--region <region>", "the bucket's region (default AWS_REGION)")
        .option("--s3-endpoint <url>", "an S3-compatible endpoint (path-style), e.g. a VPC endpoint or a local server")
        .option("--kms-key-arn <arn>", "the backup KMS key: wraps each backup's data key")
        .option("--kms-endpoint <url>", "a KMS endpoint (e.g. a VPC endpoint)")
        .addOption(
            new Option(
                "--raw-key-file <file>",
                "a base64 256-bit key instead of KMS: for tests and air-gapped restores only",
            ),
        )
        .option("--json", "structured log lines even at a terminal");
}

function reportFailure(log: AgentLog, event: string, e: Error): number {
    log.close();
    if (e instanceof UsageError) {
        process.stderr.write(`secure-etcd: ${e.message}\n`);
        return 2;
    }
    log.error(event, describeError(e));
    return 1;
}

/** What `backup` runs with: options first, then the rendered config, then the defaults. */
function backupSettings(opts: BackupCliOptions, log: AgentLog): BackupOptions {
    const config = opts.config ? readConfig(opts.config) : {};
    const cluster = need(opts.cluster ?? config.cluster, "--cluster");
    const partSizeMib = Number(opts.partSizeMib);
    if (!Number.isInteger(partSizeMib) || partSizeMib < 5) {
        throw new UsageError("--part-size-mib must be a whole number of at least 5 (S3's minimum part size)");
    }
    const keyring = keyringOf(opts, config.kmsKeyArn);
    return {
        project: need(opts.project ?? config.project, "--project"),
        stack: need(opts.stack ?? config.stack, "--stack"),
        cluster,
        endpoints: need(opts.endpoints?.split(",") ?? config.endpoints, "--endpoints"),
        cacert: opts.cacert ?? config.cacert ?? BACKUP_CLIENT_PATHS.cacert,
        cert: opts.cert ?? config.cert ?? BACKUP_CLIENT_PATHS.cert,
        key: opts.key ?? config.key ?? BACKUP_CLIENT_PATHS.key,
        bucket: need(opts.bucket ?? config.bucket, "--bucket"),
        prefix: opts.prefix ?? config.prefix ?? backupPrefix(cluster),
        region: need(opts.region ?? config.region ?? process.env.AWS_REGION, "--region"),
        endpoint: opts.s3Endpoint,
        keyring,
        sseKmsKeyArn: opts.sseKmsKeyArn ?? opts.kmsKeyArn ?? config.kmsKeyArn,
        onlyIfLeader: opts.onlyIfLeader ?? config.onlyIfLeader ?? false,
        partSize: partSizeMib * 1024 * 1024,
        tiers: config.tiers,
        log,
    };
}

/** What `restore-verify` runs with, from its options alone. */
function restoreVerifySettings(opts: RestoreCliOptions, log: AgentLog): RestoreVerifyOptions {
    const cluster = need(opts.cluster, "--cluster");
    return {
        project: need(opts.project, "--project"),
        stack: need(opts.stack, "--stack"),
        cluster,
        bucket: need(opts.bucket, "--bucket"),
        prefix: opts.prefix ?? backupPrefix(cluster),
        region: need(opts.region ?? process.env.AWS_REGION, "--region"),
        endpoint: opts.s3Endpoint,
        objectKey: opts.object,
        keyring: keyringOf(opts),
        restore: opts.restore === true,
        keepDir: opts.keepDir,
        log,
    };
}

function addBackupCommand(program: Command): void {
    commonOptions(
        program
            .command("backup")
            .description(
                "Stream a snapshot from etcd, encrypt it client-side (envelope encryption) and upload it to S3 " +
                    "(multipart, SSE-KMS), then write its manifest. Exit 0 on success or when skipped as a follower.",
            )
            .option("--config <file>", "settings rendered by the component (/etc/secure-etcd/backup.json); options win")
            .option("--endpoints <urls>", "comma-separated etcd client URLs")
            .option("--cacert <file>", `etcd CA (default ${BACKUP_CLIENT_PATHS.cacert})`)
            .option("--cert <file>", `backup client certificate (default ${BACKUP_CLIENT_PATHS.cert})`)
            .option("--key <file>", `backup client key (default ${BACKUP_CLIENT_PATHS.key})`)
            .option("--sse-kms-key-arn <arn>", "the key S3 encrypts with (default: --kms-key-arn)")
            .option("--only-if-leader", "do nothing unless the (first) endpoint's member is the leader")
            .option("--part-size-mib <n>", "multipart part size in MiB (minimum 5)", "8"),
    ).action(async (opts: BackupCliOptions) => {
        const log = logOf(opts);
        let code = 0;
        try {
            await runBackup(backupSettings(opts, log));
        } catch (e) {
            code = reportFailure(log, "backup.failed", e as Error);
        }
        process.exit(code);
    });
}

function addRestoreVerifyCommand(program: Command): void {
    commonOptions(
        program
            .command("restore-verify")
            .description(
                "Download a backup, decrypt it, check its SHA-256 and etcd's snapshot status, and with --restore " +
                    "restore it into a temporary data dir and count its keys with a throwaway etcd on loopback.",
            )
            .option(
                "--object <key>",
                "the snapshot object's key (default: the newest backup under --prefix, by when S3 wrote it, that passes every check)",
            )
            .option("--restore", "restore into a data dir and serve it from a throwaway etcd to count every key")
            .option(
                "--keep-dir <dir>",
                "keep the decrypted snapshot and restored data here (root-only) instead of deleting them",
            ),
    ).action(async (opts: RestoreCliOptions) => {
        const log = logOf(opts);
        let code = 0;
        try {
            const report = await runRestoreVerify(restoreVerifySettings(opts, log));
            log.info("restore-verify.ok", {
                object: report.objectKey,
                revision: report.manifest.revision,
                createdAt: report.manifest.createdAt,
                // Newer backups that were not authentic (each logged as restore-verify.refused).
                refused: report.refused.length,
                sha256: report.manifest.sha256,
                keys: report.restored?.keys,
                contentSha256: report.restored?.sha256,
            });
        } catch (e) {
            code = reportFailure(log, "restore-verify.failed", e as Error);
        }
        process.exit(code);
    });
}

/** `secure-etcd backup` and `secure-etcd restore-verify`. */
export function addBackupCommands(program: Command): void {
    addBackupCommand(program);
    addRestoreVerifyCommand(program);
}
