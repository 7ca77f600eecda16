// Membership as code on the node: converge etcd's member list to the member set the last
// `pulumi up` rendered. A member that leaves is removed by the member named in the change (the
// remover), while the others stay healthy; a member that joins registers itself as a learner
// (only once every leaver is gone, so a replacement never grows the voting set), starts etcd, and
// promotes itself once in sync. Every change here needs etcd's root role: the credential comes
// with the bundle while the change is pending and is used from memory only.
import { Etcd3, IMember } from "etcd3";
import { NodeSyncConfig } from "../../src/nodes/nodeSync";
import { NODE_SYNC_ROLE } from "../../src/nodes/nodeSync";
import { EtcdAccess, etcdClient, InMemoryCredential } from "../etcdClient";
import { httpsHealth } from "./restart";

/** The membership credential, from the bundle, in memory only. */
export type MembershipCredential = InMemoryCredential;

type Desired = NonNullable<NodeSyncConfig["membership"]>["members"][number];

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `fn` with a client of its own, closed after. */
async function withClient<T>(
    access: EtcdAccess,
    credential: MembershipCredential | undefined,
    fn: (c: Etcd3) => Promise<T>,
): Promise<T> {
    const c = etcdClient(access, access.endpoints, credential);
    try {
        return await fn(c);
    } finally {
        c.close();
    }
}

/** etcd's member list through any member that answers (a member list needs no permission). */
export async function memberList(access: EtcdAccess, endpoints: string[]): Promise<IMember[]> {
    const c = etcdClient(access, endpoints);
    try {
        return (await c.cluster.memberList({ linearizable: true })).members;
    } finally {
        c.close();
    }
}

export interface MembershipState {
    /** etcd's members whose peer URL is in no desired member: to remove. */
    leavers: IMember[];
    /** This member as etcd knows it, if it does. */
    self?: IMember;
}

export function membershipState(members: IMember[], desired: Desired[], ownPeerUrl: string): MembershipState {
    const wanted = new Set(desired.map((d) => d.peerUrl));
    return {
        leavers: members.filter((m) => !m.peerURLs.some((u) => wanted.has(u))),
        self: members.find((m) => m.peerURLs.includes(ownPeerUrl)),
    };
}

/**
 * `fn` again while etcd answers "unhealthy cluster": with its strict reconfiguration check (on by
 * default) a member refuses a membership change until it has been connected to every voting member
 * for five seconds, which a member restarted a moment ago has not. Up to `seconds`.
 */
async function whileSettling<T>(
    seconds: number,
    what: string,
    log: (line: string) => void,
    fn: () => Promise<T>,
): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
        try {
            return await fn();
        } catch (e) {
            const message = (e as Error).message;
            if (!/unhealthy cluster|not enough started members/.test(message) || Date.now() > deadline) {
                throw e;
            }
            log(`${what}: ${message}; trying again`);
            await delay(2000);
        }
    }
}

const describe = (m: IMember) => `${m.name || "(not started)"} ${m.peerURLs.join(",")} (id ${m.ID})`;

/**
 * Whether removing `leaver` keeps a quorum of healthy voters: every voter that stays is healthy by
 * its `/health` (a leaver that is down is why it is being removed; the others must be up).
 */
async function remainingVotersHealthy(access: EtcdAccess, members: IMember[], leaver: IMember): Promise<string[]> {
    const problems: string[] = [];
    for (const m of members.filter((x) => x.ID !== leaver.ID && !x.isLearner)) {
        if (m.clientURLs.length === 0) {
            problems.push(`${describe(m)} has not started`);
            continue;
        }
        const answer = await httpsHealth(access, m.clientURLs[0]);
        if (answer !== true) {
            problems.push(`${describe(m)} ${answer}`);
        }
    }
    return problems;
}

export interface MembershipStep {
    config: NodeSyncConfig;
    access: EtcdAccess;
    credential?: MembershipCredential;
    log: (line: string) => void;
}

/** Removes the leavers (one per run) when this member is the remover. Returns what it did. */
export async function removeLeavers(
    step: MembershipStep,
    members: IMember[],
    state: MembershipState,
): Promise<string[]> {
    const { credential, access, log } = step;
    if (state.leavers.length === 0 || !credential || !state.self || state.self.isLearner) {
        return [];
    }
    const leaver = state.leavers[0];
    const problems = await remainingVotersHealthy(access, members, leaver);
    if (problems.length > 0) {
        throw new Error(
            `not removing ${describe(leaver)}: the members that stay are not all healthy: ${problems.join("; ")}`,
        );
    }
    await whileSettling(step.config.restartTimeoutSeconds, `removing ${describe(leaver)}`, log, () =>
        withClient(access, credential, (c) => c.cluster.memberRemove({ ID: leaver.ID })),
    );
    log(`removed ${describe(leaver)} from the cluster`);
    if (leaver.name) {
        // Its identity goes with it (a member certificate of that name is no longer issued).
        await withClient(access, credential, (c) => c.auth.userDelete({ name: leaver.name })).catch(() => undefined);
    }
    return [`removed ${leaver.name || leaver.ID}`];
}

/**
 * Registers this member as a learner, once no leaver is left (a replacement removes first).
 */
export async function joinAsLearner(step: MembershipStep, state: MembershipState, ownPeerUrl: string): Promise<void> {
    const { credential, access, config, log } = step;
    if (!credential) {
        throw new Error(
            `this member (${config.member}, ${ownPeerUrl}) is not in the cluster and its bundle holds no membership credential: the change's credential expired (membershipCredentialHours) or another update dropped it; change members again to start a new join`,
        );
    }
    if (state.leavers.length > 0) {
        throw new Error(
            `waiting for ${state.leavers.map(describe).join(", ")} to be removed before joining (a replacement removes the old member first)`,
        );
    }
    const added = await whileSettling(config.restartTimeoutSeconds, `registering ${config.member}`, log, () =>
        withClient(access, credential, (c) => c.cluster.memberAdd({ peerURLs: [ownPeerUrl], isLearner: true })),
    );
    log(`registered ${config.member} (${ownPeerUrl}) as a learner, id ${added.member.ID}`);
}

/**
 * Gives this member its etcd user (node sync's identity: its certificate's CN) with the node-sync
 * role, as the RBAC bootstrap gave the founders theirs. Idempotent.
 */
export async function ensureOwnUser(step: MembershipStep): Promise<void> {
    const { credential, access, config } = step;
    if (!credential) {
        return;
    }
    await withClient(access, credential, async (c) => {
        await c.auth.userAdd({ name: config.member, options: { no_password: true } }).catch((e: Error) => {
            if (!/already exists/.test(e.message)) {
                throw e;
            }
        });
        await c.auth.userGrantRole({ user: config.member, role: NODE_SYNC_ROLE });
    });
}

/**
 * Promotes this learner once etcd finds it in sync with the leader; tries until `timeoutSeconds`.
 * A learner that is not caught up yet is refused by etcd, never promoted early.
 */
export async function promoteWhenInSync(step: MembershipStep, selfId: string, timeoutSeconds: number): Promise<void> {
    const { credential, access, config, log } = step;
    if (!credential) {
        throw new Error(
            `${config.member} is a learner and its bundle holds no membership credential to promote it: change members again, or promote it by hand (etcdctl member promote ${selfId})`,
        );
    }
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        try {
            // A client per try: a refusal opens the etcd client's circuit breaker for that host.
            await withClient(access, credential, (c) => c.cluster.memberPromote({ ID: selfId }));
            log(`promoted ${config.member} (id ${selfId}) to a voting member`);
            return;
        } catch (e) {
            const message = (e as Error).message;
            if (Date.now() > deadline) {
                throw new Error(`${config.member} is still a learner after ${timeoutSeconds} s: ${message}`);
            }
            log(`not promoting ${config.member} yet: ${message}`);
            await delay(2000);
        }
    }
}
