// Retention tiers: which tier a backup goes to, and the lock a daily backup carries. The first backup
// of each UTC day goes to the daily tier (kept `backupRetentionDays`, under a lock of its own), every
// other to the frequent tier (kept `backupFrequentRetentionDays`, under the bucket's default lock).
// Each backup is written once, to one tier: no second upload, no copy (the writer cannot read).
//
// "Is there a daily backup today?" is answered by S3's record: a manifest under today's daily folder
// that S3 wrote today. A name alone would not do: a compromised writer could have planted manifests
// named for days to come, and every later day would then look done. It can still write one today,
// which makes today's honest backup go to the frequent tier; it cannot reach another day.
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { BackupTiers, DAILY_TIER, FREQUENT_TIER } from "../../src/backup/agentConfig";
import type { StoredObject } from "./authenticity";
import { isManifestKey } from "./objects";

export type TierName = "daily" | "frequent" | "untiered";

export interface TierChoice {
    tier: TierName;
    /** Where the backup's objects go: `<prefix>daily/`, `<prefix>frequent/`, or `<prefix>` before tiers. */
    prefix: string;
    /** The daily tier's lock, when the bucket has Object Lock. */
    lock?: { mode: string; days: number };
}

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Added to a daily lock's days: S3 counts the remaining days of a lock when it authorizes the request
 * (the bucket policy requires at least the tier's days), and a request reaches S3 after it was signed.
 */
export const LOCK_MARGIN_MS = 60 * 60 * 1000;

/** `2026-11-30`. */
function utcDay(date: Date): string {
    return date.toISOString().slice(0, 10);
}

/** `<prefix>daily/2026/11/30/`: the folder of a day's daily backups (as `objectBase` names them). */
export function dailyFolder(prefix: string, date: Date): string {
    const day = utcDay(date);
    return `${prefix}${DAILY_TIER}${day.slice(0, 4)}/${day.slice(5, 7)}/${day.slice(8, 10)}/`;
}

/** Whether S3 records a daily backup's manifest written on `date`'s UTC day, under that day's folder. */
export function hasDailyBackup(listing: StoredObject[], prefix: string, date: Date): boolean {
    const folder = dailyFolder(prefix, date);
    return listing.some(
        (o) => o.key.startsWith(folder) && isManifestKey(o.key) && utcDay(o.lastModified) === utcDay(date),
    );
}

/** The tier a key lies in, and the prefix its name was given under (what restore checks its name against). */
export function tierOf(prefix: string, key: string): { tier: TierName; prefix: string } {
    for (const [tier, folder] of [
        ["daily", DAILY_TIER],
        ["frequent", FREQUENT_TIER],
    ] as const) {
        if (key.startsWith(`${prefix}${folder}`)) {
            return { tier, prefix: `${prefix}${folder}` };
        }
    }
    return { tier: "untiered", prefix };
}

/** The Object Lock parameters of a daily backup's request, computed when it is sent. */
export function lockParams(lock: TierChoice["lock"], now = new Date()) {
    return lock === undefined
        ? {}
        : {
              ObjectLockMode: lock.mode as "GOVERNANCE" | "COMPLIANCE",
              ObjectLockRetainUntilDate: new Date(now.getTime() + lock.days * DAY_MS + LOCK_MARGIN_MS),
          };
}

/** The daily tier when today has no daily backup yet by S3's record, else the frequent tier. */
export async function chooseTier(
    s3: S3Client,
    target: { bucket: string; prefix: string; tiers?: BackupTiers },
    createdAt: Date,
): Promise<TierChoice> {
    if (target.tiers === undefined) {
        return { tier: "untiered", prefix: target.prefix };
    }
    const folder = dailyFolder(target.prefix, createdAt);
    const listing: StoredObject[] = [];
    let token: string | undefined;
    do {
        const page = await s3
            .send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: folder, ContinuationToken: token }))
            .catch((e: Error) => {
                throw e.name === "AccessDenied"
                    ? new Error(
                          `listing s3://${target.bucket}/${folder} was refused (AccessDenied): the writer needs s3:ListBucket on the daily tier (ListDailyBackups in the current backupWriterPolicy) to know whether today has its daily backup`,
                      )
                    : e;
            });
        for (const o of page.Contents ?? []) {
            if (o.Key && o.LastModified) {
                listing.push({ key: o.Key, lastModified: o.LastModified, size: o.Size ?? 0 });
            }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return hasDailyBackup(listing, target.prefix, createdAt)
        ? { tier: "frequent", prefix: `${target.prefix}${FREQUENT_TIER}` }
        : { tier: "daily", prefix: `${target.prefix}${DAILY_TIER}`, lock: target.tiers.dailyLock };
}
