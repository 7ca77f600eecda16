// What one maintenance run does, decided from what the members report: pure, so every rule is
// tested without a cluster. The run refuses to do anything on a cluster that is not healthy (a
// member that does not answer, no leader or two, an alarm other than NOSPACE); NOSPACE is the
// exception it exists to fix. A member is defragmented only when worth it (free pages above a
// fraction of its file, or its file near the quota, and never for less than a floor of free
// bytes), or when NOSPACE is raised (then every member). Followers first, the leader last.
import { MaintenanceThresholds } from "../../src/maintenance/maintenance";

export interface MemberStatus {
    name: string;
    endpoint: string;
    /** The member's id (decimal, as etcd's JSON and the etcd3 client give it). */
    id: string;
    /** The id of the member it follows ("0": none). */
    leader: string;
    dbSize: number;
    dbSizeInUse: number;
    /** The store's revision the member has applied. */
    revision: number;
}

export interface Unreachable {
    name: string;
    endpoint: string;
    error: string;
}

export interface RaisedAlarm {
    memberId: string;
    /** "NOSPACE", "CORRUPT". */
    alarm: string;
}

export interface Defragmentation {
    name: string;
    endpoint: string;
    id: string;
    role: "follower" | "leader";
    reason: string;
}

export interface MaintenancePlan {
    /** Why nothing may be done now; empty when the plan may run. */
    refusals: string[];
    /** NOSPACE is raised (on any member). */
    spaceAlarm: boolean;
    /** Compact to this revision before defragmenting (NOSPACE with the live data near the quota). */
    compactTo?: number;
    /** In order: followers first, the leader last. */
    defragment: Defragmentation[];
    /** Members whose database needs nothing, with the numbers that say so. */
    skipped: string[];
}

const MIB = 1024 * 1024;
/** A database size for people: MiB, or KiB below one MiB. */
export const mib = (bytes: number) =>
    bytes < MIB ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / MIB).toFixed(1)} MiB`;
const percent = (fraction: number) => `${Math.round(fraction * 100)} %`;

/** Why the cluster is not healthy enough to block a member; NOSPACE does not count. */
export function healthRefusals(statuses: MemberStatus[], unreachable: Unreachable[], alarms: RaisedAlarm[]): string[] {
    const refusals = unreachable.map((u) => `${u.name} (${u.endpoint}) does not answer: ${u.error}`);
    for (const s of statuses.filter((s) => s.leader === "0")) {
        refusals.push(`${s.name} has no leader`);
    }
    const leaders = new Set(statuses.map((s) => s.leader));
    if (leaders.size > 1) {
        refusals.push(`members disagree on the leader (${[...leaders].join(", ")})`);
    }
    const names = new Map(statuses.map((s) => [s.id, s.name]));
    for (const a of alarms.filter((a) => a.alarm !== "NOSPACE")) {
        refusals.push(
            `${a.alarm} alarm raised by ${names.get(a.memberId) ?? a.memberId}: not something defragmenting fixes`,
        );
    }
    return refusals;
}

/** Why `s` is worth defragmenting, or undefined. */
export function defragmentReason(s: MemberStatus, t: MaintenanceThresholds): string | undefined {
    const free = Math.max(0, s.dbSize - s.dbSizeInUse);
    if (free < t.minFragmentedBytes || s.dbSize === 0) {
        return undefined;
    }
    const freeRatio = free / s.dbSize;
    if (freeRatio >= t.fragmentedRatio) {
        return `${percent(freeRatio)} of its ${mib(s.dbSize)} database is free pages (threshold ${percent(t.fragmentedRatio)})`;
    }
    const quotaUse = s.dbSize / t.quotaBackendBytes;
    if (quotaUse >= t.quotaRatio) {
        return `its database uses ${percent(quotaUse)} of the quota (threshold ${percent(t.quotaRatio)}), ${mib(free)} of it free pages`;
    }
    return undefined;
}

export function planMaintenance(
    statuses: MemberStatus[],
    unreachable: Unreachable[],
    alarms: RaisedAlarm[],
    t: MaintenanceThresholds,
): MaintenancePlan {
    const spaceAlarm = alarms.some((a) => a.alarm === "NOSPACE");
    const refusals = healthRefusals(statuses, unreachable, alarms);
    if (refusals.length > 0) {
        return { refusals, spaceAlarm, defragment: [], skipped: [] };
    }
    const leaderId = statuses[0]?.leader;
    const ordered = [...statuses].sort(
        (a, b) => Number(a.id === leaderId) - Number(b.id === leaderId) || a.name.localeCompare(b.name),
    );
    const defragment: Defragmentation[] = [];
    const skipped: string[] = [];
    for (const s of ordered) {
        const reason = spaceAlarm ? "the NOSPACE alarm is raised" : defragmentReason(s, t);
        if (reason) {
            const role = s.id === leaderId ? "leader" : "follower";
            defragment.push({ name: s.name, endpoint: s.endpoint, id: s.id, role, reason });
        } else {
            skipped.push(`${s.name}: ${mib(s.dbSize)}, ${mib(s.dbSizeInUse)} in use`);
        }
    }
    // Defragmenting gives back only free pages: when the live data itself (old revisions
    // included) is near the quota, only a compaction frees enough. It drops the history before
    // the current revision, as etcd's own NOSPACE recovery does; kube-apiserver compacts to 5
    // minutes ago anyway.
    const inUse = Math.max(0, ...statuses.map((s) => s.dbSizeInUse));
    const compactTo =
        spaceAlarm && inUse >= t.quotaRatio * t.quotaBackendBytes
            ? Math.max(...statuses.map((s) => s.revision))
            : undefined;
    return { refusals, spaceAlarm, ...(compactTo !== undefined ? { compactTo } : {}), defragment, skipped };
}

/** Why the NOSPACE alarm must stay after defragmenting; empty when every database is below the quota. */
export function spaceStillShort(statuses: MemberStatus[], t: MaintenanceThresholds): string[] {
    return statuses
        .filter((s) => s.dbSize >= t.quotaBackendBytes)
        .map(
            (s) =>
                `${s.name}'s database is still ${mib(s.dbSize)} (${mib(s.dbSizeInUse)} in use) of a ${mib(t.quotaBackendBytes)} quota: delete data or raise quotaBackendBytes`,
        );
}
