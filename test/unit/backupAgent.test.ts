// The backup agent's pure parts: object naming, manifests, its configuration contract, and the
// stream stages that regroup and check a snapshot.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { Readable, Writable } from "stream";
import { pipeline } from "stream/promises";
import { agentConfigProblems, backupPrefix } from "../../src/backup/agentConfig";
import {
    compactTime,
    isManifestKey,
    manifestKeyOf,
    manifestMetadata,
    MANIFEST_FORMAT,
    objectBase,
    parseManifest,
    snapshotKey,
} from "../../agent/backup/objects";
import { Rechunk, SnapshotIntegrity } from "../../agent/backup/snapshot";
import { structuredLog } from "../../agent/backup/log";

async function collect(chunks: Buffer[], ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    await pipeline([
        Readable.from(chunks),
        ...stages,
        new Writable({
            write(chunk: Buffer, _e, done) {
                out.push(chunk);
                done();
            },
        }),
    ]);
    return out;
}

function snapshotBytes(n: number): Buffer {
    const body = crypto.randomBytes(n);
    return Buffer.concat([body, crypto.createHash("sha256").update(body).digest()]);
}

describe("backup agent: object names and manifests", () => {
    const at = new Date("2026-11-23T05:48:04.123Z");

    it("names a backup by cluster, day, time and revision; names sort by time", () => {
        const base = objectBase(backupPrefix("main"), "main", at);
        assert.equal(base, "etcd-backups/main/2026/11/23/main-20261123T054804Z");
        const key = snapshotKey(base, 10001);
        assert.equal(key, "etcd-backups/main/2026/11/23/main-20261123T054804Z-rev10001.db.enc");
        assert.equal(manifestKeyOf(key), "etcd-backups/main/2026/11/23/main-20261123T054804Z-rev10001.manifest.json");
        assert.ok(isManifestKey(manifestKeyOf(key)));
        assert.ok(compactTime(new Date("2026-11-23T10:00:00Z")) > compactTime(new Date("2026-11-23T09:59:59Z")));
        assert.throws(
            () => manifestKeyOf("etcd-backups/main/x.json"),
            /not a backup snapshot \(expected a name ending in \.db\.enc\)/,
        );
    });

    const manifest = {
        format: MANIFEST_FORMAT,
        project: "acme",
        stack: "prod",
        cluster: "main",
        revision: 7,
        createdAt: at.toISOString(),
        etcdVersion: "3.6.5",
        plaintextBytes: 1234,
        sha256: "a".repeat(64),
        objectKey: "etcd-backups/main/k.db.enc",
        encryptedBytes: 1500,
        keyring: "arn:aws:kms:us-east-1:123456789012:key/x",
    };

    it("parses a manifest and refuses anything else with where and why", () => {
        assert.deepEqual(parseManifest(JSON.stringify(manifest), "m"), manifest);
        assert.throws(() => parseManifest("{", "s3://b/m"), /s3:\/\/b\/m is not a backup manifest \(not JSON\)/);
        assert.throws(
            () => parseManifest(JSON.stringify({ ...manifest, format: "x" }), "m"),
            /not a secure-etcd-backup\/v2 manifest/,
        );
        // The first format bound a backup to the component name alone: refused, with what to do.
        assert.throws(
            () => parseManifest(JSON.stringify({ ...manifest, format: "secure-etcd-backup/v1" }), "s3://b/m"),
            /s3:\/\/b\/m was written in the previous format \(secure-etcd-backup\/v1\), which binds a backup to the component name alone, not to its stack, object key and time: it is refused\. Re-run a backup \(secure-etcd backup\) with this agent/,
        );
        assert.throws(
            () => parseManifest(JSON.stringify({ ...manifest, stack: undefined }), "m"),
            /manifest field stack is missing/,
        );
        assert.throws(
            () => parseManifest(JSON.stringify({ ...manifest, createdAt: "2026-11-23 05:48" }), "m"),
            /manifest createdAt is not an RFC 3339 UTC time/,
        );
        assert.throws(
            () => parseManifest(JSON.stringify({ ...manifest, revision: "7" }), "m"),
            /manifest field revision is missing/,
        );
        assert.throws(() => parseManifest(JSON.stringify({ ...manifest, sha256: "abc" }), "m"), /not a SHA-256 digest/);
    });

    it("carries revision, size and digest as S3 metadata", () => {
        assert.deepEqual(manifestMetadata(manifest), {
            project: "acme",
            stack: "prod",
            cluster: "main",
            revision: "7",
            "created-at": at.toISOString(),
            "plaintext-bytes": "1234",
            "plaintext-sha256": "a".repeat(64),
            "snapshot-key": "etcd-backups/main/k.db.enc",
        });
    });
});

describe("backup agent: the configuration a member's timer runs with", () => {
    const good = {
        project: "acme",
        stack: "prod",
        cluster: "main",
        endpoints: ["https://10.0.1.10:2379"],
        cacert: "/etc/kubernetes/pki/etcd/ca.crt",
        cert: "/etc/kubernetes/pki/etcd/backup-client.crt",
        key: "/etc/kubernetes/pki/etcd/backup-client.key",
        bucket: "b",
        prefix: "etcd-backups/main/",
        region: "us-east-1",
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/x",
        onlyIfLeader: true,
    };

    it("accepts the rendered shape and names every bad field", () => {
        assert.deepEqual(agentConfigProblems(good), []);
        assert.deepEqual(agentConfigProblems([]), ["the configuration must be a JSON object"]);
        assert.deepEqual(
            agentConfigProblems({
                ...good,
                endpoints: ["http://10.0.1.10:2379"],
                prefix: "x",
                bucket: "",
                onlyIfLeader: "yes",
                stack: "",
            }),
            [
                "stack: must be a non-empty string",
                "bucket: must be a non-empty string",
                "endpoints: http://10.0.1.10:2379 is not https:// (the backup client authenticates with its certificate)",
                "prefix: must end with '/'",
                "onlyIfLeader: must be true or false",
            ],
        );
        // Rendered by an earlier release, without the stack the backups are bound to.
        const older: Partial<typeof good> = { ...good };
        delete older.project;
        delete older.stack;
        assert.deepEqual(agentConfigProblems(older), [
            "project: missing; an earlier secure-etcd rendered this configuration: run `pulumi up` with the release of this agent",
            "stack: missing; an earlier secure-etcd rendered this configuration: run `pulumi up` with the release of this agent",
        ]);
    });
});

describe("backup agent: stream stages", () => {
    it("regroups 32 KiB messages into whole frames, losing and adding nothing", async () => {
        const data = crypto.randomBytes(3 * 1024 * 1024 + 12345);
        const pieces = Array.from({ length: Math.ceil(data.length / 32768) }, (_, i) =>
            data.subarray(i * 32768, (i + 1) * 32768),
        );
        const out = await collect(pieces, new Rechunk(1024 * 1024));
        assert.deepEqual(
            out.map((c) => c.length),
            [1048576, 1048576, 1048576, 12345],
        );
        assert.ok(Buffer.concat(out).equals(data));
    });

    it("measures a good snapshot: size and the SHA-256 of every byte", async () => {
        const data = snapshotBytes(100_000);
        const check = new SnapshotIntegrity(() => data.length);
        // Split so the 32-byte trailer straddles chunks.
        await collect([data.subarray(0, 99_990), data.subarray(99_990, 100_010), data.subarray(100_010)], check);
        assert.equal(check.bytes, data.length);
        assert.equal(check.sha256, crypto.createHash("sha256").update(data).digest("hex"));
    });

    it("fails a snapshot that is short, or whose trailer does not match", async () => {
        const data = snapshotBytes(10_000);
        await assert.rejects(
            collect([data.subarray(0, 5000)], new SnapshotIntegrity(() => data.length)),
            /ended after 5000 of 10032 bytes/,
        );
        const altered = Buffer.from(data);
        altered[10] ^= 1;
        await assert.rejects(collect([altered], new SnapshotIntegrity(() => 0)), /failed etcd's integrity check/);
    });

    it("structured logs are one JSON object per line, progress every tenth", () => {
        const lines: string[] = [];
        const log = structuredLog((l) => lines.push(l));
        log.info("backup.started", { cluster: "main", revision: 3 });
        for (let done = 0; done <= 100; done += 5) {
            log.progress(done, 100);
        }
        log.error("backup.failed", "NoSuchBucket: gone");
        const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.equal(parsed[0].event, "backup.started");
        assert.equal(parsed.filter((p) => p.event === "progress").length, 10);
        assert.deepEqual(
            { level: parsed.at(-1)!.level, error: parsed.at(-1)!.error },
            { level: "error", error: "NoSuchBucket: gone" },
        );
        assert.ok(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n")));
    });
});
