// `secure-etcd maintenance`: one run. With backups on the timer fires on every member and only the
// run on the member that leads acts (`onlyIfLeader`); with backups off only the first member has
// it. Either way members never defragment each other at once. It takes node sync's restart
// lock (a defragmentation blocks a member as a restart does), refuses to act on a cluster that is
// not healthy (NOSPACE excepted: that is what it fixes), defragments the members that need it,
// followers first and the leader last, waiting for the cluster to be healthy after each, and
// under NOSPACE compacts if needed and disarms the alarm once every database is below the quota.
import { MaintenanceConfig } from "../../src/maintenance/maintenance";
import { acquireRestartLock, EtcdAccess, HeldLock } from "../sync/restart";
import { onHost } from "../sync/files";
import { writePublic } from "../sync/report";
import { accessUnder } from "../etcdClient";
import { clusterView, compact, defragment, disarmSpaceAlarm, listAlarms, lockHolder, memberStatus } from "./etcd";
import { Defragmentation, healthRefusals, mib, planMaintenance, spaceStillShort } from "./plan";
import {
    MaintenanceOutcome,
    MaintenanceState,
    nextMaintenanceState,
    readMaintenanceState,
    renderMaintenanceMetrics,
} from "./report";

export interface MaintenanceOptions {
    config: MaintenanceConfig;
    /** Where node paths land: "/" on a node; a directory for tests. */
    root: string;
    log: (line: string) => void;
}

export interface MaintenanceResult {
    /** False when this member does not lead (the leader's run acts). */
    acted: boolean;
    defragmented: string[];
    spaceAlarm: boolean;
    state: MaintenanceState;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const NO_SPACE = /database space exceeded|NOSPACE/i;

const access = (config: MaintenanceConfig, root: string): EtcdAccess => accessUnder(config, root);

/**
 * The restart lock; under NOSPACE etcd refuses the lock's lease and key like every write, and
 * node sync's as much as ours, so no restart can start: then the run goes on without it, but
 * only while no one holds it.
 */
async function takeLock(options: MaintenanceOptions, etcd: EtcdAccess): Promise<HeldLock | undefined> {
    const { config, log } = options;
    try {
        return await acquireRestartLock(
            etcd,
            config.lockKey,
            `maintenance:${config.member}`,
            config.lockTtlSeconds,
            config.lockWaitSeconds,
            log,
        );
    } catch (e) {
        if (!NO_SPACE.test((e as Error).message)) {
            throw e;
        }
        const alarms = await listAlarms(etcd, config.memberEndpoint);
        if (!alarms.some((a) => a.alarm === "NOSPACE")) {
            throw e;
        }
        const holder = await lockHolder(etcd, config.memberEndpoint, config.lockKey);
        if (holder !== undefined) {
            throw new Error(`the restart lock ${config.lockKey} is held by ${holder} (etcd refuses writes: NOSPACE)`);
        }
        log(
            `etcd refuses every write (NOSPACE), the lock's too: no restart can start, going on without ${config.lockKey}`,
        );
        return undefined;
    }
}

/** Waits until every member answers with one leader again (a NOSPACE alarm may still be raised). */
async function waitHealthy(etcd: EtcdAccess, timeoutSeconds: number, after: string): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const view = await clusterView(etcd).catch((e: Error) => ({
            statuses: [],
            unreachable: [{ name: "cluster", endpoint: "", error: e.message }],
            alarms: [],
        }));
        const refusals = healthRefusals(view.statuses, view.unreachable, view.alarms);
        if (refusals.length === 0) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(`${after}, the cluster is not healthy within ${timeoutSeconds} s: ${refusals.join("; ")}`);
        }
        await delay(1000);
    }
}

/** Defragments each member in the plan's order, waiting for the cluster to be healthy after each. */
async function defragmentInOrder(
    options: MaintenanceOptions,
    etcd: EtcdAccess,
    order: Defragmentation[],
): Promise<string[]> {
    const { config, log } = options;
    const done: string[] = [];
    for (const d of order) {
        const before = await memberStatus(etcd, d.endpoint);
        log(`defragmenting ${d.name} (${d.role}): ${d.reason}`);
        await defragment(etcd, d.endpoint, config.healthTimeoutSeconds * 1000);
        await waitHealthy(etcd, config.healthTimeoutSeconds, `after defragmenting ${d.name}`);
        const after = await memberStatus(etcd, d.endpoint);
        done.push(d.name);
        log(`defragmented ${d.name} (${d.role}): ${mib(before.dbSize)} -> ${mib(after.dbSize)}`);
    }
    return done;
}

async function maintain(
    options: MaintenanceOptions,
    etcd: EtcdAccess,
): Promise<{ defragmented: string[]; spaceAlarm: boolean }> {
    const { config, log } = options;
    const view = await clusterView(etcd);
    const plan = planMaintenance(view.statuses, view.unreachable, view.alarms, config);
    if (plan.refusals.length > 0) {
        throw new Error(`the cluster is not healthy, not defragmenting: ${plan.refusals.join("; ")}`);
    }
    if (plan.spaceAlarm) {
        log("the NOSPACE alarm is raised: etcd refuses writes until space is back and the alarm is disarmed");
    }
    if (plan.compactTo !== undefined) {
        log(
            `compacting to revision ${plan.compactTo}: the live data is near the quota, defragmenting alone would not free enough`,
        );
        await compact(etcd, config.memberEndpoint, plan.compactTo);
    }
    for (const line of plan.skipped) {
        log(`not defragmenting ${line}`);
    }
    const defragmented = await defragmentInOrder(options, etcd, plan.defragment);
    if (!plan.spaceAlarm) {
        return { defragmented, spaceAlarm: false };
    }
    let now = await clusterView(etcd);
    if (spaceStillShort(now.statuses, config).length > 0 && plan.compactTo === undefined) {
        // Free pages were not enough: the history is what fills the quota.
        const revision = Math.max(...now.statuses.map((s) => s.revision));
        log(`still at the quota after defragmenting: compacting to revision ${revision} and defragmenting again`);
        await compact(etcd, config.memberEndpoint, revision);
        defragmented.push(...(await defragmentInOrder(options, etcd, plan.defragment)));
        now = await clusterView(etcd);
    }
    const short = spaceStillShort(now.statuses, config);
    if (short.length > 0) {
        throw new Error(`the NOSPACE alarm stays raised: ${short.join("; ")}`);
    }
    for (const a of now.alarms.filter((a) => a.alarm === "NOSPACE")) {
        await disarmSpaceAlarm(etcd, config.memberEndpoint, a.memberId);
        const name = now.statuses.find((s) => s.id === a.memberId)?.name ?? a.memberId;
        log(
            `disarmed the NOSPACE alarm of ${name}: every database is below the ${mib(config.quotaBackendBytes)} quota`,
        );
    }
    return {
        defragmented,
        spaceAlarm: (await listAlarms(etcd, config.memberEndpoint)).some((a) => a.alarm === "NOSPACE"),
    };
}

async function leads(config: MaintenanceConfig, etcd: EtcdAccess): Promise<boolean> {
    const own = await memberStatus(etcd, config.memberEndpoint);
    return own.leader === own.id;
}

async function runOnce(
    options: MaintenanceOptions,
): Promise<{ acted: boolean; defragmented: string[]; spaceAlarm: boolean }> {
    const { config, root, log } = options;
    const etcd = access(config, root);
    if (config.onlyIfLeader && !(await leads(config, etcd))) {
        log(`${config.member} does not lead: the leader's run maintains the cluster`);
        const alarms = await listAlarms(etcd, config.memberEndpoint);
        return { acted: false, defragmented: [], spaceAlarm: alarms.some((a) => a.alarm === "NOSPACE") };
    }
    const lock = await takeLock(options, etcd);
    try {
        // Still the leader once the lock is ours (a restart may have moved leadership meanwhile).
        if (config.onlyIfLeader && !(await leads(config, etcd))) {
            log(`${config.member} no longer leads: the leader's run maintains the cluster`);
            return { acted: false, defragmented: [], spaceAlarm: false };
        }
        return { acted: true, ...(await maintain(options, etcd)) };
    } finally {
        await lock?.release();
    }
}

/** Whether NOSPACE is raised after a failed run: asked of etcd, else read from the failure. */
async function spaceAlarmRaised(options: MaintenanceOptions, failure: Error): Promise<boolean> {
    try {
        const alarms = await listAlarms(access(options.config, options.root), options.config.memberEndpoint);
        return alarms.some((a) => a.alarm === "NOSPACE");
    } catch {
        return NO_SPACE.test(failure.message);
    }
}

/** One run, then the outcome recorded (state file and metrics) whatever it was. */
export async function runMaintenance(options: MaintenanceOptions): Promise<MaintenanceResult> {
    const { config, root } = options;
    const statePath = onHost(root, config.statePath);
    let result: { acted: boolean; defragmented: string[]; spaceAlarm: boolean } | undefined;
    let failure: Error | undefined;
    try {
        result = await runOnce(options);
    } catch (e) {
        failure = e as Error;
    }
    const outcome: MaintenanceOutcome = result
        ? { succeeded: true, defragmented: result.defragmented, spaceAlarm: result.spaceAlarm }
        : {
              succeeded: false,
              defragmented: [],
              spaceAlarm: await spaceAlarmRaised(options, failure!),
              error: failure!.message,
          };
    const state = nextMaintenanceState(readMaintenanceState(statePath), Math.floor(Date.now() / 1000), outcome);
    writePublic(statePath, `${JSON.stringify(state)}\n`);
    writePublic(onHost(root, config.metricsPath), renderMaintenanceMetrics(config, state));
    if (failure) {
        throw failure;
    }
    return { acted: result!.acted, defragmented: result!.defragmented, spaceAlarm: result!.spaceAlarm, state };
}
