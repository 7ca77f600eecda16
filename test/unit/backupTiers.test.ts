// Retention tiers on the agent's side, without S3: which tier a backup goes to (S3's record of today's
// daily manifest, never a name alone), the lock a daily backup carries, that restore accepts a backup
// in either tier (and one written before tiers) and still refuses one moved between them, and the
// configuration's `tiers` field.
import { strict as assert } from "assert";
import { manifestProblem, newestFirst, StoredObject } from "../../agent/backup/authenticity";
import { BackupManifest, manifestKeyOf, MANIFEST_FORMAT, objectBase, snapshotKey } from "../../agent/backup/objects";
import { S3Client } from "@aws-sdk/client-s3";
import { chooseTier, dailyFolder, hasDailyBackup, LOCK_MARGIN_MS, lockParams, tierOf } from "../../agent/backup/tiers";
import { agentConfigProblems, backupPrefix } from "../../src/backup/agentConfig";

const IDENTITY = { project: "acme", stack: "prod-eu", cluster: "main" };
const PREFIX = backupPrefix("main");
const TAKEN = new Date("2026-11-30T00:00:04.123Z");
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

function backupIn(tierPrefix: string, taken = TAKEN, revision = 10001): BackupManifest {
    return {
        format: MANIFEST_FORMAT,
        ...IDENTITY,
        objectKey: snapshotKey(objectBase(tierPrefix, "main", taken), revision),
        revision,
        createdAt: taken.toISOString(),
        etcdVersion: "3.6.14",
        plaintextBytes: 1234,
        sha256: "a".repeat(64),
        encryptedBytes: 1500,
        keyring: "raw:secure-etcd/backup-raw-key",
    };
}

describe("retention tiers: where a backup goes", () => {
    const object = (key: string, lastModified: Date): StoredObject => ({ key, lastModified, size: 10 });
    const todays = manifestKeyOf(backupIn(`${PREFIX}daily/`).objectKey);

    it("names each tier's keys under its folder, the day's daily folder as objectBase names it", () => {
        assert.equal(dailyFolder(PREFIX, TAKEN), "etcd-backups/main/daily/2026/11/30/");
        assert.ok(todays.startsWith(dailyFolder(PREFIX, TAKEN)), todays);
        assert.deepEqual(tierOf(PREFIX, todays), { tier: "daily", prefix: "etcd-backups/main/daily/" });
        assert.deepEqual(tierOf(PREFIX, `${PREFIX}frequent/2026/11/30/x.db.enc`), {
            tier: "frequent",
            prefix: "etcd-backups/main/frequent/",
        });
        assert.deepEqual(tierOf(PREFIX, `${PREFIX}2026/11/30/x.db.enc`), { tier: "untiered", prefix: PREFIX });
    });

    it("today has its daily backup when S3 wrote a manifest under today's folder today", () => {
        const later = new Date(TAKEN.getTime() + 5 * HOUR);
        assert.equal(hasDailyBackup([], PREFIX, later), false, "none yet: this backup goes to the daily tier");
        assert.equal(hasDailyBackup([object(todays, new Date(TAKEN.getTime() + 60_000))], PREFIX, later), true);
        // A snapshot whose manifest never came (a failed upload) is not a backup: try again as daily.
        assert.equal(
            hasDailyBackup([object(todays.replace(".manifest.json", ".db.enc"), TAKEN)], PREFIX, later),
            false,
        );
        // Yesterday's daily backup does not count for today.
        const yesterdays = manifestKeyOf(backupIn(`${PREFIX}daily/`, new Date(TAKEN.getTime() - DAY)).objectKey);
        assert.equal(hasDailyBackup([object(yesterdays, new Date(TAKEN.getTime() - DAY))], PREFIX, later), false);
    });

    it("a manifest planted under today's name before today does not count: S3 says when it was written", () => {
        // A compromised writer that named manifests for days to come cannot skip those days' daily backups.
        const planted = object(todays, new Date(TAKEN.getTime() - 3 * DAY));
        assert.equal(hasDailyBackup([planted], PREFIX, new Date(TAKEN.getTime() + HOUR)), false);
    });

    it("a daily backup's lock: the tier's mode, the tier's days and an hour, counted from each request", () => {
        assert.deepEqual(lockParams(undefined), {}, "no lock: the bucket's default, if any");
        const now = new Date("2026-11-30T00:10:00.000Z");
        assert.deepEqual(lockParams({ mode: "GOVERNANCE", days: 30 }, now), {
            ObjectLockMode: "GOVERNANCE",
            ObjectLockRetainUntilDate: new Date(now.getTime() + 30 * DAY + LOCK_MARGIN_MS),
        });
        assert.equal(LOCK_MARGIN_MS, HOUR);
    });
});

describe("retention tiers: choosing, against S3's answers", () => {
    /** An S3 client that answers every request with `answer` (or throws it), recording what was asked. */
    function fakeS3(answer: unknown) {
        const asked: unknown[] = [];
        const client = {
            send: (command: { input: unknown }) => {
                asked.push(command.input);
                return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
            },
        } as unknown as S3Client;
        return { client, asked };
    }
    const target = { bucket: "b", prefix: PREFIX, tiers: { dailyLock: { mode: "GOVERNANCE", days: 30 } } };

    it("without tiers, asks nothing and writes under the prefix as before", async () => {
        const s3 = fakeS3({});
        assert.deepEqual(await chooseTier(s3.client, { bucket: "b", prefix: PREFIX }, TAKEN), {
            tier: "untiered",
            prefix: PREFIX,
        });
        assert.equal(s3.asked.length, 0);
    });

    it("lists today's daily folder: none there, the daily tier with its lock; one written today, the frequent tier", async () => {
        const empty = fakeS3({ Contents: [] });
        assert.deepEqual(await chooseTier(empty.client, target, TAKEN), {
            tier: "daily",
            prefix: `${PREFIX}daily/`,
            lock: { mode: "GOVERNANCE", days: 30 },
        });
        assert.deepEqual(empty.asked, [
            { Bucket: "b", Prefix: dailyFolder(PREFIX, TAKEN), ContinuationToken: undefined },
        ]);
        const key = manifestKeyOf(backupIn(`${PREFIX}daily/`).objectKey);
        const done = fakeS3({ Contents: [{ Key: key, LastModified: TAKEN, Size: 400 }] });
        assert.deepEqual(await chooseTier(done.client, target, new Date(TAKEN.getTime() + HOUR)), {
            tier: "frequent",
            prefix: `${PREFIX}frequent/`,
        });
    });

    it("a refused listing fails the backup, naming the permission the writer lacks", async () => {
        const refused = Object.assign(new Error("Access Denied"), { name: "AccessDenied" });
        await assert.rejects(
            chooseTier(fakeS3(refused).client, target, TAKEN),
            /listing s3:\/\/b\/etcd-backups\/main\/daily\/2026\/11\/30\/ was refused \(AccessDenied\): the writer needs s3:ListBucket on the daily tier \(ListDailyBackups/,
        );
    });
});

describe("retention tiers: restore accepts either tier and refuses a backup moved between them", () => {
    const soon = new Date(TAKEN.getTime() + 10 * 60 * 1000);
    const where = (m: BackupManifest) => ({ manifestKey: manifestKeyOf(m.objectKey), prefix: PREFIX });

    it("accepts a daily, a frequent and a pre-tier backup's own manifest", () => {
        for (const tierPrefix of [`${PREFIX}daily/`, `${PREFIX}frequent/`, PREFIX]) {
            const m = backupIn(tierPrefix);
            assert.equal(manifestProblem(m, where(m), IDENTITY, soon), undefined, tierPrefix);
        }
    });

    it("refuses a frequent backup's manifest placed in the daily tier, and a daily one's in the frequent tier", () => {
        const frequent = backupIn(`${PREFIX}frequent/`);
        const daily = backupIn(`${PREFIX}daily/`);
        for (const [m, other] of [
            [frequent, daily],
            [daily, frequent],
        ]) {
            const manifestKey = manifestKeyOf(other.objectKey);
            assert.equal(
                manifestProblem(m, { manifestKey, prefix: PREFIX }, IDENTITY, soon),
                `the manifest at ${manifestKey} describes ${m.objectKey}: moved or replayed under another key`,
            );
        }
        // And a manifest that names a daily key while claiming a frequent backup's name pattern elsewhere.
        const renamed = { ...frequent, objectKey: frequent.objectKey.replace("/frequent/", "/daily/x/") };
        assert.match(
            manifestProblem(renamed, where(renamed), IDENTITY, soon)!,
            /which the agent names etcd-backups\/main\/daily\/2026\/11\/30\/.*: its name was not given by a backup$/,
        );
    });

    it("the newest across tiers is the one S3 wrote last, whichever tier it is in", () => {
        const stored = (m: BackupManifest, at: number): StoredObject[] => [
            { key: m.objectKey, lastModified: new Date(TAKEN.getTime() + at), size: 1500 },
            { key: manifestKeyOf(m.objectKey), lastModified: new Date(TAKEN.getTime() + at + 1000), size: 400 },
        ];
        const daily = backupIn(`${PREFIX}daily/`);
        const frequent = backupIn(`${PREFIX}frequent/`, new Date(TAKEN.getTime() + HOUR), 10500);
        const old = backupIn(PREFIX, new Date(TAKEN.getTime() - DAY), 9000);
        const order = newestFirst([...stored(daily, 0), ...stored(old, -DAY), ...stored(frequent, HOUR)]);
        assert.deepEqual(
            order.map((c) => c.snapshot?.key),
            [frequent.objectKey, daily.objectKey, old.objectKey],
        );
    });
});

describe("retention tiers: the configuration's tiers field", () => {
    const good = {
        project: "acme",
        stack: "prod",
        cluster: "main",
        endpoints: ["https://10.0.1.10:2379"],
        cacert: "/c",
        cert: "/c",
        key: "/k",
        bucket: "b",
        prefix: "etcd-backups/main/",
        region: "us-east-1",
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/x",
        onlyIfLeader: true,
    };

    it("absent (a configuration from before tiers), empty, or with a daily lock: accepted", () => {
        assert.deepEqual(agentConfigProblems(good), []);
        assert.deepEqual(agentConfigProblems({ ...good, tiers: {} }), []);
        assert.deepEqual(agentConfigProblems({ ...good, tiers: { dailyLock: { mode: "COMPLIANCE", days: 30 } } }), []);
    });

    it("names a bad tiers field", () => {
        assert.deepEqual(agentConfigProblems({ ...good, tiers: [] }), ["tiers: must be an object"]);
        assert.deepEqual(agentConfigProblems({ ...good, tiers: { dailyLock: { mode: "OFF", days: 0 } } }), [
            "tiers.dailyLock.mode: must be GOVERNANCE or COMPLIANCE",
            "tiers.dailyLock.days: must be a whole number of days from 1 to 36500",
        ]);
    });
});
