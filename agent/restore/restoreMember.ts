// `secure-etcd restore-member`: one member's part of restoring the whole cluster from a backup.
//
//   1. Preflight, touching nothing: refuse when a member of the cluster answers on its client port
//      or this member's data dir holds data (unless `overRunningCluster`).
//   2. Hold: the member's static-pod manifest, if there is one yet (at first boot the boot script
//      writes it after this step), moves into the restore's state folder, so no etcd runs here
//      while the restore is under way, or after it failed.
//   3. Fetch, verify and decrypt the backup exactly as `restore-verify` does (its own functions),
//      and `snapshot restore` it with every member's name and peer URL, `--bump-revision` and
//      `--mark-compacted` where the tool has them, into a staging folder renamed over the data dir
//      (owned by etcd, 0700) only when whole.
//   4. Quarantine: a table of its own in nftables refuses clients on the client port from anywhere
//      but loopback (./quarantine.ts); then a held manifest comes back and etcd may start.
//   5. Release: once this member sees a leader and every member started (each has published its
//      client URLs through raft: each was restored and runs), the quarantine table goes.
//
// Markers in the state folder (named by the restore id) make each step happen once: a member that
// restored under an id never restores again, on a reboot or on the next `pulumi up`.
import * as fs from "fs";
import * as path from "path";
import { BackupAgentConfig } from "../../src/backup/agentConfig";
import { ETCD_PORTS } from "../../src/manifests/nodeLayout";
import { LATEST_BACKUP, RESTORE_BUMP_REVISION, RestoreMemberConfig } from "../../src/restore/restoreConfig";
import { KeyringChoice } from "../backup/envelope";
import { AgentLog } from "../backup/log";
import { runRestoreVerify } from "../backup/restoreVerify";
import { findSnapshotTool, restoreSnapshot } from "../backup/snapshotTool";
import { onHost, writeEntry } from "../sync/files";
import { memberFlags, MemberFlags } from "./memberManifest";
import { answers, EtcdAccess, clusterStarted } from "./probe";
import { liftQuarantine, raiseQuarantine } from "./quarantine";

export interface RestoreMemberOptions {
    config: RestoreMemberConfig;
    /** The member's backup agent configuration (bucket, identity, credentials). */
    backup: BackupAgentConfig;
    /** Node paths land under this directory (tests, chroots). */
    root: string;
    log: AgentLog;
    /** An S3-compatible endpoint (tests, VPC endpoints). */
    s3Endpoint?: string;
    /** Instead of the backup KMS key (tests, air-gapped restores). */
    rawKeyFile?: string;
    /** After the quarantine, wait for the whole cluster and release; else stop at the quarantine. */
    wait: boolean;
    /** How long to wait for the whole cluster. */
    waitTimeoutMs: number;
    /** With the override: how long to wait for this member's etcd to stop once its manifest is held. */
    stopTimeoutMs: number;
}

export type RestoreOutcome = "already-restored" | "quarantined" | "released";

/** Why a restore will not go ahead or failed: printed as it is, exit 1. */
export class RestoreRefused extends Error {}

interface Paths {
    state: string;
    /** The rendered manifest, held here from step 2 to step 4. */
    held: string;
    restored: string;
    done: string;
    work: string;
    manifest: string;
}

function pathsOf(options: RestoreMemberOptions): Paths {
    const state = onHost(options.root, path.join(options.config.stateDir, options.config.restoreId));
    return {
        state,
        held: path.join(state, "etcd.yaml"),
        restored: path.join(state, "restored"),
        done: path.join(state, "done"),
        work: path.join(state, "work"),
        manifest: onHost(options.root, options.config.manifest),
    };
}

function accessOf(options: RestoreMemberOptions): Omit<EtcdAccess, "endpoints"> {
    return {
        cacert: onHost(options.root, options.backup.cacert),
        cert: onHost(options.root, options.backup.cert),
        key: onHost(options.root, options.backup.key),
    };
}

/** The client URL a member's peer URL implies: the same host on the client port. */
function clientUrlOf(peerUrl: string): string {
    const url = new URL(peerUrl);
    url.port = String(ETCD_PORTS.client);
    return url.origin;
}

function holdsData(dir: string): boolean {
    try {
        return fs.readdirSync(dir).length > 0;
    } catch {
        return false;
    }
}

function writeManifest(options: RestoreMemberOptions, content: string): void {
    writeEntry(options.root, { path: options.config.manifest, mode: "0600", owner: "0:0", content, directory: false });
}

/** Step 1: what would be lost or contradicted, before anything is touched. */
async function preflight(options: RestoreMemberOptions, flags: MemberFlags, dataDir: string): Promise<void> {
    if (options.config.overRunningCluster) {
        options.log.info("restore-member.override", { reason: "overRunningCluster: no check for a running cluster" });
        return;
    }
    const endpoints = flags.initialCluster.map((m) => clientUrlOf(m.peerUrl));
    const running = await answers({ ...accessOf(options), endpoints });
    if (running.length > 0) {
        throw new RestoreRefused(
            `a member of this cluster answers at ${running.join(", ")}: refusing to restore over a running cluster; ` +
                "set restoreOverRunningCluster to true to replace its data with the backup",
        );
    }
    if (holdsData(dataDir)) {
        throw new RestoreRefused(
            `this member's data dir ${flags.dataDir} holds data and no restore under id ${options.config.restoreId} ` +
                "finished here: refusing to replace it; set restoreOverRunningCluster to true to replace it with the backup",
        );
    }
}

/** Step 2: no etcd runs here from now until the quarantine is up. */
function hold(options: RestoreMemberOptions, paths: Paths): void {
    fs.mkdirSync(paths.state, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(paths.held) && fs.existsSync(paths.manifest)) {
        fs.writeFileSync(paths.held, fs.readFileSync(paths.manifest), { mode: 0o600 });
    }
    if (fs.existsSync(paths.held)) {
        fs.rmSync(paths.manifest, { force: true });
        options.log.info("restore-member.held", { manifest: options.config.manifest });
    }
}

/** Step 4: clients refused from outside; then a held manifest returns. */
function quarantine(options: RestoreMemberOptions, paths: Paths): void {
    raiseQuarantine();
    if (fs.existsSync(paths.held)) {
        writeManifest(options, fs.readFileSync(paths.held, "utf8"));
        fs.rmSync(paths.held, { force: true });
    }
    options.log.info("restore-member.quarantined", { clients: "loopback only" });
}

/** Step 3: the verified snapshot into the data dir, whole or not at all. */
async function restoreData(options: RestoreMemberOptions, flags: MemberFlags, paths: Paths): Promise<void> {
    const { backup, log } = options;
    const keyring: KeyringChoice = options.rawKeyFile
        ? { rawKeyFile: options.rawKeyFile }
        : { kmsKeyArn: backup.kmsKeyArn };
    const tool = await findSnapshotTool();
    fs.rmSync(paths.work, { recursive: true, force: true });
    try {
        const report = await runRestoreVerify({
            project: backup.project,
            stack: backup.stack,
            cluster: backup.cluster,
            bucket: backup.bucket,
            prefix: backup.prefix,
            region: backup.region,
            endpoint: options.s3Endpoint,
            objectKey: options.config.backup === LATEST_BACKUP ? undefined : options.config.backup,
            keyring,
            restore: false,
            keepDir: paths.work,
            log,
        });
        if (!tool.bumpsRevision) {
            log.info("restore-member.no-bump-revision", {
                tool: path.basename(tool.command),
                consequence:
                    "the revision restarts at the snapshot's: restart every kube-apiserver after the restore so no watch waits for revisions that will never come",
            });
        }
        const dataDir = onHost(options.root, flags.dataDir);
        const staging = `${dataDir}.restoring-${options.config.restoreId}`;
        fs.rmSync(staging, { recursive: true, force: true });
        await restoreSnapshot(tool, path.join(paths.work, "snapshot.db"), {
            dataDir: staging,
            name: flags.name,
            peerUrl: flags.peerUrl,
            initialCluster: flags.initialCluster,
            initialClusterToken: flags.initialClusterToken,
            bumpRevision: tool.bumpsRevision ? RESTORE_BUMP_REVISION : undefined,
        });
        chownTree(staging, flags.uid, flags.gid);
        fs.chmodSync(staging, 0o700);
        replaceDataDir(options, dataDir, staging);
        fs.writeFileSync(paths.restored, `${report.objectKey}\n`, { mode: 0o600 });
        log.info("restore-member.restored", {
            object: report.objectKey,
            revision: report.status.revision,
            bumpRevision: tool.bumpsRevision ? RESTORE_BUMP_REVISION : 0,
            dataDir: flags.dataDir,
        });
    } finally {
        // The decrypted snapshot holds every secret of the cluster.
        fs.rmSync(paths.work, { recursive: true, force: true });
    }
}

function chownTree(dir: string, uid: number, gid: number): void {
    if (process.getuid?.() !== 0) {
        return;
    }
    fs.chownSync(dir, uid, gid);
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            chownTree(p, uid, gid);
        } else {
            fs.chownSync(p, uid, gid);
        }
    }
}

/** The old data, if any (only with the override), moves aside; the restored data takes its place. */
function replaceDataDir(options: RestoreMemberOptions, dataDir: string, staging: string): void {
    if (holdsData(dataDir)) {
        const aside = `${dataDir}.before-restore-${options.config.restoreId}`;
        fs.rmSync(aside, { recursive: true, force: true });
        fs.renameSync(dataDir, aside);
        options.log.info("restore-member.moved-aside", { from: dataDir, to: aside });
    } else {
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
    fs.renameSync(staging, dataDir);
}

/** The member's loopback client URLs: this host reaches its own etcd there, quarantined or not. */
function loopbackUrls(flags: MemberFlags): string[] {
    return flags.listenClientUrls.filter((u) => /\/\/(127\.|\[::1\]|localhost)/.test(u));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * With the override, the member may still run on the data that is about to move aside: wait until
 * its etcd has stopped (the kubelet stops it once the manifest is held).
 */
async function waitStopped(options: RestoreMemberOptions, flags: MemberFlags): Promise<void> {
    if (!holdsData(onHost(options.root, flags.dataDir))) {
        return;
    }
    const endpoints = loopbackUrls(flags);
    const deadline = Date.now() + options.stopTimeoutMs;
    while ((await answers({ ...accessOf(options), endpoints })).length > 0) {
        if (Date.now() > deadline) {
            throw new RestoreRefused(
                `etcd on this member still answers at ${endpoints.join(", ")} ${options.stopTimeoutMs / 1000} s after its manifest was held; stop it, then run restore-member again`,
            );
        }
        await delay(2000);
    }
}

/** Step 5: wait for the whole cluster on this member's loopback client URL, then serve clients. */
async function release(options: RestoreMemberOptions, flags: MemberFlags, paths: Paths): Promise<void> {
    const access = { ...accessOf(options), endpoints: loopbackUrls(flags) };
    const deadline = Date.now() + options.waitTimeoutMs;
    let last = "";
    for (;;) {
        const problem = await clusterStarted(access, flags.initialCluster.length);
        if (problem === undefined) {
            break;
        }
        if (problem !== last) {
            options.log.info("restore-member.waiting", { for: problem });
            last = problem;
        }
        if (Date.now() > deadline) {
            throw new RestoreRefused(
                `the cluster did not come up whole within ${options.waitTimeoutMs / 1000} s (${problem}); ` +
                    "this member stays in quarantine (clients on loopback only); run restore-member again to keep waiting",
            );
        }
        await delay(2000);
    }
    liftQuarantine();
    fs.writeFileSync(paths.done, `${new Date().toISOString()}\n`, { mode: 0o600 });
    options.log.info("restore-member.released", { clients: "as the rendered firewall allows" });
}

/**
 * The member's rendered manifest: held, on disk, or (at first boot, before the boot script writes
 * it) as the restore request carries it.
 */
function readRendered(options: RestoreMemberOptions, paths: Paths): string {
    for (const file of [paths.held, paths.manifest]) {
        if (fs.existsSync(file)) {
            return fs.readFileSync(file, "utf8");
        }
    }
    if (options.config.manifestContent !== undefined) {
        return options.config.manifestContent;
    }
    throw new RestoreRefused(`${options.config.manifest} does not exist and the restore request carries no manifest`);
}

/** Runs whatever of steps 1 to 5 has not happened yet under this restore id. */
export async function runRestoreMember(options: RestoreMemberOptions): Promise<RestoreOutcome> {
    const paths = pathsOf(options);
    const { log, config } = options;
    if (fs.existsSync(paths.done)) {
        log.info("restore-member.already-restored", { restoreId: config.restoreId });
        return "already-restored";
    }
    const flags = memberFlags(readRendered(options, paths), config.manifest);
    if (!fs.existsSync(paths.restored)) {
        // A held manifest means an earlier attempt got past the preflight and failed after it.
        if (!fs.existsSync(paths.held)) {
            await preflight(options, flags, onHost(options.root, flags.dataDir));
        }
        log.info("restore-member.started", { restoreId: config.restoreId, backup: config.backup, member: flags.name });
        hold(options, paths);
        await waitStopped(options, flags);
        await restoreData(options, flags, paths);
    }
    // Again on every run until released: a reboot loses the nftables table.
    quarantine(options, paths);
    if (!options.wait) {
        return "quarantined";
    }
    await release(options, flags, paths);
    return "released";
}
