// `secure-etcd demo`: the component's own artifacts as a real three-member etcd cluster on this
// machine's loopback (127.0.0.1-3), the endpoints and an etcdctl command to try it, and the
// conformance probes as a short report. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM. Without an etcd
// on PATH it fetches Debian's (testing/demoEtcd.ts) and renders for that release.
import * as fs from "fs";
import * as path from "path";
import { etcdVersionProblem } from "../src/manifests/etcdVersion";
import { EtcdBinary, EtcdNotInstalledError, installedEtcd, onPath } from "../agent/etcdBinary";
import { canFetchDebianEtcd, chooseEtcd, etcdCacheDir, fetchEtcd } from "./demoEtcd";
import { LocalEtcdCluster } from "./etcdCluster";
import { collectingWarnings } from "./warnings";
import { runProbes } from "./probes";

export interface DemoOptions {
    /** Run the report, then stop; succeed only if every probe passed. */
    check: boolean;
    /** Keep the temporary directory when stopping. */
    keepDir: boolean;
    /**
     * The etcd line or release to run ("3.5", "3.5.16"): the one on PATH if it is that, else fetched
     * from Debian's archive. @default the etcd on PATH, else the newest 3.5
     */
    etcdVersion?: string;
}

export interface DemoIo {
    out: (line: string) => void;
    err: (line: string) => void;
}

const MEMBER_IPS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
/** Loopback addresses no member uses: the probes call from one and name the other in a certificate. */
const SPARE_LOOPBACK = "127.0.0.100";
const STRANGER_LOOPBACK = "127.0.0.99";
const CLIENT = "kube-apiserver-etcd-client";

const defaultIo: DemoIo = {
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
};

/** Writes kube-apiserver's credentials where etcdctl can use them; returns the paths. */
function writeClientFiles(cluster: LocalEtcdCluster): { dir: string; ca: string; cert: string; key: string } {
    const creds = cluster.rendered.clientCredentials[CLIENT];
    const dir = path.join(cluster.root, "client");
    const files = {
        ca: path.join(dir, "ca.crt"),
        cert: path.join(dir, `${CLIENT}.crt`),
        key: path.join(dir, `${CLIENT}.key`),
    };
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(files.ca, creds.caCertPem, { mode: 0o644 });
    fs.writeFileSync(files.cert, creds.certPem, { mode: 0o644 });
    fs.writeFileSync(files.key, creds.keyPem, { mode: 0o600 });
    // Under sudo, the person who ran it pastes the etcdctl command: give them the client files.
    const sudoUid = Number(process.env.SUDO_UID);
    const sudoGid = Number(process.env.SUDO_GID);
    if (cluster.asRenderedUser && Number.isInteger(sudoUid) && Number.isInteger(sudoGid) && sudoUid > 0) {
        for (const p of [dir, files.ca, files.cert, files.key]) {
            fs.chownSync(p, sudoUid, sudoGid);
        }
    }
    return { dir, ...files };
}

/** The etcd on PATH, if there is one. */
function etcdOnPath(): EtcdBinary | undefined {
    try {
        return installedEtcd();
    } catch (e) {
        if (e instanceof EtcdNotInstalledError) {
            return undefined;
        }
        throw e;
    }
}

/** The etcd the demo runs: the one on PATH, or Debian's, fetched into the per-user cache (or reused). */
async function demoEtcd(requested: string | undefined, io: DemoIo): Promise<EtcdBinary> {
    const choice = chooseEtcd({
        requested,
        onPath: etcdOnPath(),
        canFetch: canFetchDebianEtcd(),
        cacheDir: etcdCacheDir(),
    });
    if (choice.kind === "fail") {
        throw new Error(choice.message);
    }
    if (choice.kind === "use") {
        return choice.etcd;
    }
    io.out(`  etcd      ${choice.why}: Debian's etcd ${choice.request} into ${choice.dir} (scripts/fetch-etcd.sh)`);
    const etcd = await fetchEtcd(choice.request, choice.dir, (line) => io.out(`            ${line}`));
    // etcdctl and etcdutl of the same release come first for everything the demo starts.
    process.env.PATH = [path.dirname(etcd.path), process.env.PATH].filter(Boolean).join(path.delimiter);
    return etcd;
}

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(options: DemoOptions, io: DemoIo = defaultIo): Promise<number> {
    const { out, err } = io;
    out("secure-etcd demo: a hardened three-member etcd cluster on loopback, from SecureEtcdCluster's own artifacts");
    out("");

    let etcd: EtcdBinary;
    try {
        etcd = await demoEtcd(options.etcdVersion, io);
    } catch (e) {
        err(`cannot run etcd: ${(e as Error).message}`);
        return 1;
    }
    const version = etcd.version;
    const versionProblem = etcdVersionProblem(version);
    if (versionProblem) {
        err(`etcd ${version} (${etcd.path}) cannot be rendered for: ${versionProblem}`);
        return 1;
    }

    const cluster = new LocalEtcdCluster({
        name: "demo",
        hosts: MEMBER_IPS.map((ip) => ({ ip })),
        tempPrefix: "secure-etcd-demo-",
        keepRoot: options.keepDir,
        etcd,
    });
    const root = cluster.root;
    out(`  etcd      ${version} (${etcd.path}): the component renders for this release`);
    out(
        cluster.asRenderedUser
            ? "  user      root: each member runs as the rendered etcd user (setpriv), files owned as rendered"
            : `  user      uid ${process.getuid?.()} (not root): members run as you; files keep their rendered modes, not their owners`,
    );
    out(`  files     ${root}`);

    // Ctrl-C or SIGTERM, at any point: stop every member, wait for each, remove the directory.
    let stopSignal: NodeJS.Signals | undefined;
    const stopRequested = new Promise<"signal">((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
            if (stopSignal) {
                err(`(${signal} again: still stopping, each etcd is being killed and waited for)`);
                return;
            }
            stopSignal = signal;
            out("");
            out(`${signal}: stopping ...`);
            void cluster.stop().catch(() => undefined);
            resolve("signal");
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
    });
    const finish = async (code: number): Promise<number> => {
        try {
            await cluster.stop();
        } catch (e) {
            err(`stopping failed: ${(e as Error).message}`);
            return 1;
        }
        const pids = cluster.members.map((m) => m.process.pid).join(", ");
        out(`Stopped ${cluster.members.length} etcd processes${pids ? ` (pids ${pids})` : ""}.`);
        out(options.keepDir ? `Kept ${root}` : `Removed ${root}`);
        return code;
    };

    const warnings: string[] = [];
    const started = Date.now();
    out("  starting  rendering the component with local stand-ins for tls, random and AWS, then 3 members ...");
    const booted = await Promise.race([
        collectingWarnings(() => cluster.boot(), warnings).then(
            () => "ok" as const,
            (e: Error) => e,
        ),
        stopRequested,
    ]);
    if (booted === "signal" || stopSignal) {
        return finish(0);
    }
    if (booted instanceof Error) {
        err("");
        err(`cannot start the cluster: ${booted.message}`);
        return finish(1);
    }
    out(`  ready     after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const w of warnings) {
        out(`  warning   from the component: ${w}`);
    }

    out("");
    out("Endpoints");
    for (const m of cluster.members) {
        out(
            `  ${m.name}  client https://${m.ip}:2379  peer https://${m.ip}:2380  metrics ${m.metricsUrl}  pid ${m.process.pid}`,
        );
    }

    const client = writeClientFiles(cluster);
    out("");
    out(`Files (${options.keepDir ? "kept" : "removed"} on exit) in ${root}`);
    out("  etcd-N/etc/kubernetes/manifests/etcd.yaml  each member's static pod, as rendered");
    out("  etcd-N/etc/kubernetes/pki/etcd/            its CAs, certificates and keys");
    out("  etcd-N/var/lib/etcd/                       its data");
    out("  logs/etcd-N.log                            etcd's output");
    out(`  client/                                    ${CLIENT}'s certificate and key (0600), the etcd CA`);

    out("");
    // The etcdctl beside the etcd that runs (a fetched one is not on the reader's PATH), else PATH's.
    const besideEtcd = path.join(path.dirname(etcd.path), "etcdctl");
    const etcdctl = fs.existsSync(besideEtcd) ? besideEtcd : onPath("etcdctl");
    out(etcdctl ? "Try it:" : "Try it (etcdctl is not installed: sudo apt-get install -y etcd-client):");
    const endpoints = cluster.members.map((m) => `https://${m.ip}:2379`).join(",");
    const etcdctlCommand = etcdctl === "/usr/bin/etcdctl" || etcdctl === undefined ? "etcdctl" : etcdctl;
    out(
        `  ETCDCTL_API=3 ${etcdctlCommand} --endpoints=${endpoints} --cacert=${client.ca} --cert=${client.cert} --key=${client.key} endpoint health`,
    );

    out("");
    out("Conformance probes");
    const target = cluster.probeTarget({
        callerIp: SPARE_LOOPBACK,
        bindCaller: true,
        strangerIp: STRANGER_LOOPBACK,
        spareLoopback: SPARE_LOOPBACK,
    });
    const report = await Promise.race([runProbes(target), stopRequested]);
    if (report === "signal") {
        return finish(0);
    }
    for (const r of report) {
        out(`  ${r.pass ? "PASS" : "FAIL"}  ${r.title}`);
        out(`        ${r.detail}`);
    }
    const passed = report.filter((r) => r.pass).length;
    out(`  ${passed} of ${report.length} probes passed`);
    out("");

    if (options.check) {
        return finish(passed === report.length ? 0 : 1);
    }

    out("Press Ctrl-C to stop.");
    const crashed = Promise.race(cluster.members.map((m) => m.exited.then(() => m)));
    const ended = await Promise.race([stopRequested, crashed]);
    if (ended === "signal") {
        return finish(0);
    }
    err(`${ended.name} stopped on its own (${ended.exitReason}); the end of its log:`);
    err(cluster.logTail(ended));
    return finish(1);
}
