// `secure-etcd node-sync`: converge this member to its bundle. Files that etcd reads per connection
// (certificates, keys, CRLs) and the node's other files are written as soon as they differ; a
// changed static-pod manifest restarts etcd, so it is written only under the cluster's restart
// lock, after every other member proved healthy, and the lock is held until this member is
// healthy again. A run that cannot restart safely changes no manifest and fails (the timer tries
// again; the failures show in the metrics).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NodeFile } from "../../src/manifests/nodeFiles";
import { NODE_SYNC_CONFIG_PATH, NodeSyncConfig } from "../../src/nodes/nodeSync";
import { accessUnder } from "../etcdClient";
import { fetchMemberBundle, readBundleSource } from "./bundle";
import { differences, onHost, writeEntry } from "./files";
import { certificateExpiries, nextState, readState, renderSyncMetrics, SyncState, writePublic } from "./report";
import {
    ensureOwnUser,
    joinAsLearner,
    memberList,
    MembershipCredential,
    membershipState,
    promoteWhenInSync,
    removeLeavers,
} from "./membership";
import { acquireRestartLock, clusterHealth, EtcdAccess, memberStartTime, waitForRestart } from "./restart";

export interface NodeSyncOptions {
    config: NodeSyncConfig;
    /** Where node paths land: "/" on a node; a directory for tests and chroots. */
    root: string;
    /** A Secrets Manager stand-in; on a node the SDK's default endpoint. */
    secretsManagerEndpoint?: string;
    log: (line: string) => void;
}

export interface NodeSyncResult {
    changed: string[];
    restarted: boolean;
    state: SyncState;
}

const SYSTEMD_UNITS = "/etc/systemd/system/";

const access = (config: NodeSyncConfig, root: string): EtcdAccess => accessUnder(config, root);

/** Runs an entry's `apply` command; under a test root only records it (never touch this host). */
function runCommand(root: string, command: string[], log: (line: string) => void): void {
    if (root !== "/") {
        fs.appendFileSync(onHost(root, "/.secure-etcd-applied"), `${JSON.stringify(command)}\n`);
        return;
    }
    const result = spawnSync(command[0], command.slice(1), { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`${command.join(" ")} failed: ${(result.stderr || result.error?.message || "").trim()}`);
    }
    log(`ran ${command.join(" ")}`);
}

/** Writes every differing entry that does not restart etcd; returns what it wrote. */
function convergeFiles(options: NodeSyncOptions, entries: NodeFile[]): string[] {
    const { root, log } = options;
    const written: NodeFile[] = [];
    for (const entry of entries) {
        const diff = differences(root, entry);
        if (diff.length > 0) {
            writeEntry(root, entry);
            written.push(entry);
            log(`wrote ${entry.path} (${diff.join(", ")})`);
        }
    }
    if (written.some((e) => e.path.startsWith(SYSTEMD_UNITS))) {
        runCommand(root, ["systemctl", "daemon-reload"], log);
    }
    for (const entry of written.filter((e) => e.apply)) {
        runCommand(
            root,
            entry.apply!.map((part) => part.replace("{path}", onHost(root, entry.path))),
            log,
        );
    }
    return written.map((e) => e.path);
}

async function healthOrThrow(etcd: EtcdAccess, except: string | undefined, what: string): Promise<void> {
    const health = await clusterHealth(etcd, except);
    if (health.problems.length > 0) {
        throw new Error(`${what}: ${health.problems.join("; ")}`);
    }
}

/** Writes the changed manifests under the restart lock and waits for this member to return. */
async function restartWith(options: NodeSyncOptions, manifests: NodeFile[]): Promise<void> {
    const { config, root, log } = options;
    const etcd = access(config, root);
    const notNow = "not restarting etcd now, the manifest stays as it was";
    // The lock first: a member down because its holder is restarting it is not a reason to give
    // up, and the holder lets go only once every member answers again. Then the health check.
    const lock = await acquireRestartLock(
        etcd,
        config.lockKey,
        config.member,
        config.lockTtlSeconds,
        config.lockWaitSeconds,
        log,
    );
    try {
        await healthOrThrow(etcd, config.memberEndpoint, `the cluster is not healthy, ${notNow}`);
        const startedBefore = await memberStartTime(config.localMetricsUrl);
        for (const entry of manifests) {
            writeEntry(root, entry);
            log(`wrote ${entry.path} holding ${config.lockKey}; waiting for etcd to restart`);
        }
        await waitForRestart(config.localMetricsUrl, startedBefore, config.restartTimeoutSeconds);
        // Hold the lock until the whole cluster, this member included, answers again.
        const deadline = Date.now() + config.restartTimeoutSeconds * 1000;
        for (;;) {
            const health = await clusterHealth(etcd);
            if (health.problems.length === 0) {
                break;
            }
            if (Date.now() > deadline) {
                throw new Error(`after the restart the cluster is not healthy: ${health.problems.join("; ")}`);
            }
            await new Promise((r) => setTimeout(r, 1000));
        }
        log(`etcd restarted and the cluster is healthy; releasing ${config.lockKey}`);
    } finally {
        await lock.release();
    }
}

async function converge(given: NodeSyncOptions): Promise<{ changed: string[]; restarted: boolean }> {
    const source = readBundleSource(onHost(given.root, given.config.bundleSource));
    const bundle = await fetchMemberBundle(source, given.secretsManagerEndpoint);
    const restarts = (e: NodeFile) =>
        !e.directory && given.config.restartPathPrefixes.some((p) => e.path.startsWith(p));
    const changed = convergeFiles(
        given,
        bundle.files.filter((e) => !restarts(e)),
    );
    // The rest of the run follows the configuration just written: a change of members changes the
    // endpoints, the health check's member set and the membership to converge to.
    const options = { ...given, config: withBundleConfig(given.config, bundle.files) };
    const { config, root } = options;
    const membership = await convergeMembership(options, bundle.membershipCredential);
    changed.push(...membership.done);
    const manifests = bundle.files.filter((e) => restarts(e) && differences(root, e).length > 0);
    if (manifests.length > 0 && membership.learnerId === undefined) {
        await restartWith(options, manifests);
    } else if (manifests.length > 0) {
        // A learner counts toward no quorum: its etcd (re)starts without the lock.
        manifests.forEach((entry) => writeEntry(root, entry));
        options.log(`wrote ${manifests.map((e) => e.path).join(", ")} for this learner`);
    }
    changed.push(...manifests.map((e) => e.path));
    if (membership.learnerId !== undefined) {
        await promoteWhenInSync(
            {
                config,
                access: {
                    ...access(config, root),
                    endpoints: config.endpoints.filter((e) => e !== config.memberEndpoint),
                },
                credential: bundle.membershipCredential,
                log: options.log,
            },
            membership.learnerId,
            config.restartTimeoutSeconds,
        );
        changed.push(`promoted ${config.member}`);
    }
    return { changed, restarted: manifests.length > 0 };
}

/** The configuration as the bundle renders it now, over the one this run started with. */
function withBundleConfig(config: NodeSyncConfig, files: NodeFile[]): NodeSyncConfig {
    const rendered = files.find((f) => f.path === NODE_SYNC_CONFIG_PATH);
    return rendered ? { ...config, ...(JSON.parse(rendered.content) as Partial<NodeSyncConfig>) } : config;
}

/**
 * etcd's member list converged toward the rendered member set: leavers removed (by the remover),
 * this member registered as a learner when it is not a member yet. Says whether this member is a
 * learner (its id), and what it changed.
 */
async function convergeMembership(
    options: NodeSyncOptions,
    credential: MembershipCredential | undefined,
): Promise<{ learnerId?: string; done: string[] }> {
    const { config, root, log } = options;
    const desired = config.membership?.members;
    const own = desired?.find((m) => m.name === config.member);
    if (!desired || !own) {
        return { done: [] };
    }
    const etcd = access(config, root);
    const others = desired.filter((m) => m.name !== config.member).map((m) => m.clientUrl);
    const members = await memberListFromAny(etcd, [...others, own.clientUrl]);
    const state = membershipState(members, desired, own.peerUrl);
    // Membership requests go to the other members: this one may not run yet, or be a learner.
    const step = {
        config,
        access: { ...etcd, endpoints: others.length > 0 ? others : [own.clientUrl] },
        credential,
        log,
    };
    const done = await removeLeavers(step, members, state);
    if (!state.self || state.self.isLearner) {
        // A replaced instance still running under the same name reads the same bundle: only the
        // host that has the member's address may join as it.
        const host = new URL(own.peerUrl).hostname.replace(/^\[|\]$/g, "");
        if (!hostAddresses().includes(host)) {
            throw new Error(
                `this node does not have ${host}, the address of ${config.member} in members: it is not that member's instance (a replaced instance still running?); retire it`,
            );
        }
    }
    if (!state.self) {
        await joinAsLearner(step, state, own.peerUrl);
        await ensureOwnUser(step);
        const self = membershipState(await memberListFromAny(etcd, others), desired, own.peerUrl).self;
        return { learnerId: self?.ID, done: [...done, `joined ${config.member} as a learner`] };
    }
    if (state.self.isLearner) {
        await ensureOwnUser(step);
        return { learnerId: state.self.ID, done };
    }
    return { done };
}

/** Every address of this host's interfaces. */
function hostAddresses(): string[] {
    return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** The member list from the first endpoint that answers. */
async function memberListFromAny(etcd: EtcdAccess, endpoints: string[]) {
    const problems: string[] = [];
    for (const endpoint of endpoints) {
        try {
            return await memberList(etcd, [endpoint]);
        } catch (e) {
            problems.push(`${endpoint}: ${(e as Error).message}`);
        }
    }
    throw new Error(`no member answers a member list: ${problems.join("; ")}`);
}

/** One run: converge, then record the outcome (state file and metrics) whatever it was. */
export async function runNodeSync(options: NodeSyncOptions): Promise<NodeSyncResult> {
    const { config, root } = options;
    const statePath = onHost(root, config.statePath);
    let outcome: { succeeded: boolean; changed: string[]; restarted: boolean; error?: string };
    let failure: Error | undefined;
    try {
        outcome = { succeeded: true, ...(await converge(options)) };
    } catch (e) {
        failure = e as Error;
        outcome = { succeeded: false, changed: [], restarted: false, error: failure.message };
    }
    const state = nextState(readState(statePath), Math.floor(Date.now() / 1000), outcome);
    writePublic(statePath, `${JSON.stringify(state)}\n`);
    const pkiDir = onHost(root, "/etc/kubernetes/pki");
    const certificateFiles = fs.existsSync(pkiDir)
        ? listCertificateFiles(pkiDir).map((onDisk) => ({
              path: `/${path.relative(path.resolve(root), onDisk)}`,
              onDisk,
          }))
        : [];
    writePublic(
        onHost(root, config.metricsPath),
        renderSyncMetrics(config, state, certificateExpiries(certificateFiles)),
    );
    if (failure) {
        throw failure;
    }
    return { changed: outcome.changed, restarted: outcome.restarted, state };
}

/** The `.crt` files under a directory, recursively, in a stable order. */
function listCertificateFiles(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))
        .flatMap((d) => {
            const full = `${dir}/${d.name}`;
            if (d.isDirectory()) {
                return listCertificateFiles(full);
            }
            return d.isFile() && d.name.endsWith(".crt") ? [full] : [];
        });
}
