// Runs the component's own artifacts as a real etcd cluster on this machine: builds SecureEtcdCluster
// under the local stand-ins, writes each member's nodeFiles under a root of its own (modes, and owners
// when root), and starts one etcd per member with exactly the rendered command line (only absolute
// paths remapped into that root). Where each member runs is the caller's choice: on this host's
// loopback (the demo) or in a network namespace per member (the conformance suite).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { SecureEtcdClusterArgs } from "../src";
import { NodeFile } from "../src/manifests/nodeFiles";
import { NODE_PATHS } from "../src/manifests/nodeLayout";
import { EtcdBinary, installedEtcd, onPath } from "../agent/etcdBinary";
import { ProviderMocks } from "./mocks";
import { ProbeTarget } from "./probes";
import { renderCluster, RenderedCluster } from "./render";

export interface MemberHost {
    /** The address the member is rendered with, and reached at. */
    ip: string;
    /** A command prefix that runs a command on the member's host (`ip netns exec NS`); none for this host. */
    exec?: string[];
}

export interface LocalClusterOptions {
    /** The SecureEtcdCluster's name: its children's prefix and the initial cluster token. */
    name: string;
    /** One host per member; members are named `etcd-0`, `etcd-1`, ... */
    hosts: MemberHost[];
    /** Prefix of the temporary root's name in the OS temp directory. */
    tempPrefix: string;
    /** Start etcd as the rendered uid/gid and chown as rendered. Needs root. @default whether running as root */
    asRenderedUser?: boolean;
    /**
     * The etcd binary every member runs; the component renders for the release it reports, so the
     * flags always match the binary. @default the `etcd` on PATH
     */
    etcd?: EtcdBinary;
    /** More component arguments (members and the etcd version are set). */
    args?: Partial<SecureEtcdClusterArgs>;
    /** Render as a `pulumi up` after this run of the same stack (its CAs and certificates kept). */
    previous?: ProviderMocks;
    /** @default 30000 */
    healthTimeoutMs?: number;
    /** Creates the member hosts, before anything starts. */
    setUpHosts?: () => void;
    /** Removes the member hosts and anything left on them, after every member has stopped. */
    tearDownHosts?: () => void;
    /** Reads a member's metrics listener. @default plain HTTP from this host */
    metricsGet?: (member: LocalMember, urlPath: string) => Promise<string>;
    /** Keep the root (certificates, keys, data, logs) when the cluster stops. */
    keepRoot?: boolean;
    /**
     * Rewrites each member's rendered command (paths already remapped) before it starts, for the
     * benchmarks' other configurations of the same cluster. @default the rendered command, unchanged
     */
    rewriteCommand?: (command: string[]) => string[];
}

export interface LocalMember {
    name: string;
    ip: string;
    host: MemberHost;
    /** The member's files as rendered (node paths); they are written under `root/<name>`. */
    files: NodeFile[];
    /** The rendered etcd command, absolute paths remapped under the member's root. */
    command: string[];
    /** The file run as the command's `etcd`. */
    executable: string;
    /** The rendered `--listen-metrics-urls` (the first one). */
    metricsUrl: string;
    uid: number;
    gid: number;
    process: ChildProcess;
    /** etcd's stdout and stderr. */
    logFile: string;
    /** Resolves when the process has exited (or failed to start). */
    exited: Promise<void>;
    /** Why it exited, once it has. */
    exitReason?: string;
}

/** A host:port that a member would listen on is taken. */
export class PortInUseError extends Error {
    constructor(
        readonly host: string,
        readonly port: number,
    ) {
        super(
            `port ${port} on ${host} is already in use (another etcd?); ` +
                `\`ss -ltnp 'sport = :${port}'\` shows which process has it. Stop it and try again.`,
        );
        this.name = "PortInUseError";
    }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `promise`, at most `ms`; whether it settled in time. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
        return await Promise.race([promise.then(() => true), timeout]);
    } finally {
        clearTimeout(timer);
    }
}

function flagValue(command: string[], name: string): string | undefined {
    return command.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Plain HTTP GET from this host; "" when nothing answers. */
export function httpGetText(url: string, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve(body));
            res.on("error", () => resolve(""));
        });
        req.on("error", () => resolve(""));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

/** Fails with a clear message if this host cannot listen on `host:port`. */
function checkPortFree(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", (e: NodeJS.ErrnoException) => {
            if (e.code === "EADDRINUSE") {
                reject(new PortInUseError(host, port));
            } else if (e.code === "EADDRNOTAVAIL") {
                reject(
                    new Error(`${host} is not an address of this machine, so nothing can listen on ${host}:${port}`),
                );
            } else {
                reject(e);
            }
        });
        server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
    });
}

/** Whether every user may execute `file`: it is world-executable and each directory above it world-searchable. */
function reachableByAll(file: string): boolean {
    let p = path.resolve(file);
    if ((fs.statSync(p).mode & 0o001) === 0) {
        return false;
    }
    while (path.dirname(p) !== p) {
        p = path.dirname(p);
        if ((fs.statSync(p).mode & 0o001) === 0) {
            return false;
        }
    }
    return true;
}

/** The host:port pairs of a member's listeners, from its rendered flags. */
function listeners(command: string[]): { host: string; port: number }[] {
    return ["--listen-client-urls", "--listen-peer-urls", "--listen-metrics-urls"]
        .flatMap((f) => (flagValue(command, f) ?? "").split(",").filter(Boolean))
        .map((u) => new URL(u))
        .map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(u.port) }));
}

interface PodCommand {
    command: string[];
    uid: number;
    gid: number;
}

/** The etcd container's command and identity, from the member's rendered static pod. */
function podCommand(files: NodeFile[]): PodCommand {
    const manifest = files.find((f) => f.path === NODE_PATHS.manifest);
    if (!manifest) {
        throw new Error(`the node files carry no ${NODE_PATHS.manifest}`);
    }
    const pod = YAML.parse(manifest.content) as {
        spec: { containers: { command: string[]; securityContext: { runAsUser: number; runAsGroup: number } }[] };
    };
    const container = pod.spec.containers[0];
    return {
        command: container.command,
        uid: container.securityContext.runAsUser,
        gid: container.securityContext.runAsGroup,
    };
}

export class LocalEtcdCluster {
    readonly root: string;
    readonly members: LocalMember[] = [];
    readonly asRenderedUser: boolean;
    /** The binary the members run and the component rendered for (set by `boot`). */
    etcd!: EtcdBinary;
    rendered!: RenderedCluster;
    private stopping?: Promise<void>;
    private hostsSetUp = false;

    constructor(readonly options: LocalClusterOptions) {
        this.asRenderedUser = options.asRenderedUser ?? process.getuid?.() === 0;
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), options.tempPrefix));
        // The etcd user must traverse the root to reach its files; otherwise only we need to.
        fs.chmodSync(this.root, this.asRenderedUser ? 0o755 : 0o700);
    }

    /** Renders, writes and starts every member, and waits until all are healthy; stops everything on failure. */
    static async start(options: LocalClusterOptions): Promise<LocalEtcdCluster> {
        const cluster = new LocalEtcdCluster(options);
        try {
            await cluster.boot();
        } catch (e) {
            await cluster.stop();
            throw e;
        }
        return cluster;
    }

    /** Where a member's node path lands: each member host has a root of its own. */
    onHost(memberName: string, nodePath: string): string {
        return path.join(this.root, memberName, nodePath);
    }

    get logDir(): string {
        return path.join(this.root, "logs");
    }

    /** Everything `start` does, for callers that need the instance first (to stop it on a signal). */
    async boot(): Promise<void> {
        this.etcd = this.options.etcd ?? installedEtcd();
        if (this.asRenderedUser && !onPath("setpriv")) {
            throw new Error(
                "setpriv is not installed; it starts etcd as the rendered user: `sudo apt-get install -y util-linux`",
            );
        }
        const hosts = this.options.hosts;
        this.rendered = await renderCluster(this.options.name, this.clusterArgs(), {
            previous: this.options.previous,
        });
        if (this.rendered.etcdVersion !== this.etcd.version) {
            throw new Error(
                `rendered for etcd ${this.rendered.etcdVersion}, but ${this.etcd.path} is ${this.etcd.version}`,
            );
        }
        this.throwIfStopping();
        const planned = hosts.map((host, i) => {
            const name = `etcd-${i}`;
            const files = this.rendered.nodeFiles[name];
            const pod = podCommand(files);
            const command = pod.command.map((arg) => this.remap(name, arg));
            return { name, host, files, ...pod, command: this.options.rewriteCommand?.(command) ?? command };
        });
        for (const p of planned.filter((p) => !p.host.exec?.length)) {
            for (const l of listeners(p.command)) {
                await checkPortFree(l.host, l.port);
            }
        }
        this.throwIfStopping();
        if (this.options.setUpHosts) {
            this.hostsSetUp = true;
            this.options.setUpHosts();
        }
        fs.mkdirSync(this.logDir, { mode: 0o700 });
        const executable = this.executableFor(this.etcd.path);
        // From here to the last spawn nothing awaits, so a stop() sees either no member or all of them.
        for (const p of planned) {
            this.writeFiles(p.name, p.files);
        }
        for (const p of planned) {
            this.members.push(this.spawnMember(p.name, p.host, p.files, p, executable));
        }
        await this.waitHealthy(this.options.healthTimeoutMs ?? 30_000);
    }

    /** The component's arguments for this cluster, with `overrides` on top. */
    private clusterArgs(overrides: Partial<SecureEtcdClusterArgs> = {}): SecureEtcdClusterArgs {
        return {
            members: this.options.hosts.map((h, i) => ({ name: `etcd-${i}`, ip: h.ip })),
            // Nothing reaches AWS here: the group exists only in the local stand-ins.
            vpcId: "vpc-0000000000000000a",
            ...this.options.args,
            ...overrides,
            etcdVersion: this.etcd.version,
        };
    }

    /**
     * The next `pulumi up` of the same stack: renders again with the previous run's state (what did
     * not change keeps its keys and certificates; what is due for renewal is re-issued) and makes it
     * the cluster's rendering. Writes nothing to the members: delivering it is node sync's job.
     */
    async renderNext(overrides: Partial<SecureEtcdClusterArgs> = {}): Promise<RenderedCluster> {
        this.rendered = await renderCluster(this.options.name, this.clusterArgs(overrides), {
            previous: this.rendered.mocks,
        });
        return this.rendered;
    }

    /**
     * Writes files onto a running member's host as they are (content, mode, owner): what a day-2
     * change delivers, without restarting anything.
     */
    writeMemberFiles(memberName: string, files: NodeFile[]): void {
        this.writeFiles(memberName, files);
    }

    /**
     * What the kubelet does when a member's static-pod manifest changes: stops the member (SIGTERM,
     * then SIGKILL), starts it again from the manifest now on its host, and waits until it reports
     * healthy. Files other than the manifest are read from the host as they are.
     */
    async restartMember(memberName: string, healthTimeoutMs = 60_000): Promise<LocalMember> {
        const index = this.members.findIndex((m) => m.name === memberName);
        if (index < 0) {
            throw new Error(`no member ${memberName}`);
        }
        const old = this.members[index];
        await this.stopMember(old);
        const manifest = fs.readFileSync(this.onHost(memberName, NODE_PATHS.manifest), "utf8");
        const files = old.files.map((f) => (f.path === NODE_PATHS.manifest ? { ...f, content: manifest } : f));
        const pod = podCommand(files);
        const command = pod.command.map((arg) => this.remap(memberName, arg));
        const rewritten = this.options.rewriteCommand?.(command) ?? command;
        const member = this.spawnMember(memberName, old.host, files, { ...pod, command: rewritten }, old.executable);
        this.members[index] = member;
        await this.waitMemberHealthy(member, Date.now() + healthTimeoutMs);
        return member;
    }

    /**
     * What the kubelet does when a static-pod manifest appears on a node that runs no etcd yet (a
     * member that joins): starts etcd from the manifest on the host. Waits only until the process
     * runs: a learner reports healthy once it has caught up.
     */
    startMemberOnHost(memberName: string, host: MemberHost, files: NodeFile[]): LocalMember {
        if (this.members.some((m) => m.name === memberName)) {
            throw new Error(`${memberName} runs already`);
        }
        const manifest = fs.readFileSync(this.onHost(memberName, NODE_PATHS.manifest), "utf8");
        const withManifest = [
            ...files.filter((f) => f.path !== NODE_PATHS.manifest),
            { ...files.find((f) => f.path === NODE_PATHS.manifest)!, content: manifest },
        ];
        const pod = podCommand(withManifest);
        const command = pod.command.map((arg) => this.remap(memberName, arg));
        const executable = this.executableFor(this.etcd.path);
        const member = this.spawnMember(memberName, host, withManifest, { ...pod, command }, executable);
        this.members.push(member);
        return member;
    }

    /**
     * A member's node retired: its etcd stopped (if it still runs) and its host's files deleted, so
     * a member of the same name on another host starts from nothing.
     */
    async retireMember(memberName: string): Promise<void> {
        const index = this.members.findIndex((m) => m.name === memberName);
        if (index >= 0) {
            await this.stopMember(this.members[index]);
            this.members.splice(index, 1);
        }
        fs.rmSync(path.join(this.root, memberName), { recursive: true, force: true });
    }

    /** Stops one member and waits until it has exited. */
    async stopMember(member: LocalMember): Promise<void> {
        if (member.exitReason !== undefined) {
            return;
        }
        member.process.kill("SIGTERM");
        if (!(await within(member.exited, 10_000))) {
            member.process.kill("SIGKILL");
            if (!(await within(member.exited, 10_000))) {
                throw new Error(`could not stop ${member.name} (pid ${member.process.pid})`);
            }
        }
    }

    private throwIfStopping(): void {
        if (this.stopping) {
            throw new Error("stopped while starting");
        }
    }

    private writeFiles(memberName: string, files: NodeFile[]): void {
        for (const f of files) {
            const target = this.onHost(memberName, f.path);
            if (f.directory) {
                fs.mkdirSync(target, { recursive: true });
            } else {
                fs.mkdirSync(path.dirname(target), { recursive: true });
                fs.writeFileSync(target, Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8"));
            }
            fs.chmodSync(target, parseInt(f.mode, 8));
            if (this.asRenderedUser) {
                const [uid, gid] = f.owner.split(":").map(Number);
                fs.chownSync(target, uid, gid);
            }
        }
    }

    /** `--flag=/abs/path[,...]` -> the same under the member's root; everything else unchanged. */
    private remap(memberName: string, arg: string): string {
        const m = /^(--[^=]+=)(\/.*)$/.exec(arg);
        return m ? m[1] + this.onHost(memberName, m[2]) : arg;
    }

    /**
     * The path the members start etcd from: the binary itself, or, when the members run as the
     * rendered user and cannot reach it (a binary under root's home), a copy in this cluster's root.
     */
    private executableFor(binary: string): string {
        if (!this.asRenderedUser || reachableByAll(binary)) {
            return binary;
        }
        const copy = path.join(this.root, "bin", "etcd");
        fs.mkdirSync(path.dirname(copy), { mode: 0o755 });
        fs.copyFileSync(binary, copy);
        fs.chmodSync(copy, 0o755);
        return copy;
    }

    private spawnMember(
        name: string,
        host: MemberHost,
        files: NodeFile[],
        pod: PodCommand,
        executable: string,
    ): LocalMember {
        // setpriv drops to the rendered user, and kills etcd if this process dies without stopping it.
        const setpriv = ["setpriv", "--pdeathsig=KILL"];
        const launcher = this.asRenderedUser
            ? [...setpriv, `--reuid=${pod.uid}`, `--regid=${pod.gid}`, "--clear-groups"]
            : onPath("setpriv")
              ? setpriv
              : [];
        // The rendered command runs `etcd`: this cluster's binary, not whatever PATH finds first.
        const command = pod.command[0] === "etcd" ? [executable, ...pod.command.slice(1)] : pod.command;
        const argv = [...(host.exec ?? []), ...launcher, ...command];
        const logFile = path.join(this.logDir, `${name}.log`);
        const fd = fs.openSync(logFile, "a", 0o600);
        let proc: ChildProcess;
        try {
            proc = spawn(argv[0], argv.slice(1), { stdio: ["ignore", fd, fd] });
        } finally {
            fs.closeSync(fd);
        }
        const member: LocalMember = {
            name,
            ip: host.ip,
            host,
            files,
            command: pod.command,
            executable: command[0],
            metricsUrl: (flagValue(pod.command, "--listen-metrics-urls") ?? "").split(",")[0],
            uid: pod.uid,
            gid: pod.gid,
            process: proc,
            logFile,
            exited: Promise.resolve(),
        };
        member.exited = new Promise<void>((resolve) => {
            proc.once("exit", (code, signal) => {
                member.exitReason = signal ? `killed by ${signal}` : `exit code ${code}`;
                resolve();
            });
            proc.once("error", (e) => {
                member.exitReason ??= `failed to start: ${e.message}`;
                resolve();
            });
        });
        return member;
    }

    /** The end of a member's log, for error messages. */
    logTail(member: LocalMember, chars = 2000): string {
        try {
            return fs.readFileSync(member.logFile, "utf8").slice(-chars);
        } catch {
            return "";
        }
    }

    metricsGet(member: LocalMember, urlPath: string): Promise<string> {
        return this.options.metricsGet
            ? this.options.metricsGet(member, urlPath)
            : httpGetText(member.metricsUrl + urlPath);
    }

    /** What the probes need, given where this process calls the members from. */
    probeTarget(caller: Pick<ProbeTarget, "callerIp" | "bindCaller" | "strangerIp" | "spareLoopback">): ProbeTarget {
        const apiserver = this.rendered.clientCredentials["kube-apiserver-etcd-client"];
        const byName = new Map(this.members.map((m) => [m.name, m]));
        return {
            ...caller,
            members: this.members,
            apiserver: { certPem: apiserver.certPem, keyPem: apiserver.keyPem, ca: apiserver.caCertPem },
            etcdCa: this.rendered.etcdCa,
            peerCa: this.rendered.peerCa,
            metricsGet: (m, urlPath) => this.metricsGet(byName.get(m.name)!, urlPath),
        };
    }

    /** Waits for every member's metrics listener to report healthy. */
    private async waitHealthy(timeoutMs: number): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (const m of this.members) {
            await this.waitMemberHealthy(m, deadline);
        }
    }

    private async waitMemberHealthy(m: LocalMember, deadline: number): Promise<void> {
        for (;;) {
            this.throwIfStopping();
            if (m.exitReason !== undefined) {
                throw new Error(`${m.name} stopped (${m.exitReason}):\n${this.logTail(m, 3000)}`);
            }
            if ((await this.metricsGet(m, "/health")).includes('"health":"true"')) {
                return;
            }
            if (Date.now() > deadline) {
                const logs = this.members.map(
                    (o) => `--- ${o.name} (${o.exitReason ?? "running"}):\n${this.logTail(o, 1500)}`,
                );
                throw new Error(`${m.name} not healthy by the deadline:\n${logs.join("\n")}`);
            }
            await delay(250);
        }
    }

    /**
     * Stops every member (SIGTERM, then SIGKILL after a grace period) and waits until each has exited,
     * tears the hosts down, and removes the root unless asked to keep it. Safe to call more than once,
     * and while starting.
     */
    stop(): Promise<void> {
        this.stopping ??= this.stopNow();
        return this.stopping;
    }

    private async stopNow(): Promise<void> {
        const running = () => this.members.filter((m) => m.exitReason === undefined);
        for (const m of running()) {
            m.process.kill("SIGTERM");
        }
        // Followers close in about a second; a leader whose followers are gone waits on a leadership
        // transfer that cannot happen, so it gets SIGKILL (etcd's data survives that by design).
        if (!(await within(Promise.all(this.members.map((m) => m.exited)), 2000))) {
            for (const m of running()) {
                m.process.kill("SIGKILL");
            }
            if (!(await within(Promise.all(this.members.map((m) => m.exited)), 10_000))) {
                throw new Error(
                    `could not stop ${running()
                        .map((m) => `${m.name} (pid ${m.process.pid})`)
                        .join(", ")}`,
                );
            }
        }
        if (this.hostsSetUp) {
            this.options.tearDownHosts?.();
        }
        if (!this.options.keepRoot) {
            fs.rmSync(this.root, { recursive: true, force: true });
        }
    }
}
