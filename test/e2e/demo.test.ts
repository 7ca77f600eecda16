// `secure-etcd demo`, as a person runs it: a real three-member cluster on loopback, the report, and a
// clean stop (every etcd gone, the temporary directory removed) on --check, Ctrl-C or SIGTERM.
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { CONFORMANCE_PROBES } from "../../testing/probes";

/** The compiled demo entry next to this compiled test: build/testing/demoCommand.js. */
const CLI = path.resolve(__dirname, "../../testing/demoCommand.js");

interface DemoRun {
    child: ChildProcess;
    stdout: string;
    stderr: string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: DemoRun[] = [];

function startDemo(args: string[], options: { env?: NodeJS.ProcessEnv; asNobody?: boolean } = {}): DemoRun {
    const argv = [process.execPath, CLI, ...args];
    const command = options.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...argv] : argv;
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
            const command = /^ {2}(ETCDCTL_API=3 etcdctl .* endpoint health)$/m.exec(run.stdout)?.[1];
            assert.ok(command, output(run));
            const root = rootOf(run)!;
            assert.equal(fs.statSync(path.join(root, "client/kube-apiserver-etcd-client.key")).mode & 0o777, 0o600);
            if (fs.existsSync("/usr/bin/etcdctl")) {
                // Pasted into a shell, the command works with the certificates it names.
                const health = execFileSync("sh", ["-c", `${command} 2>&1`], { encoding: "utf8", timeout: 20_000 });
                assert.equal((health.match(/is healthy/g) ?? []).length, 3, health);
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

    it("says how to install etcd, and fails, when there is none", async () => {
        const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-nobin-"));
        const before = new Set(fs.readdirSync(os.tmpdir()));
        try {
            const run = startDemo(["--check"], { env: { ...process.env, PATH: emptyBin } });
            const { code } = await exitOf(run, 30_000);
            assert.notEqual(code, 0, output(run));
            assert.match(run.stderr, /etcd is not installed/);
            assert.ok(run.stderr.includes("sudo apt-get install -y etcd-server etcd-client"), output(run));
            const created = fs
                .readdirSync(os.tmpdir())
                .filter((d) => !before.has(d) && d.startsWith("secure-etcd-demo-"));
            assert.deepEqual(created, [], "no directory created");
        } finally {
            fs.rmSync(emptyBin, { recursive: true, force: true });
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
