// Runs the component's own artifacts as a real etcd cluster: builds SecureEtcdCluster under the
// mocks, writes each member's nodeFiles under a temporary root, and starts one etcd per network
// namespace with exactly the rendered command line (absolute paths remapped into the root).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { NodeFile, SecureEtcdClusterArgs } from "../../src";
import { buildCluster, BuiltCluster } from "../harness/cluster";
import { createHosts, memberIp, namespaceOf, removeHosts } from "./netns";

export const MEMBER_COUNT = 3;

export function installedEtcdVersion(): string {
    let out: string;
    try {
        out = execFileSync("etcd", ["--version"], { encoding: "utf8" });
    } catch {
        throw new Error("etcd is not installed: run `sudo apt-get install -y etcd-server etcd-client` (Debian/Ubuntu)");
    }
    const m = /etcd Version: (\d+\.\d+\.\d+)/.exec(out);
    if (!m) {
        throw new Error(`cannot read the etcd version from: ${out}`);
    }
    return m[1];
}

export interface RunningMember {
    name: string;
    ip: string;
    namespace: string;
    process: ChildProcess;
    log: string[];
    /** The member's files, as written under the root. */
    files: NodeFile[];
    command: string[];
}

export class LocalCluster {
    readonly root: string;
    readonly members: RunningMember[] = [];
    built!: BuiltCluster;

    private constructor() {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-e2e-"));
        fs.chmodSync(this.root, 0o755); // the etcd user must traverse it
    }

    /** Where a member's node path lands: each member host has a root of its own. */
    onHost(memberName: string, nodePath: string): string {
        return path.join(this.root, memberName, nodePath);
    }

    static async start(extraArgs: Partial<SecureEtcdClusterArgs> = {}): Promise<LocalCluster> {
        const cluster = new LocalCluster();
        try {
            await cluster.boot(extraArgs);
        } catch (e) {
            cluster.stop();
            throw e;
        }
        return cluster;
    }

    private async boot(extraArgs: Partial<SecureEtcdClusterArgs>): Promise<void> {
        const version = installedEtcdVersion();
        this.built = await buildCluster(
            {
                members: Array.from({ length: MEMBER_COUNT }, (_, i) => ({ name: `etcd-${i}`, ip: memberIp(i) })),
                etcdVersion: version,
                ...extraArgs,
            },
            "e2e",
        );
        createHosts(MEMBER_COUNT);
        const nodeFiles = this.built.outputs.nodeFiles.value;
        for (let i = 0; i < MEMBER_COUNT; i++) {
            const name = `etcd-${i}`;
            const files = nodeFiles[name];
            this.writeFiles(name, files);
            const manifest = files.find((f) => f.path.endsWith("/manifests/etcd.yaml"))!;
            const pod = YAML.parse(manifest.content) as {
                spec: {
                    containers: { command: string[]; securityContext: { runAsUser: number; runAsGroup: number } }[];
                };
            };
            const container = pod.spec.containers[0];
            const command = container.command.map((arg) => this.remap(name, arg));
            const { runAsUser, runAsGroup } = container.securityContext;
            const proc = spawn(
                "ip",
                [
                    "netns",
                    "exec",
                    namespaceOf(i),
                    "setpriv",
                    `--reuid=${runAsUser}`,
                    `--regid=${runAsGroup}`,
                    "--clear-groups",
                    ...command,
                ],
                { stdio: ["ignore", "pipe", "pipe"] },
            );
            const log: string[] = [];
            proc.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
            proc.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
            this.members.push({ name, ip: memberIp(i), namespace: namespaceOf(i), process: proc, log, files, command });
        }
        await this.waitHealthy(30_000);
    }

    private writeFiles(memberName: string, files: NodeFile[]): void {
        for (const f of files) {
            const target = this.onHost(memberName, f.path);
            const [uid, gid] = f.owner.split(":").map(Number);
            if (f.directory) {
                fs.mkdirSync(target, { recursive: true });
            } else {
                fs.mkdirSync(path.dirname(target), { recursive: true });
                fs.writeFileSync(target, f.content);
            }
            fs.chmodSync(target, parseInt(f.mode, 8));
            fs.chownSync(target, uid, gid);
        }
    }

    /** `--flag=/abs/path[,...]` -> the same under the root; everything else unchanged. */
    private remap(memberName: string, arg: string): string {
        const m = /^(--[^=]+=)(\/.*)$/.exec(arg);
        return m ? m[1] + this.onHost(memberName, m[2]) : arg;
    }

    /** Waits for every member's metrics listener (inside its namespace) to report healthy. */
    private async waitHealthy(timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (const m of this.members) {
            for (;;) {
                if (m.process.exitCode !== null) {
                    throw new Error(`${m.name} exited (${m.process.exitCode}):\n${m.log.join("").slice(-3000)}`);
                }
                if (this.metricsGet(m, "/health").includes('"health":"true"')) {
                    break;
                }
                if (Date.now() > deadline) {
                    const logs = this.members.map(
                        (o) => `--- ${o.name} (exit ${o.process.exitCode}):\n${o.log.join("").slice(-1500)}`,
                    );
                    throw new Error(`${m.name} not healthy after ${timeoutMs} ms:\n${logs.join("\n")}`);
                }
                await new Promise((r) => setTimeout(r, 250));
            }
        }
    }

    /** GET on a member's loopback metrics listener, from inside its namespace (curl). */
    metricsGet(m: RunningMember, urlPath: string): string {
        try {
            return execFileSync(
                "ip",
                ["netns", "exec", m.namespace, "curl", "-s", "--max-time", "2", `http://127.0.0.1:2381${urlPath}`],
                { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
            );
        } catch {
            return "";
        }
    }

    stop(): void {
        for (const m of this.members) {
            if (m.process.exitCode === null) {
                m.process.kill("SIGKILL");
            }
        }
        // `ip netns exec` hands over to etcd via exec, so the pid is etcd's; also sweep the namespaces.
        for (let i = 0; i < MEMBER_COUNT; i++) {
            try {
                const pids = execFileSync("ip", ["netns", "pids", namespaceOf(i)], { encoding: "utf8" })
                    .split("\n")
                    .filter(Boolean);
                for (const pid of pids) {
                    process.kill(Number(pid), "SIGKILL");
                }
            } catch {
                // namespace already gone
            }
        }
        removeHosts(MEMBER_COUNT);
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}
