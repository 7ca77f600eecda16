// What a maintenance run asks etcd, member by member: one client per endpoint, so a status or a
// defragmentation reaches the member it names (a client on several endpoints picks one).
import { AlarmAction, AlarmType, Etcd3 } from "etcd3";
import { EtcdAccess, etcdClient, withTimeout } from "../etcdClient";
import { MemberStatus, RaisedAlarm, Unreachable } from "./plan";

/** A client of one member: a status or a defragmentation reaches the member it names. */
export function memberClient(access: EtcdAccess, endpoint: string) {
    return etcdClient(access, [endpoint]);
}

async function onMember<T>(access: EtcdAccess, endpoint: string, fn: (c: Etcd3) => Promise<T>): Promise<T> {
    const c = memberClient(access, endpoint);
    try {
        return await fn(c);
    } finally {
        c.close();
    }
}

/** The member at `endpoint`: its id, the leader it follows, its database sizes and revision. */
export async function memberStatus(access: EtcdAccess, endpoint: string): Promise<Omit<MemberStatus, "name">> {
    const s = await onMember(access, endpoint, (c) => withTimeout(c.maintenance.status(), 10_000, endpoint));
    return {
        endpoint,
        id: String(s.header.member_id),
        leader: String(s.leader),
        dbSize: Number(s.dbSize),
        dbSizeInUse: Number(s.dbSizeInUse ?? s.dbSize),
        revision: Number(s.header.revision),
    };
}

/** Member names by id and by client URL, from whichever endpoint answers. */
async function memberNames(access: EtcdAccess): Promise<Map<string, string>> {
    let last: Error | undefined;
    for (const endpoint of access.endpoints) {
        try {
            const list = await onMember(access, endpoint, (c) =>
                withTimeout(c.cluster.memberList({}), 10_000, endpoint),
            );
            return new Map(
                list.members.flatMap(
                    (m) => [[String(m.ID), m.name], ...m.clientURLs.map((u) => [u, m.name])] as [string, string][],
                ),
            );
        } catch (e) {
            last = e as Error;
        }
    }
    throw new Error(`no member answers a member list: ${last?.message}`);
}

export interface ClusterView {
    statuses: MemberStatus[];
    unreachable: Unreachable[];
    alarms: RaisedAlarm[];
}

/** Every member's status, the members that do not answer, and the raised alarms. */
export async function clusterView(access: EtcdAccess): Promise<ClusterView> {
    const names = await memberNames(access);
    const statuses: MemberStatus[] = [];
    const unreachable: Unreachable[] = [];
    for (const endpoint of access.endpoints) {
        try {
            const s = await memberStatus(access, endpoint);
            statuses.push({ ...s, name: names.get(s.id) ?? s.id });
        } catch (e) {
            unreachable.push({ name: names.get(endpoint) ?? endpoint, endpoint, error: (e as Error).message });
        }
    }
    const alarms = statuses.length > 0 ? await listAlarms(access, statuses[0].endpoint) : [];
    return { statuses, unreachable, alarms };
}

export async function listAlarms(access: EtcdAccess, endpoint: string): Promise<RaisedAlarm[]> {
    const r = await onMember(access, endpoint, (c) =>
        withTimeout(
            c.maintenance.alarm({ action: AlarmAction.Get, memberID: 0, alarm: AlarmType.None }),
            10_000,
            endpoint,
        ),
    );
    // The etcd3 client names the enum's values "Nospace", "Corrupt"; etcd's own names are upper case.
    return (r.alarms ?? []).map((a) => ({ memberId: String(a.memberID), alarm: String(a.alarm).toUpperCase() }));
}

/** Disarms one raised NOSPACE alarm (needs the root role). */
export async function disarmSpaceAlarm(access: EtcdAccess, endpoint: string, memberId: string): Promise<void> {
    await onMember(access, endpoint, (c) =>
        withTimeout(
            c.maintenance.alarm({ action: AlarmAction.Deactivate, memberID: memberId, alarm: AlarmType.Nospace }),
            10_000,
            endpoint,
        ),
    );
}

/** Defragments the member at `endpoint`; it answers nothing else until done (needs the root role). */
export async function defragment(access: EtcdAccess, endpoint: string, timeoutMs: number): Promise<void> {
    await onMember(access, endpoint, (c) => withTimeout(c.maintenance.defragment({}), timeoutMs, endpoint));
}

/** Compacts the store to `revision` and waits until every member applied it to its database. */
export async function compact(access: EtcdAccess, endpoint: string, revision: number): Promise<void> {
    await onMember(access, endpoint, (c) => withTimeout(c.kv.compact({ revision, physical: true }), 120_000, endpoint));
}

/** Who holds the lock at `key`, or undefined when no one does. */
export async function lockHolder(access: EtcdAccess, endpoint: string, key: string): Promise<string | undefined> {
    const value = await onMember(access, endpoint, (c) => withTimeout(c.get(key).string(), 10_000, endpoint));
    return value ?? undefined;
}
