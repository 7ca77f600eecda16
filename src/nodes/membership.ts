// Membership as code, as pure functions: what changed in `members` since the last deployment (read
// from the cluster's record), whether etcd can take that change safely, what to record, and what
// each member must do about it. etcd changes membership one member at a time, so the guard allows
// one member added, one removed, or one replaced (out and in, the size unchanged) per `pulumi up`.
// The nodes carry the change out (node sync): a member that joins registers itself as a learner
// and is promoted once in sync; a member that leaves is removed by one of the others first.
import * as crypto from "crypto";

/**
 * The etcd user that may change membership: etcd asks for the root role for `member add`,
 * `promote` and `remove`. Its certificate exists only while a change is pending, only in the
 * bundles of the members that carry the change out, and only in memory there (never on disk).
 */
export const MEMBERSHIP_USER = "secure-etcd-membership";

export interface RecordedMember {
    name: string;
    ip: string;
}

/** A membership change the nodes carry out: at most one member in, at most one out. */
export interface MembershipChange {
    /** Digest of the change (which members, from which set): names the credential. */
    id: string;
    /** When the update that made it ran (ISO 8601): the credential is valid from then. */
    at: string;
    joining?: RecordedMember;
    leaving?: RecordedMember;
    /** The member that removes `leaving` (the first member in `members` that is not joining). */
    remover?: string;
}

/** What the record holds after a deployment (SSM parameter `<path>/members`). */
export interface MembershipRecord {
    version: 1;
    /** The members that formed the cluster (`--initial-cluster-state=new`); every later one joined. */
    founders: string[];
    members: RecordedMember[];
    /** The last change, while its credential may still be needed. */
    change?: MembershipChange;
}

export interface MembershipDecision {
    /** Why etcd cannot take this change safely, and what to do instead. */
    refusal?: string;
    warnings: string[];
    /** Whether `members` differs from the record (a new change, made by this update). */
    changed: boolean;
    /** What to record once this deployment is in place. */
    record: MembershipRecord;
    /** Members that join an existing cluster (rendered with `--initial-cluster-state=existing`). */
    joiners: string[];
    /** The pending change, while its credential is valid: who carries it out. */
    pending?: MembershipChange;
}

const sameMember = (a: RecordedMember, b: RecordedMember) => a.name === b.name && a.ip === b.ip;

/** Parses a record; undefined when there is none (a new cluster, or one deployed before membership as code). */
export function parseMembershipRecord(text: string | undefined): MembershipRecord | undefined {
    if (text === undefined) {
        return undefined;
    }
    const parsed = JSON.parse(text) as MembershipRecord;
    if (parsed.version !== 1 || !Array.isArray(parsed.members) || !Array.isArray(parsed.founders)) {
        throw new Error(`the membership record is not one this release wrote: ${text}`);
    }
    return parsed;
}

export function membershipRecordValue(record: MembershipRecord): string {
    return JSON.stringify(record);
}

function describe(m: RecordedMember): string {
    return `${m.name} (${m.ip})`;
}

function changeId(previous: RecordedMember[], joining?: RecordedMember, leaving?: RecordedMember): string {
    const text = JSON.stringify({ previous, joining, leaving });
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** One step at a time: the refusal for a change etcd cannot take in one `pulumi up`. */
function refusalFor(
    previous: RecordedMember[],
    joining: RecordedMember[],
    leaving: RecordedMember[],
): string | undefined {
    const head = "this update";
    const deployed = `deployed: ${previous.map(describe).join(", ")}`;
    if (joining.length > 1 || leaving.length > 1) {
        const parts = [
            ...(joining.length > 0 ? [`joining ${joining.map(describe).join(", ")}`] : []),
            ...(leaving.length > 0 ? [`leaving ${leaving.map(describe).join(", ")}`] : []),
        ];
        return `${head} changes ${joining.length + leaving.length} members at once (${parts.join("; ")}; ${deployed}). etcd changes membership one member at a time: add, remove or replace one member, run \`pulumi up\`, wait until \`etcdctl member list\` shows exactly \`members\`, none of them a learner, then make the next change.`;
    }
    if (leaving.length === 1 && previous.length === 1) {
        return joining.length === 1
            ? `${head} replaces ${describe(leaving[0])}, the only member: removing it first would leave no cluster to join. Add the new member beside it first (two members), run \`pulumi up\`, then remove the old one.`
            : `${head} removes ${describe(leaving[0])}, the only member, which would leave no cluster. Keep at least one member; to retire the cluster, delete the component.`;
    }
    return undefined;
}

function warningsFor(previous: RecordedMember[], desired: RecordedMember[], change: MembershipChange): string[] {
    const warnings: string[] = [];
    const size = desired.length;
    if (change.joining && !change.leaving && size % 2 === 0) {
        warnings.push(
            `members: growing to ${size} members: ${size} tolerate no more failures than ${size - 1} while the quorum grows to ${size / 2 + 1}; add the next member in the following update to reach ${size + 1}`,
        );
    }
    if (change.leaving && !change.joining && size % 2 === 0) {
        warnings.push(
            `members: shrinking to ${size} members: ${size} tolerate no more failures than ${size - 1}; remove the next member in the following update to reach ${size - 1}`,
        );
    }
    if (change.joining && change.leaving) {
        warnings.push(
            `members: replacing ${describe(change.leaving)} with ${describe(change.joining)}: the old member is removed first, so until the new one is promoted the cluster runs on ${previous.length - 1} voting members and tolerates ${Math.floor((previous.length - 2) / 2)} failures`,
        );
    }
    return warnings;
}

/**
 * The verdict on `desired` against the record, at time `nowMs`. A change's credential is issued for
 * `credentialHours` from the update that made it; until then the change stays pending (carried in
 * the record), so an update in between does not take the credential from a node still joining.
 */
export function decideMembership(
    recordedText: string | undefined,
    desired: RecordedMember[],
    nowMs: number,
    credentialHours: number,
): MembershipDecision {
    const recorded = parseMembershipRecord(recordedText);
    if (recorded === undefined) {
        // A new cluster: every member founds it.
        const founders = desired.map((m) => m.name);
        return { warnings: [], changed: false, record: { version: 1, founders, members: desired }, joiners: [] };
    }
    const previous = recorded.members;
    const joining = desired.filter((d) => !previous.some((p) => sameMember(p, d)));
    const leaving = previous.filter((p) => !desired.some((d) => sameMember(p, d)));
    const refusal = refusalFor(previous, joining, leaving);
    // A replaced member (a new address under an old name) joins like a new one.
    const founders = recorded.founders.filter((f) => !leaving.some((l) => l.name === f));
    const joiners = desired.filter((d) => !founders.includes(d.name)).map((d) => d.name);
    let change: MembershipChange | undefined;
    if (joining.length > 0 || leaving.length > 0) {
        const [joiner, leaver] = [joining[0], leaving[0]];
        change = {
            id: changeId(previous, joiner, leaver),
            at: new Date(nowMs).toISOString(),
            ...(joiner ? { joining: joiner } : {}),
            ...(leaver ? { leaving: leaver, remover: desired.find((d) => d.name !== joiner?.name)?.name } : {}),
        };
    } else if (recorded.change && nowMs < Date.parse(recorded.change.at) + credentialHours * 3600_000) {
        change = recorded.change;
    }
    return {
        ...(refusal ? { refusal } : {}),
        warnings: refusal || !change || change === recorded.change ? [] : warningsFor(previous, desired, change),
        changed: joining.length > 0 || leaving.length > 0,
        record: { version: 1, founders, members: desired, ...(change ? { change } : {}) },
        joiners,
        ...(change ? { pending: change } : {}),
    };
}

/** The members whose bundle carries the membership credential while `change` is pending. */
export function credentialHolders(change: MembershipChange | undefined): string[] {
    if (!change) {
        return [];
    }
    return [...new Set([change.joining?.name, change.remover].filter((n): n is string => n !== undefined))];
}
