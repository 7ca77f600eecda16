// Backup throughput and memory: a real etcd (single member, TLS, loopback) filled to 100 MiB and
// then 1 GiB, its snapshot read plainly (the baseline) and backed up by the agent's full pipeline
// (integrity check, envelope encryption, multipart upload to a real S3-protocol server), in the
// same run. Each measurement runs in a child process of its own, so its peak RSS is its own.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Etcd3 } from "etcd3";
import { BenchMode } from "./backupChild";
import { median } from "./stats";
import { freePort, startThrowawayEtcd } from "../agent/backup/throwawayEtcd";
import { startS3Server } from "../test/harness/s3Server";

const run = promisify(execFile);
const MiB = 1024 * 1024;

export interface BackupMeasurement {
    sizeMiB: number;
    mode: BenchMode;
    bytes: number;
    seconds: number;
    mibPerSecond: number;
    /** CPU time of the measuring process (user + system), start-up included. */
    cpuSeconds: number;
    maxRssMiB: number;
}

export interface BackupBenchResult {
    runs: BackupMeasurement[];
    /** Per size: median backup MiB/s over median plain MiB/s. */
    throughputRatio: Record<string, number>;
    /** Per size: the same for the pipeline without the upload. */
    pipelineRatio: Record<string, number>;
    /** Per size: the same for an unencrypted upload (the S3 side alone). */
    uploadRatio: Record<string, number>;
    peakRssMiB: Record<string, number>;
}

async function fillTo(client: Etcd3, targetBytes: number, written: { bytes: number; n: number }): Promise<void> {
    const value = crypto.randomBytes(MiB - 1024);
    while (written.bytes < targetBytes) {
        await Promise.all(
            Array.from({ length: 8 }, () => {
                const i = written.n++;
                written.bytes += value.length;
                // A fresh value each time: random data does not compress, as secrets do not.
                value.writeUInt32BE(i, 0);
                return client
                    .put(`/bench/${String(i).padStart(6, "0")}`)
                    .value(Buffer.from(value))
                    .exec();
            }),
        );
    }
}

export async function benchBackup(
    repeats: number,
    sizesMiB = (process.env.BENCH_SIZES_MIB ?? "100,1024").split(",").map(Number),
): Promise<BackupBenchResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-bench-backup-"));
    const rawKeyFile = path.join(dir, "raw.key");
    fs.writeFileSync(rawKeyFile, crypto.randomBytes(32).toString("base64"), { mode: 0o600 });
    // Room for a 1 GiB snapshot: etcd's default quota is 2 GiB of database, revisions included.
    const etcd = await startThrowawayEtcd({
        dataDir: path.join(dir, "data"),
        name: "bench",
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        workDir: dir,
        extraFlags: [`--quota-backend-bytes=${4 * 1024 * MiB}`],
    });
    const { client, clientUrl: endpoint, files: creds } = etcd;
    const s3 = await startS3Server("bench-backups");
    const runs: BackupMeasurement[] = [];
    try {
        const written = { bytes: 0, n: 0 };
        for (const sizeMiB of sizesMiB) {
            await fillTo(client, sizeMiB * MiB, written);
            process.stderr.write(`backup bench: etcd holds ${Math.round(written.bytes / MiB)} MiB\n`);
            for (let r = 0; r < repeats; r++) {
                // Alternate the order so neither mode always reads a warmer cache.
                const modes: BenchMode[] =
                    r % 2 === 0 ? ["plain", "encrypt", "upload", "backup"] : ["backup", "upload", "encrypt", "plain"];
                for (const mode of modes) {
                    const childArgs = {
                        mode,
                        endpoint,
                        ...creds,
                        bucket: "bench-backups",
                        s3Endpoint: s3.endpoint,
                        rawKeyFile,
                    };
                    const { stdout } = await run(
                        process.execPath,
                        [path.join(__dirname, "backupChild.js"), JSON.stringify(childArgs)],
                        {
                            env: s3.env,
                            maxBuffer: MiB,
                        },
                    );
                    const m = JSON.parse(stdout.trim().split("\n").pop()!) as {
                        bytes: number;
                        seconds: number;
                        cpuSeconds: number;
                        maxRssKiB: number;
                    };
                    runs.push({
                        sizeMiB,
                        mode,
                        bytes: m.bytes,
                        seconds: m.seconds,
                        mibPerSecond: m.bytes / MiB / m.seconds,
                        cpuSeconds: m.cpuSeconds,
                        maxRssMiB: m.maxRssKiB / 1024,
                    });
                }
            }
        }
    } finally {
        await s3.stop();
        await etcd.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
    const throughputRatio: Record<string, number> = {};
    const pipelineRatio: Record<string, number> = {};
    const uploadRatio: Record<string, number> = {};
    const peakRssMiB: Record<string, number> = {};
    for (const sizeMiB of sizesMiB) {
        const of = (mode: string) => runs.filter((r) => r.sizeMiB === sizeMiB && r.mode === mode);
        const plain = median(of("plain").map((r) => r.mibPerSecond));
        throughputRatio[`${sizeMiB}MiB`] = median(of("backup").map((r) => r.mibPerSecond)) / plain;
        pipelineRatio[`${sizeMiB}MiB`] = median(of("encrypt").map((r) => r.mibPerSecond)) / plain;
        uploadRatio[`${sizeMiB}MiB`] = median(of("upload").map((r) => r.mibPerSecond)) / plain;
        peakRssMiB[`${sizeMiB}MiB`] = Math.max(...of("backup").map((r) => r.maxRssMiB));
    }
    return { runs, throughputRatio, pipelineRatio, uploadRatio, peakRssMiB };
}
