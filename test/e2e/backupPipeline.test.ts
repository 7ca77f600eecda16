// The agent's pipeline fed from synthetic snapshots, against a real S3-protocol server that records
// each request it receives: every failure mid-stream ends with the multipart upload aborted, no object and
// no manifest — nothing that looks like a backup.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { Readable } from "stream";
import { uploadSnapshot, UploadTarget } from "../../agent/backup/backup";
import { structuredLog } from "../../agent/backup/log";
import { LocalS3, startS3Server } from "../harness/s3Server";

const MiB = 1024 * 1024;
const BUCKET = "pipeline-backups";

/** Bytes shaped like an etcd snapshot: a body and the SHA-256 of that body. */
function fakeSnapshot(bodyBytes: number): Buffer {
    const body = crypto.randomBytes(bodyBytes);
    return Buffer.concat([body, crypto.createHash("sha256").update(body).digest()]);
}

/** Streams `data` in 32 KiB pieces (as etcd does), failing with `failAt` bytes sent if given. */
function source(data: Buffer, failAt?: number): Readable {
    let offset = 0;
    return new Readable({
        read() {
            if (failAt !== undefined && offset >= failAt) {
                this.destroy(new Error("etcd went away mid-snapshot"));
                return;
            }
            if (offset >= data.length) {
                this.push(null);
                return;
            }
            // Slowly enough that the upload has parts in flight when the failure comes.
            setImmediate(() => {
                this.push(data.subarray(offset, offset + 32 * 1024));
                offset += 32 * 1024;
            });
        },
    });
}

describe("backup pipeline: failures leave nothing that looks like a backup", function () {
    this.timeout(120_000);
    let s3: LocalS3;
    let dir: string;
    let target: UploadTarget;

    before(async () => {
        s3 = await startS3Server(BUCKET);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-pipeline-"));
        const rawKeyFile = path.join(dir, "raw.key");
        fs.writeFileSync(rawKeyFile, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
        target = {
            project: "p",
            stack: "s",
            cluster: "pipe",
            prefix: "etcd-backups/pipe/",
            bucket: BUCKET,
            region: "us-east-1",
            endpoint: s3.endpoint,
            keyring: { rawKeyFile },
            partSize: 5 * MiB,
            log: structuredLog(() => undefined),
        };
    });

    after(async () => {
        await s3?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    beforeEach(() => (s3.requests.length = 0));
    /** Each request the S3 server received since the test began, as `METHOD path?query`. */
    const requests = () => s3.requests.map((r) => `${r.method} ${r.url}`);

    async function objects(): Promise<string[]> {
        const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "etcd-backups/pipe/" }));
        return (page.Contents ?? []).map((o) => o.Key!);
    }

    const meta = (data: Buffer, totalBytes = data.length) => ({
        revision: 42,
        totalBytes,
        etcdVersion: "3.4.23",
        createdAt: new Date(),
    });

    it("a whole snapshot becomes a multipart object and then its manifest", async () => {
        const data = fakeSnapshot(12 * MiB);
        const result = await uploadSnapshot({ stream: source(data), ...meta(data) }, target);
        assert.equal(result.manifest!.plaintextBytes, data.length);
        assert.equal(result.manifest!.sha256, crypto.createHash("sha256").update(data).digest("hex"));
        const uploads = requests().filter((r) => /partNumber=/.test(r));
        assert.ok(uploads.length >= 2, `parts: ${uploads.length}`);
        assert.ok(
            requests().findIndex((r) => /manifest\.json/.test(r)) >
                requests().findIndex((r) => /^POST .*uploadId=/.test(r)),
            "manifest after completion",
        );
        assert.equal((await objects()).length, 2);
    });

    for (const [what, make, expected] of [
        [
            "etcd fails mid-stream after parts were uploaded",
            () => {
                const data = fakeSnapshot(16 * MiB);
                return { stream: source(data, 12 * MiB), ...meta(data) };
            },
            /etcd went away mid-snapshot/,
        ],
        [
            "the stream ends short of the size etcd announced",
            () => {
                const data = fakeSnapshot(12 * MiB);
                return { stream: source(data.subarray(0, 11 * MiB)), ...meta(data) };
            },
            /snapshot stream ended after 11534336 of 12582944 bytes/,
        ],
        [
            "the snapshot fails etcd's own integrity check",
            () => {
                const data = fakeSnapshot(12 * MiB);
                data[6 * MiB] ^= 0xff;
                return { stream: source(data), ...meta(data) };
            },
            /failed etcd's integrity check/,
        ],
    ] as const) {
        it(`${what}: the upload is aborted, no object, no manifest`, async () => {
            const before = await objects();
            await assert.rejects(uploadSnapshot(make(), target), expected);
            assert.deepEqual(await objects(), before);
            assert.ok(
                requests().some((r) => /partNumber=/.test(r)),
                "parts had been uploaded before the failure",
            );
            assert.ok(
                requests().some((r) => /^DELETE .*uploadId=/.test(r)),
                `AbortMultipartUpload sent: ${requests().join("\n")}`,
            );
            assert.ok(!requests().some((r) => /^POST .*uploadId=/.test(r)), "never completed");
            assert.ok(!requests().some((r) => /manifest\.json/.test(r)), "no manifest written");
        });
    }
});
