// One measured run in a process of its own, so its peak RSS is its own: `plain` reads the snapshot
// stream into nothing; `encrypt` checks and encrypts it into nothing (the agent's pipeline without
// the upload); `upload` uploads it unencrypted and unchecked, as the agent would (the S3 side
// alone); `backup` runs the agent itself. Prints one JSON line.
import { Upload } from "@aws-sdk/lib-storage";
import { PassThrough, Writable } from "stream";
import { pipeline } from "stream/promises";
import { DEFAULT_PART_SIZE, runBackup } from "../agent/backup/backup";
import { s3Client } from "../agent/backup/s3";
import { structuredLog } from "../agent/backup/log";
import { buildKeyring, encryptingStream, FRAME_LENGTH } from "../agent/backup/envelope";
import {
    connect,
    EtcdConnection,
    Rechunk,
    SnapshotBytes,
    snapshotStream,
    SnapshotIntegrity,
} from "../agent/backup/snapshot";

export type BenchMode = "plain" | "encrypt" | "upload" | "backup";

interface ChildArgs extends EtcdConnection {
    mode: BenchMode;
    endpoint: string;
    bucket: string;
    s3Endpoint: string;
    rawKeyFile: string;
}

async function main(): Promise<void> {
    const args = JSON.parse(process.argv[2]) as ChildArgs;
    const started = process.hrtime.bigint();
    let bytes = 0;
    if (args.mode === "upload") {
        const client = connect(args, args.endpoint);
        const source = new SnapshotBytes();
        const body = new PassThrough();
        const counted = new Writable({
            write(chunk: Buffer, _e, done) {
                bytes += chunk.length;
                body.write(chunk, done);
            },
            final(done) {
                body.end();
                done();
            },
        });
        const upload = new Upload({
            client: s3Client({ bucket: args.bucket, region: "us-east-1", endpoint: args.s3Endpoint }),
            params: { Bucket: args.bucket, Key: "bench/plain-upload", Body: body, ChecksumAlgorithm: "SHA256" },
            partSize: DEFAULT_PART_SIZE,
            queueSize: 2,
        });
        await Promise.all([pipeline([await snapshotStream(client), source, counted]), upload.done()]);
        client.close();
    } else if (args.mode !== "backup") {
        const client = connect(args, args.endpoint);
        const sink = new Writable({
            write(chunk: Buffer, _e, done) {
                bytes += chunk.length;
                done();
            },
        });
        const source = new SnapshotBytes();
        const stages: NodeJS.ReadWriteStream[] =
            args.mode === "encrypt"
                ? [
                      new Rechunk(FRAME_LENGTH),
                      new SnapshotIntegrity(() => source.totalBytes),
                      encryptingStream(buildKeyring({ rawKeyFile: args.rawKeyFile }), {
                          project: "bench",
                          stack: "bench",
                          cluster: "bench",
                          objectKey: "etcd-backups/bench/bench.db.enc",
                          revision: 1,
                          createdAt: new Date().toISOString(),
                          etcdVersion: "bench",
                      }),
                  ]
                : [];
        await pipeline([await snapshotStream(client), source, ...stages, sink]);
        client.close();
    } else {
        const result = await runBackup({
            project: "bench",
            stack: "bench",
            cluster: "bench",
            endpoints: [args.endpoint],
            cacert: args.cacert,
            cert: args.cert,
            key: args.key,
            bucket: args.bucket,
            prefix: "etcd-backups/bench/",
            region: "us-east-1",
            endpoint: args.s3Endpoint,
            keyring: { rawKeyFile: args.rawKeyFile },
            onlyIfLeader: false,
            log: structuredLog(() => undefined),
        });
        bytes = result.manifest!.plaintextBytes;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const usage = process.resourceUsage();
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    process.stdout.write(JSON.stringify({ bytes, seconds, cpuSeconds, maxRssKiB: usage.maxRSS }) + "\n");
    process.exit(0);
}

main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
});
