// What makes a backup authentic, checked without S3 or etcd: the encryption context that binds a
// ciphertext to its cluster, key, revision and time (with the real Encryption SDK), the manifest's
// claims against its name, the clock and S3's record, the order restore tries backups in, and
// where an encrypted message ends.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable, Writable } from "stream";
import { pipeline } from "stream/promises";
import {
    BackupBinding,
    bindingContext,
    CLOCK_SKEW_MS,
    contextProblem,
    manifestProblem,
    MAX_BACKUP_MS,
    newestFirst,
    StoredObject,
    storedProblem,
} from "../../agent/backup/authenticity";
import { buildKeyring, decryptingStream, encryptingStream } from "../../agent/backup/envelope";
import { MessageBounds } from "../../agent/backup/messageBounds";
import { BackupManifest, manifestKeyOf, MANIFEST_FORMAT, objectBase, snapshotKey } from "../../agent/backup/objects";
import { backupPrefix, CLUSTER_CONTEXT_KEY } from "../../src/backup/agentConfig";

const IDENTITY = { project: "acme", stack: "prod-eu", cluster: "main" };
const TAKEN = new Date("2026-11-23T05:48:04.123Z");
const PREFIX = backupPrefix("main");
const OBJECT_KEY = snapshotKey(objectBase(PREFIX, "main", TAKEN), 10001);
const MANIFEST_KEY = manifestKeyOf(OBJECT_KEY);

const BINDING: BackupBinding = {
    ...IDENTITY,
    objectKey: OBJECT_KEY,
    revision: 10001,
    createdAt: TAKEN.toISOString(),
    etcdVersion: "3.6.14",
};

const MANIFEST: BackupManifest = {
    format: MANIFEST_FORMAT,
    ...BINDING,
    plaintextBytes: 1234,
    sha256: "a".repeat(64),
    encryptedBytes: 1500,
    keyring: "raw:secure-etcd/backup-raw-key",
};

const at = (ms: number) => new Date(TAKEN.getTime() + ms);
const SECOND = 1000;
const HOUR = 3600 * SECOND;

async function collect(source: Readable | Buffer[], ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
    const out: Buffer[] = [];
    await pipeline([
        source instanceof Readable ? source : Readable.from(source),
        ...stages,
        new Writable({
            write(chunk: Buffer, _e, done) {
                out.push(chunk);
                done();
            },
        }),
    ]);
    return Buffer.concat(out);
}

function pieces(data: Buffer, size: number): Buffer[] {
    return Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));
}

describe("backup authenticity: the encryption context binds the ciphertext", function () {
    let dir: string;
    let keyFile: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-authenticity-"));
        keyFile = path.join(dir, "raw.key");
        fs.writeFileSync(keyFile, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const encrypt = (plaintext: Buffer, binding = BINDING) =>
        collect([plaintext], encryptingStream(buildKeyring({ rawKeyFile: keyFile }), binding));
    const decrypt = (ciphertext: Buffer, claimed: BackupBinding, readFrom: string) =>
        collect([ciphertext], decryptingStream(buildKeyring({ rawKeyFile: keyFile }), claimed, readFrom));

    it("carries identity, key, revision, time and etcd version; the IAM-conditioned cluster key is kept", () => {
        assert.deepEqual(bindingContext(BINDING), {
            "secure-etcd:content": "etcd-snapshot",
            "secure-etcd:format": "secure-etcd-backup/v2",
            "secure-etcd:project": "acme",
            "secure-etcd:stack": "prod-eu",
            [CLUSTER_CONTEXT_KEY]: "main",
            "secure-etcd:object-key": OBJECT_KEY,
            "secure-etcd:revision": "10001",
            "secure-etcd:created-at": "2026-11-23T05:48:04.123Z",
            "secure-etcd:etcd-version": "3.6.14",
        });
        assert.equal(CLUSTER_CONTEXT_KEY, "secure-etcd:cluster");
    });

    it("decrypts what it encrypted, read from the key it was written to", async () => {
        const plaintext = crypto.randomBytes(5000);
        assert.ok((await decrypt(await encrypt(plaintext), BINDING, OBJECT_KEY)).equals(plaintext));
    });

    it("refuses it read from another key, for another stack, or with another revision or time", async () => {
        const ciphertext = await encrypt(crypto.randomBytes(5000));
        const moved = OBJECT_KEY.replace("T054804Z", "T235959Z");
        await assert.rejects(
            decrypt(ciphertext, { ...BINDING, objectKey: moved }, moved),
            new RegExp(
                `authenticated encryption context names object key ${OBJECT_KEY}, but it was read from ${moved}: moved or replayed under another key`,
            ),
        );
        await assert.rejects(
            decrypt(ciphertext, { ...BINDING, stack: "prod-us" }, OBJECT_KEY),
            /authenticated encryption context names stack "prod-eu", not "prod-us": a backup of another cluster, swapped in/,
        );
        await assert.rejects(
            decrypt(ciphertext, { ...BINDING, revision: 20002 }, OBJECT_KEY),
            /says secure-etcd:revision=10001, the manifest says 20002: the manifest does not describe this snapshot/,
        );
        await assert.rejects(
            decrypt(ciphertext, { ...BINDING, createdAt: "2026-11-24T00:00:00.000Z" }, OBJECT_KEY),
            /says secure-etcd:created-at=2026-11-23T05:48:04.123Z, the manifest says 2026-11-24T00:00:00.000Z/,
        );
    });

    it("names what is wrong with a context that is not a current backup's", () => {
        const good = bindingContext(BINDING);
        assert.equal(contextProblem(good, BINDING, OBJECT_KEY), undefined);
        // The first format's context: the component name and the content only.
        assert.match(
            contextProblem(
                { [CLUSTER_CONTEXT_KEY]: "main", "secure-etcd:content": "etcd-snapshot" },
                BINDING,
                OBJECT_KEY,
            )!,
            /is of format \(absent\), not secure-etcd-backup\/v2: written by an earlier agent, which did not bind it to its key and time; re-run a backup/,
        );
        assert.match(
            contextProblem({ ...good, "secure-etcd:content": "etcd-key-ring" }, BINDING, OBJECT_KEY)!,
            /holds secure-etcd:content=etcd-key-ring, not an etcd snapshot/,
        );
        assert.match(
            contextProblem({ ...good, [CLUSTER_CONTEXT_KEY]: "other" }, BINDING, OBJECT_KEY)!,
            /names cluster "other", not "main": a backup of another cluster/,
        );
        assert.match(
            contextProblem({ ...good, "secure-etcd:project": "elsewhere" }, BINDING, OBJECT_KEY)!,
            /names project "elsewhere", not "acme"/,
        );
        assert.match(contextProblem({ ...good, extra: "x" }, BINDING, OBJECT_KEY)!, /keys a backup never has: extra/);
    });
});

describe("backup authenticity: the manifest's claims", () => {
    const where = { manifestKey: MANIFEST_KEY, prefix: PREFIX };
    const soon = at(10 * 60 * SECOND);

    it("accepts a backup's own manifest, and a clock a little behind", () => {
        assert.equal(manifestProblem(MANIFEST, where, IDENTITY, soon), undefined);
        assert.equal(manifestProblem(MANIFEST, where, IDENTITY, at(-CLOCK_SKEW_MS + SECOND)), undefined);
    });

    it("refuses another cluster's: project, stack and name together are the identity", () => {
        for (const other of [
            { ...IDENTITY, stack: "prod-us" },
            { ...IDENTITY, project: "other" },
            { ...IDENTITY, cluster: "other" },
        ]) {
            assert.match(
                manifestProblem(MANIFEST, where, other, soon)!,
                /^the manifest is of cluster acme\/prod-eu\/main \(project\/stack\/name\), not .*: a backup of another cluster$/,
            );
        }
    });

    it("refuses a manifest beside another object than the one it describes", () => {
        const elsewhere = MANIFEST_KEY.replace("T054804Z", "T235959Z");
        assert.equal(
            manifestProblem(MANIFEST, { ...where, manifestKey: elsewhere }, IDENTITY, soon),
            `the manifest at ${elsewhere} describes ${OBJECT_KEY}: moved or replayed under another key`,
        );
    });

    it("refuses a name the agent would not give that revision and time: one chosen to sort last", () => {
        for (const objectKey of [
            `${PREFIX}9999/12/31/main-99991231T235959Z-rev10001.db.enc`,
            `${PREFIX}zzz.db.enc`,
            OBJECT_KEY.replace("rev10001", "rev99999"),
        ]) {
            const forged = { ...MANIFEST, objectKey };
            assert.match(
                manifestProblem(forged, { ...where, manifestKey: manifestKeyOf(objectKey) }, IDENTITY, soon)!,
                new RegExp(
                    `^the manifest says revision 10001 taken at 2026-11-23T05:48:04.123Z, which the agent names ${OBJECT_KEY.replace(/\./g, "\\.")}, not .*: its name was not given by a backup$`,
                ),
            );
        }
    });

    it("refuses a backup dated in the future beyond the clock-skew allowance", () => {
        const now = at(-2 * HOUR);
        assert.equal(
            manifestProblem(MANIFEST, where, IDENTITY, now),
            `the backup says it was taken at 2026-11-23T05:48:04.123Z, 2 hours after now (${now.toISOString()}; clocks may differ by 5 minutes): dated in the future`,
        );
    });
});

describe("backup authenticity: S3's record", () => {
    const stored = (snapshotAfter: number, manifestAfter: number, size = MANIFEST.encryptedBytes) => ({
        snapshot: { key: OBJECT_KEY, lastModified: at(snapshotAfter), size },
        manifest: { key: MANIFEST_KEY, lastModified: at(manifestAfter), size: 400 },
    });

    it("accepts objects S3 stored while the backup ran", () => {
        assert.equal(storedProblem(MANIFEST, stored(2 * SECOND, 3 * SECOND)), undefined);
        assert.equal(storedProblem(MANIFEST, stored(-CLOCK_SKEW_MS + SECOND, 20 * HOUR)), undefined);
    });

    it("refuses a manifest whose snapshot is missing, or is not the size it records", () => {
        assert.match(
            storedProblem(MANIFEST, { manifest: stored(1, 1).manifest })!,
            /the snapshot .* does not exist: a manifest without its snapshot is not a backup/,
        );
        assert.equal(
            storedProblem(MANIFEST, stored(1, 1, 1600)),
            `the object ${OBJECT_KEY} is 1600 bytes, the manifest records 1500: bytes were appended to it`,
        );
        assert.equal(
            storedProblem(MANIFEST, stored(1, 1, 900)),
            `the object ${OBJECT_KEY} is 900 bytes, the manifest records 1500: it was truncated`,
        );
    });

    it("refuses a time S3 contradicts: stored before the snapshot was taken", () => {
        assert.equal(
            storedProblem(MANIFEST, stored(-HOUR, 1)),
            `S3 stored the snapshot at ${at(-HOUR).toISOString()}, 1 hour before the time the backup claims (2026-11-23T05:48:04.123Z): its time is forged`,
        );
    });

    it("refuses a manifest S3 stored longer after the snapshot than a backup takes: an old backup replayed", () => {
        assert.equal(
            storedProblem(MANIFEST, stored(SECOND, 3 * 24 * HOUR)),
            `S3 stored the manifest at ${at(3 * 24 * HOUR).toISOString()}, 3 days after the time the backup claims (2026-11-23T05:48:04.123Z), longer than a backup takes (1 day): written later, not by the backup that took the snapshot`,
        );
        assert.match(
            storedProblem(MANIFEST, stored(MAX_BACKUP_MS + CLOCK_SKEW_MS + SECOND, 1))!,
            /S3 stored the snapshot/,
        );
    });

    it("orders candidates by when S3 stored their manifests, never by their names", () => {
        const object = (key: string, lastModified: Date, size = 10): StoredObject => ({ key, lastModified, size });
        const forgedKey = `${PREFIX}9999/12/31/main-99991231T235959Z-rev1.manifest.json`;
        const older = manifestKeyOf(snapshotKey(objectBase(PREFIX, "main", at(-HOUR)), 9000));
        const listing = [
            object(forgedKey, at(-2 * HOUR)),
            object(OBJECT_KEY, at(SECOND)),
            object(MANIFEST_KEY, at(2 * SECOND)),
            object(older, at(-HOUR + 2 * SECOND)),
        ];
        const order = newestFirst(listing);
        assert.deepEqual(
            order.map((c) => c.manifest.key),
            [MANIFEST_KEY, older, forgedKey],
        );
        assert.equal(order[0].snapshot?.key, OBJECT_KEY);
        assert.equal(order[1].snapshot, undefined);
    });
});

describe("backup authenticity: where an encrypted message ends", function () {
    let dir: string;
    let keyFile: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-bounds-"));
        keyFile = path.join(dir, "raw.key");
        fs.writeFileSync(keyFile, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
    });

    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const encrypt = (plaintext: Buffer) =>
        collect(pieces(plaintext, 1024 * 1024), encryptingStream(buildKeyring({ rawKeyFile: keyFile }), BINDING));

    async function measure(data: Buffer, chunk: number): Promise<MessageBounds> {
        const bounds = new MessageBounds();
        const out = await collect(pieces(data, chunk), bounds);
        assert.ok(out.equals(data), "passes the bytes through unchanged");
        return bounds;
    }

    for (const [what, size] of [
        ["a small message", 100],
        ["several frames", 2.5 * 1024 * 1024],
        ["a whole number of frames", 2 * 1024 * 1024],
        ["an empty snapshot", 0],
    ] as const) {
        it(`finds the end of ${what}, whatever the chunking`, async () => {
            const ciphertext = await encrypt(crypto.randomBytes(size));
            for (const chunk of [7, 4096, 1024 * 1024 + 3]) {
                if (chunk === 7 && ciphertext.length > 100_000) {
                    continue;
                }
                const bounds = await measure(ciphertext, chunk);
                assert.equal(bounds.messageBytes, ciphertext.length, `chunks of ${chunk}`);
                assert.equal(bounds.bytes, ciphertext.length);
            }
        });
    }

    it("fails on bytes appended after the final frame, which the Encryption SDK alone accepts", async () => {
        const plaintext = crypto.randomBytes(300_000);
        const ciphertext = await encrypt(plaintext);
        const appended = Buffer.concat([ciphertext, crypto.randomBytes(100)]);
        // Why this stage exists: an unsigned message decrypts whatever follows it.
        const decrypted = await collect(
            [appended],
            decryptingStream(buildKeyring({ rawKeyFile: keyFile }), BINDING, OBJECT_KEY),
        );
        assert.ok(decrypted.equals(plaintext));
        await assert.rejects(
            measure(appended, 4096),
            new RegExp(
                `^Error: 100 bytes follow the end of its encrypted message \\(which ends at byte ${ciphertext.length} of ${appended.length}\\): appended after it was written$`,
            ),
        );
        await assert.rejects(measure(Buffer.concat([ciphertext, Buffer.alloc(1)]), 7), /1 bytes follow the end/);
    });

    it("fails on a message cut anywhere: in its header, a frame or its final tag", async () => {
        const ciphertext = await encrypt(crypto.randomBytes(1024 * 1024 + 10));
        for (const cut of [1, 40, 300, 100_000, ciphertext.length - 1]) {
            await assert.rejects(
                measure(ciphertext.subarray(0, cut), 4096),
                new RegExp(`the object ends after ${cut} bytes, before its encrypted message does: truncated`),
            );
        }
    });

    it("fails on anything but a framed message of the backup suite", async () => {
        await assert.rejects(
            measure(Buffer.from(JSON.stringify(MANIFEST)), 4096),
            /it is not an encrypted backup \(message format version 123, expected 2\)/,
        );
        const ciphertext = await encrypt(crypto.randomBytes(10));
        const otherSuite = Buffer.from(ciphertext);
        otherSuite.writeUInt16BE(0x0578, 1);
        await assert.rejects(measure(otherSuite, 4096), /algorithm suite 0x578, not the backup suite/);
    });
});
