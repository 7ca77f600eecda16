// etcd's own snapshot tooling: `etcdutl` (3.5 and later) or `etcdctl` (3.4, where the snapshot
// commands still live). Used to judge a restored file the way an operator's restore would.
import { execFile } from "child_process";
import { promisify } from "util";
import { onPath } from "../etcdBinary";

const run = promisify(execFile);

export interface SnapshotTool {
    /** The binary: `etcdutl` or `etcdctl`. */
    command: string;
    /** Whether `snapshot restore` takes --bump-revision/--mark-compacted (etcdutl 3.5.x late, 3.6). */
    bumpsRevision: boolean;
}

export interface SnapshotStatus {
    hash: number;
    revision: number;
    totalKey: number;
    totalSize: number;
}

export async function findSnapshotTool(): Promise<SnapshotTool> {
    for (const command of ["etcdutl", "etcdctl"]) {
        const found = onPath(command);
        if (found) {
            const help = await run(found, ["snapshot", "restore", "--help"], { env: cleanEnv() }).then(
                (r) => r.stdout + r.stderr,
                () => "",
            );
            return { command: found, bumpsRevision: help.includes("--bump-revision") };
        }
    }
    throw new Error(
        "neither etcdutl nor etcdctl is on PATH; install etcd's client tools (Debian: apt-get install -y etcd-client)",
    );
}

/** etcdctl 3.4 needs ETCDCTL_API=3; an operator's ETCDCTL_* endpoints or certs must not leak in. */
function cleanEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (!k.startsWith("ETCDCTL_")) {
            env[k] = v;
        }
    }
    env.ETCDCTL_API = "3";
    return env;
}

export async function snapshotStatus(tool: SnapshotTool, file: string): Promise<SnapshotStatus> {
    try {
        const { stdout } = await run(tool.command, ["snapshot", "status", file, "-w", "json"], { env: cleanEnv() });
        const parsed = JSON.parse(stdout) as SnapshotStatus;
        return { hash: parsed.hash, revision: parsed.revision, totalKey: parsed.totalKey, totalSize: parsed.totalSize };
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`${tool.command} snapshot status refused the snapshot: ${(err.stderr || err.message).trim()}`);
    }
}

export interface RestoreTarget {
    dataDir: string;
    name: string;
    peerUrl: string;
    /** Every member's name and peer URL (a whole cluster's restore); default this member alone. */
    initialCluster?: { name: string; peerUrl: string }[];
    initialClusterToken?: string;
    /**
     * `--bump-revision` by this much and `--mark-compacted`: watches from before the restore are
     * told their revision was compacted. Only where the tool has them (`bumpsRevision`).
     */
    bumpRevision?: number;
}

/** The arguments of `snapshot restore` for a target (internal, exported for testing). */
export function restoreArgs(tool: SnapshotTool, file: string, target: RestoreTarget): string[] {
    const cluster = target.initialCluster ?? [{ name: target.name, peerUrl: target.peerUrl }];
    if (target.bumpRevision !== undefined && !tool.bumpsRevision) {
        throw new Error(`${tool.command} snapshot restore has no --bump-revision/--mark-compacted`);
    }
    return [
        "snapshot",
        "restore",
        file,
        `--data-dir=${target.dataDir}`,
        `--name=${target.name}`,
        `--initial-cluster=${cluster.map((m) => `${m.name}=${m.peerUrl}`).join(",")}`,
        `--initial-advertise-peer-urls=${target.peerUrl}`,
        ...(target.initialClusterToken ? [`--initial-cluster-token=${target.initialClusterToken}`] : []),
        ...(target.bumpRevision !== undefined ? [`--bump-revision=${target.bumpRevision}`, "--mark-compacted"] : []),
    ];
}

export async function restoreSnapshot(tool: SnapshotTool, file: string, target: RestoreTarget): Promise<void> {
    const args = restoreArgs(tool, file, target);
    try {
        await run(tool.command, args, { env: cleanEnv() });
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`${tool.command} snapshot restore failed: ${(err.stderr || err.message).trim()}`);
    }
}
