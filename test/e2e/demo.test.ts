// `secure-etcd demo`, as a person runs it: a real three-member cluster on loopback, the report, and a
// clean stop (every etcd gone, the temporary directory removed) on --check, Ctrl-C or SIGTERM.
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { CONFORMANCE_PROBES, eventually } from "../../testing/probes";
import { installedEtcd, onPath } from "../../agent/etcdBinary";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";

/** The compiled demo entry next to this compiled test: build/testing/demoCommand.js. */
const CLI = path.resolve(__dirname, "../../testing/demoCommand.js");

interface DemoRun {
    child: ChildProcess;
    stdout: string;
    stderr: string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: DemoRun[] = [];

const ETCD_TOOLS = ["etcd", "etcdctl", "etcdutl"];

/**
 * A command prefix that runs a command as on a machine without etcd: in a mount namespace of its own,
 * /dev/null is bind-mounted over every etcd, etcdctl and etcdutl on PATH (so none is found). Needs root.
 */
function withoutEtcd(): string[] {
    const found = (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter(Boolean)
        .flatMap((dir) => ETCD_TOOLS.map((tool) => path.join(dir, tool)))
        .filter((file) => fs.existsSync(file));
    const hide = [...new Set(found)].map((file) => `mount --bind /dev/null '${file}'`).join(" && ");
    return ["unshare", "--mount", "sh", "-c", `${hide || "true"} && exec "$@"`, "sh"];
}

function startDemo(
    args: string[],
    options: { env?: NodeJS.ProcessEnv; asNobody?: boolean; withoutEtcd?: boolean } = {},
): DemoRun {
    const argv = [process.execPath, CLI, ...args];
    const prefix = [
        ...(options.withoutEtcd ? withoutEtcd() : []),
        ...(options.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []),
    ];
    const command = [...prefix, ...argv];
    // A process group of its own: a terminal's Ctrl-C reaches the group, and cleanup can kill all of it.
    const child = spawn(command[0], command.slice(1), {
        env: options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
    });
    const run: DemoRun = {
        child,
        stdout: "",
        stderr: "",
        exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    };
    child.stdout.on("data", (d: Buffer) => (run.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (run.stderr += d.toString()));
    runs.push(run);
    return run;
}

const output = (run: DemoRun) => `--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;

async function exitOf(run: DemoRun, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`demo still running after ${ms} ms\n${output(run)}`)), ms);
    });
    try {
        return await Promise.race([run.exited, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

async function waitForOutput(run: DemoRun, pattern: RegExp, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pattern.test(run.stdout)) {
        if (run.child.exitCode !== null || run.child.signalCode !== null) {
            throw new Error(`demo exited before printing ${pattern}\n${output(run)}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`no ${pattern} after ${ms} ms\n${output(run)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** The demo's temporary directory, as it prints it. */
const rootOf = (run: DemoRun) => /^ {2}files {5}(\S+)$/m.exec(run.stdout)?.[1];
/** The etcd pids it prints with the endpoints. */
const etcdPids = (run: DemoRun) => [...run.stdout.matchAll(/^ {2}etcd-\d+ .* pid (\d+)$/gm)].map((m) => Number(m[1]));

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** Processes whose command line mentions `dir` (an etcd started from it). */
function processesUsing(dir: string): number[] {
    return fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
            try {
                return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
            } catch {
                return false;
            }
        })
        .map(Number);
}

function assertCleanedUp(run: DemoRun): void {
    const root = rootOf(run);
    assert.ok(root, `the demo names its directory\n${output(run)}`);
    assert.equal(fs.existsSync(root), false, `${root} removed`);
    assert.deepEqual(processesUsing(root), [], "no process runs from the demo's directory");
    const pids = etcdPids(run);
    assert.equal(pids.length, 3, `three etcd pids printed\n${output(run)}`);
    assert.deepEqual(
        pids.filter((p) => alive(p)),
        [],
        "every etcd pid is gone",
    );
}

/** Every probe of the report passed, and the report has them all. */
function assertReportPassed(run: DemoRun): void {
    const lines = run.stdout.split("\n").filter((l) => /^ {2}(PASS|FAIL) {2}/.test(l));
    assert.deepEqual(
        lines.map((l) => l.slice(8)),
        CONFORMANCE_PROBES.map((p) => p.title),
        output(run),
    );
    assert.ok(
        lines.every((l) => l.startsWith("  PASS")),
        output(run),
    );
    assert.match(run.stdout, new RegExp(`${CONFORMANCE_PROBES.length} of ${CONFORMANCE_PROBES.length} probes passed`));
}

describe("secure-etcd demo", function () {
    this.timeout(90_000);

    afterEach(async () => {
        // Whatever a failed test left: the demo's process group, its etcds, its directory.
        for (const run of runs.splice(0)) {
            if (run.child.exitCode === null && run.child.signalCode === null) {
                try {
                    process.kill(-run.child.pid!, "SIGKILL");
                } catch {
                    // already gone
                }
                await Promise.race([run.exited, new Promise((r) => setTimeout(r, 5000))]);
            }
            const root = rootOf(run);
            for (const pid of [...etcdPids(run), ...(root ? processesUsing(root) : [])]) {
                try {
                    process.kill(pid, "SIGKILL");
                } catch {
                    // already gone
                }
            }
            if (root) {
                fs.rmSync(root, { recursive: true, force: true });
            }
        }
    });

    it("--check: brings the cluster up, passes every probe, and leaves nothing behind", async () => {
        const run = startDemo(["--check"]);
        const { code } = await exitOf(run, 60_000);
        assert.equal(code, 0, output(run));
        assertReportPassed(run);
        assert.match(
            run.stdout,
            /^ {2}etcd-0 {2}client https:\/\/127\.0\.0\.1:2379 .* metrics http:\/\/127\.0\.0\.1:2381/m,
        );
        assert.match(run.stdout, /^ {2}etcd-2 {2}client https:\/\/127\.0\.0\.3:2379 /m);
        assert.doesNotMatch(run.stdout, /Press Ctrl-C/);
        assertCleanedUp(run);
    });

    for (const { signal, toGroup, how } of [
        {
            signal: "SIGINT" as const,
            toGroup: true,
            how: "Ctrl-C (SIGINT to the process group, as a terminal sends it)",
        },
        { signal: "SIGTERM" as const, toGroup: false, how: "SIGTERM to the demo alone" },
    ]) {
        it(`runs until ${how}, with a working etcdctl command, then stops cleanly`, async () => {
            const run = startDemo([]);
            await waitForOutput(run, /Press Ctrl-C to stop\./, 60_000);
            assertReportPassed(run);
            const command = /^ {2}(ETCDCTL_API=3 \S*etcdctl .* endpoint health)$/m.exec(run.stdout)?.[1];
            assert.ok(command, output(run));
            const root = rootOf(run)!;
            assert.equal(fs.statSync(path.join(root, "client/kube-apiserver-etcd-client.key")).mode & 0o777, 0o600);
            if (onPath("etcdctl")) {
                // Pasted into a shell, the command works with the certificates it names (asked again
                // while a member is briefly unhealthy: a busy machine can starve its health read).
                await eventually("the etcdctl command reports 3 healthy members", (seen) => {
                    const health = spawnSync("sh", ["-c", `${command} 2>&1`], { encoding: "utf8", timeout: 20_000 });
                    seen.last = `exit ${health.status}: ${health.stdout}`;
                    return Promise.resolve((health.stdout.match(/is healthy/g) ?? []).length === 3 ? true : undefined);
                });
            }
            process.kill(toGroup ? -run.child.pid! : run.child.pid!, signal);
            const { code, signal: killedBy } = await exitOf(run, 30_000);
            assert.equal(killedBy, null, output(run));
            assert.equal(code, 0, output(run));
            assert.match(run.stdout, new RegExp(`${signal}: stopping`));
            assert.match(run.stdout, /Stopped 3 etcd processes/);
            assertCleanedUp(run);
        });
    }

    it("without etcd and without apt-get (not Debian): says what to install, and fails", async () => {
        const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-nobin-"));
        const before = new Set(fs.readdirSync(os.tmpdir()));
        try {
            const run = startDemo(["--check"], { env: { ...process.env, PATH: emptyBin } });
            const { code } = await exitOf(run, 30_000);
            assert.notEqual(code, 0, output(run));
            assert.equal(
                run.stderr,
                "cannot run etcd: no etcd on PATH, and this machine has no apt-get and dpkg-deb to fetch Debian's " +
                    "etcd packages with. Install etcd 3.5 (its etcd and etcdctl binaries, from your distribution or " +
                    "the etcd project's release archive for your system) so that `etcd` is on PATH, then run the " +
                    "demo again.\n",
            );
            const created = fs
                .readdirSync(os.tmpdir())
                .filter((d) => !before.has(d) && d.startsWith("secure-etcd-demo-"));
            assert.deepEqual(created, [], "no directory created");
        } finally {
            fs.rmSync(emptyBin, { recursive: true, force: true });
        }
    });

    it("without etcd on PATH: runs Debian's etcd from the per-user cache, the release it renders for", async function () {
        if (process.getuid?.() !== 0) {
            this.skip(); // hiding the system's etcd takes a mount namespace
        }
        // The cache holds what scripts/fetch-etcd.sh would have put there (a copy of the etcd on PATH),
        // so the script reuses it and this test needs no network; CI fetches for real (.ci/etcd-versions).
        const etcd = installedEtcd();
        const line = etcd.version.split(".").slice(0, 2).join(".");
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-cache-"));
        const dir = path.join(cache, "secure-etcd", "etcd", line);
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin, { recursive: true });
        for (const tool of ETCD_TOOLS) {
            const found = onPath(tool);
            if (found) {
                fs.copyFileSync(found, path.join(bin, tool));
                fs.chmodSync(path.join(bin, tool), 0o755);
            }
        }
        const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        try {
            const run = startDemo(["--check", "--keep-dir", "--etcd-version", line], {
                env: { ...process.env, XDG_CACHE_HOME: cache },
                withoutEtcd: true,
            });
            const { code } = await exitOf(run, 60_000);
            assert.equal(code, 0, output(run));
            for (const line_ of [
                `  etcd      no etcd on PATH: Debian's etcd ${line} into ${dir} (scripts/fetch-etcd.sh)`,
                `            fetch-etcd: etcd ${line}: reusing etcd ${etcd.version} in ${bin}`,
                `  etcd      ${etcd.version} (${bin}/etcd): the component renders for this release`,
            ]) {
                assert.match(run.stdout, new RegExp(`^${quote(line_)}$`, "m"), output(run));
            }
            assert.match(run.stdout, new RegExp(`^ {2}ETCDCTL_API=3 ${quote(bin)}/etcdctl --endpoints=`, "m"));
            assertReportPassed(run);
            // What it rendered for: the static pod's image is the release that ran.
            const root = rootOf(run)!;
            const pod = YAML.parse(fs.readFileSync(path.join(root, "etcd-0", NODE_PATHS.manifest), "utf8")) as {
                spec: { containers: { image: string }[] };
            };
            assert.match(pod.spec.containers[0].image, new RegExp(`:${quote(etcd.version)}-0$`));
            fs.rmSync(root, { recursive: true, force: true });
            assertCleanedUp(run);
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });

    it("names the port and address when one is taken, and leaves nothing behind", async () => {
        const squatter = net.createServer();
        await new Promise<void>((resolve) => squatter.listen({ host: "127.0.0.2", port: 2380 }, resolve));
        try {
            const run = startDemo(["--check"]);
            const { code } = await exitOf(run, 60_000);
            assert.notEqual(code, 0, output(run));
            assert.match(run.stderr, /port 2380 on 127\.0\.0\.2 is already in use/);
            const root = rootOf(run)!;
            assert.equal(fs.existsSync(root), false, `${root} removed`);
            assert.deepEqual(processesUsing(root), []);
        } finally {
            await new Promise((resolve) => squatter.close(resolve));
        }
    });

    it("runs without root: etcd as the current user, no chown", async function () {
        if (process.getuid?.() !== 0) {
            this.skip(); // not root: every other test here already ran that way
        }
        const run = startDemo(["--check"], { asNobody: true });
        const { code } = await exitOf(run, 60_000);
        assert.equal(code, 0, output(run));
        assert.match(run.stdout, /uid 65534 \(not root\): members run as you/);
        assertReportPassed(run);
        assertCleanedUp(run);
    });
});
