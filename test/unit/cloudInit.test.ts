// Cloud-init user-data: no secret inside, and its bootstrap script, run for real with python3
// against a stand-in `aws` CLI, writes exactly the member's nodeFiles with their modes and owners.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NodeFile } from "../../src/manifests/nodeFiles";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { renderMemberNodeFiles } from "../../src/manifests/nodeFiles";
import {
    BOOTSTRAP_SCRIPT_PATH,
    defaultBundlePaths,
    gzipBase64,
    renderUserData,
    secretBundle,
    USER_DATA_LIMIT,
} from "../../src/nodes/cloudInit";
import { configDirFile, hostFirewallNodeFiles } from "../../src/network/hostFirewallFiles";
import { NodeAgentArtifact } from "../../src/backup/agentArtifact";
import { agentBundle, AGENT_BUNDLE_SHA256 } from "../harness/agentBundle";
import {
    BOOTSTRAP_RESTART_SECONDS,
    BOOTSTRAP_STATE,
    BOOTSTRAP_UNIT,
    BOOTSTRAP_UNIT_PATH,
    renderBootstrapUnit,
} from "../../src/nodes/bootstrapUnit";
import { onPath } from "../harness/onPath";
import { cloudConfigOf, decodedContent, writtenFile } from "../harness/userData";

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:secure-etcd/prod-a1b2c3/members/etcd-0-AbCdEf";
const isRoot = process.getuid?.() === 0;
const KNOWN_GZIP_SHA256 = "601e0756c3a0067b837ce804213bb2ccf9b6baa70ef92eeb2762243155b9c4bc";

const CLIENT_CRL = Buffer.from([0x30, 0x82, 0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]);
const PEER_CRL = Buffer.from([0x30, 0x81, 0xa0, 0xa1, 0x00, 0xed, 0xa0, 0x80]);

/** A member's files with recognisable contents; owners are the caller's own ids when not root. */
function memberFiles(): NodeFile[] {
    const files = renderMemberNodeFiles({
        manifestYaml: "apiVersion: v1\nkind: Pod\n",
        caCertPem: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
        peerCaCertPem: "-----BEGIN CERTIFICATE-----\nPEER CA\n-----END CERTIFICATE-----\n",
        serverCertPem: "-----BEGIN CERTIFICATE-----\nSERVER\n-----END CERTIFICATE-----\n",
        serverKeyPem: "-----BEGIN EC PRIVATE KEY-----\nSERVER-KEY-MATERIAL\n-----END EC PRIVATE KEY-----\n",
        peerCertPem: "-----BEGIN CERTIFICATE-----\nPEER\n-----END CERTIFICATE-----\n",
        peerKeyPem: "-----BEGIN EC PRIVATE KEY-----\nPEER-KEY-MATERIAL\n-----END EC PRIVATE KEY-----\n",
        // Bytes that are not UTF-8, as a DER CRL's are.
        clientCrlBase64: CLIENT_CRL.toString("base64"),
        peerCrlBase64: PEER_CRL.toString("base64"),
        uid: 2379,
        gid: 2379,
    });
    const self = `${process.getuid!()}:${process.getgid!()}`;
    return isRoot ? files : files.map((f) => ({ ...f, owner: self }));
}

function userDataFor(files: NodeFile[], agent?: NodeAgentArtifact): string {
    return renderUserData({
        cluster: "prod",
        member: "etcd-0",
        files,
        bundlePaths: defaultBundlePaths(files),
        secretArn: SECRET_ARN,
        region: "eu-west-1",
        user: { name: "etcd", uid: 2379, gid: 2379 },
        agent,
    });
}

const AGENT_URL = "s3://acme-artifacts/secure-etcd/secure-etcd.cjs";

/** The artifact npm run build:agent wrote (pretest builds it), as the component is told about it. */
function builtAgent(): NodeAgentArtifact {
    agentBundle();
    const sha256 = fs.readFileSync(AGENT_BUNDLE_SHA256, "utf8").split(" ")[0];
    return { url: AGENT_URL, sha256, path: "/usr/local/bin/secure-etcd" };
}

interface State {
    consecutiveFailures: number;
}

interface UnitRun {
    outcome: "failed" | "succeeded" | "skipped";
    stderr: string;
    /** The state file and metrics as the run left them. */
    state: State;
    metrics: string;
    /** How many of the member's files exist under the root after the run. */
    memberFilesWritten: number;
}

/**
 * Starts a oneshot unit's ExecStart the way systemd would, from the unit's own directives: again
 * after a failed run while Restart=on-failure (its RestartSec is not slept), and not at all while
 * its ConditionPathExists fails; after a success, the next start stands for the next boot. systemd
 * itself cannot run here (it is not this machine's PID 1); `systemd-analyze verify` checks the unit.
 */
function runAsSystemdWould(
    unit: string,
    env: NodeJS.ProcessEnv,
    root: string,
    files: NodeFile[],
    maxStarts: number,
): UnitRun[] {
    const directive = (key: string) =>
        unit
            .split("\n")
            .find((l) => l.startsWith(`${key}=`))
            ?.slice(key.length + 1);
    const condition = directive("ConditionPathExists")!;
    assert.ok(condition.startsWith("!"), "the unit runs while a marker is absent");
    const marker = path.join(root, condition.slice(1));
    const runs: UnitRun[] = [];
    for (let start = 0; start < maxStarts; start++) {
        if (fs.existsSync(marker)) {
            runs.push({ ...runs[runs.length - 1], outcome: "skipped", stderr: "" });
            break;
        }
        const result = spawnSync(directive("ExecStart")!, [], { env, encoding: "utf8", timeout: 60_000 });
        runs.push({
            outcome: result.status === 0 ? "succeeded" : "failed",
            stderr: result.stderr,
            state: JSON.parse(fs.readFileSync(path.join(root, BOOTSTRAP_STATE.statePath), "utf8")) as State,
            metrics: fs.readFileSync(path.join(root, BOOTSTRAP_STATE.metricsPath), "utf8"),
            memberFilesWritten: files.filter((f) => fs.existsSync(path.join(root, f.path))).length,
        });
        if (result.status !== 0 && directive("Restart") !== "on-failure") {
            break;
        }
    }
    return runs;
}

describe("cloud-init user-data", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-cloudinit-"));
        fs.chmodSync(dir, 0o755);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is #cloud-config with a root-only bootstrap script and the unit that runs it, started without waiting, under EC2's 16 KiB limit", () => {
        const userData = userDataFor(memberFiles());
        assert.ok(userData.startsWith("#cloud-config\n"));
        const config = cloudConfigOf(userData);
        assert.deepEqual(
            config.write_files.map((f) => [f.path, f.permissions, f.owner, f.encoding]),
            [
                [BOOTSTRAP_SCRIPT_PATH, "0700", "root:root", "gz+b64"],
                [BOOTSTRAP_UNIT_PATH, "0644", "root:root", undefined],
            ],
        );
        assert.equal(config.write_files[1].content, renderBootstrapUnit(BOOTSTRAP_SCRIPT_PATH));
        assert.match(decodedContent(config.write_files[0]), /^#!\/usr\/bin\/env python3\n/);
        assert.deepEqual(config.runcmd, [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", BOOTSTRAP_UNIT],
            ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
        ]);
        assert.ok(Buffer.byteLength(userData) < USER_DATA_LIMIT, `${Buffer.byteLength(userData)} bytes`);
    });

    it("carries no key and no certificate: those are fetched; only the public manifest is inline", () => {
        const userData = userDataFor(memberFiles());
        const written = cloudConfigOf(userData).write_files.map(decodedContent).join("\n");
        for (const needle of ["KEY-MATERIAL", "BEGIN", "SERVER", "PEER CA"]) {
            assert.ok(!written.includes(needle), `user-data contains ${needle}`);
        }
        assert.ok(written.includes(SECRET_ARN));
        assert.ok(written.includes("kind: Pod"));
    });

    it("is the same bytes wherever it is rendered: a pinned compressor, no time and a fixed OS in the header", () => {
        const script = cloudConfigOf(userDataFor(memberFiles())).write_files[0];
        const header = Buffer.from(script.content, "base64").subarray(0, 10);
        assert.deepEqual([...header.subarray(4, 8)], [0, 0, 0, 0], "no modification time");
        assert.equal(header[9], 3, "OS: Unix");
        assert.equal(userDataFor(memberFiles()), userDataFor(memberFiles()));
        // A fixed input's bytes, recorded once: a compressor that changed its output would show a
        // diff on every member's user data.
        assert.equal(
            createHash("sha256")
                .update(gzipBase64("#!/usr/bin/env python3\nprint('secure-etcd')\n".repeat(40)))
                .digest("hex"),
            KNOWN_GZIP_SHA256,
        );
    });

    it("bundles every certificate and key, and not the manifest", () => {
        const files = memberFiles();
        const bundle = secretBundle(files, defaultBundlePaths(files));
        assert.deepEqual(Object.keys(bundle.files).sort(), [
            "/etc/kubernetes/pki/etcd/ca.crl",
            "/etc/kubernetes/pki/etcd/ca.crt",
            "/etc/kubernetes/pki/etcd/peer-ca.crl",
            "/etc/kubernetes/pki/etcd/peer-ca.crt",
            "/etc/kubernetes/pki/etcd/peer.crt",
            "/etc/kubernetes/pki/etcd/peer.key",
            "/etc/kubernetes/pki/etcd/server.crt",
            "/etc/kubernetes/pki/etcd/server.key",
        ]);
    });

    /**
     * Writes the script and a stand-in `aws` that answers only the expected calls (the bundle, and
     * the agent's artifact with the bytes given), recording each in `calls`.
     */
    function prepare(
        files: NodeFile[],
        awsBehaviour: "serve" | "absent" | { failFirst: number },
        agent?: { artifact: NodeAgentArtifact; serves: string },
    ): { script: string; env: NodeJS.ProcessEnv } {
        const script = path.join(dir, "bootstrap.py");
        fs.writeFileSync(script, writtenFile(userDataFor(files, agent?.artifact), BOOTSTRAP_SCRIPT_PATH), {
            mode: 0o700,
        });
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const bundleFile = path.join(dir, "bundle.json");
        fs.writeFileSync(bundleFile, JSON.stringify(secretBundle(files, defaultBundlePaths(files))));
        const expected = `secretsmanager get-secret-value --secret-id ${SECRET_ARN} --region eu-west-1 --query SecretString --output text`;
        const download = agent
            ? `[ "$*" = "s3 cp ${agent.artifact.url} - --region eu-west-1 --only-show-errors" ] && { cat '${agent.serves}'; exit 0; }\n`
            : "";
        // The first calls fail as an unreachable endpoint does (counted across runs).
        const failing =
            typeof awsBehaviour === "object"
                ? `[ "$(wc -l < '${path.join(dir, "calls")}')" -le ${awsBehaviour.failFirst} ] && ` +
                  `{ echo "Could not connect to the endpoint URL" >&2; exit 255; }\n`
                : "";
        if (awsBehaviour !== "absent") {
            fs.writeFileSync(
                path.join(bin, "aws"),
                `#!/bin/sh\necho "$*" >> '${path.join(dir, "calls")}'\n${failing}${download}` +
                    `[ "$*" = "${expected}" ] || { echo "unexpected call: $*" >&2; exit 2; }\ncat '${bundleFile}'\n`,
                { mode: 0o755 },
            );
        }
        // Only the stand-in's directory and the system's: a developer's real aws CLI stays out.
        // The interpreter itself, not a version manager's shim (which would put its own PATH back).
        const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
            encoding: "utf8",
        }).trim();
        fs.symlinkSync(python, path.join(bin, "python3"));
        return {
            script,
            env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, SECURE_ETCD_ROOT: path.join(dir, "root") },
        };
    }

    it("its script fetches the bundle and writes every file with its content, mode and owner", () => {
        const files = memberFiles();
        const { script, env } = prepare(files, "serve");
        for (let run = 0; run < 2; run++) {
            // Twice: a re-run (cloud-init per-instance scripts can be re-run by hand) changes nothing.
            const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
            assert.equal(result.status, 0, result.stderr);
            for (const f of files) {
                const onHost = path.join(dir, "root", f.path);
                const st = fs.statSync(onHost);
                assert.equal((st.mode & 0o7777).toString(8).padStart(4, "0"), f.mode, f.path);
                assert.equal(`${st.uid}:${st.gid}`, f.owner, f.path);
                assert.equal(st.isDirectory(), f.directory, f.path);
                if (!f.directory) {
                    const expected = Buffer.from(f.content, f.encoding === "base64" ? "base64" : "utf8");
                    assert.deepEqual(fs.readFileSync(onHost), expected, f.path);
                }
            }
        }
        // The CRLs are binary: decoded from base64, byte for byte.
        assert.deepEqual(fs.readFileSync(path.join(dir, "root", NODE_PATHS.clientCrl)), CLIENT_CRL);
        assert.deepEqual(fs.readFileSync(path.join(dir, "root", NODE_PATHS.peerCrl)), PEER_CRL);
        const leftovers = fs
            .readdirSync(path.join(dir, "root/etc/kubernetes/pki/etcd"))
            .filter((n) => n.startsWith("."));
        assert.deepEqual(leftovers, [], "no temporary files left behind");
    });

    it("its script puts files into effect right after writing them (recorded, never run, under a test root)", () => {
        const base = memberFiles();
        const manifestAt = base.findIndex((f) => f.path === "/etc/kubernetes/manifests");
        const firewall = hostFirewallNodeFiles({
            memberIp: "10.0.1.10",
            memberIps: ["10.0.1.10", "10.0.1.11", "10.0.1.12"],
            clientCidrs: ["10.0.2.0/24"],
            metricsCidrs: [],
        });
        const files = [...base.slice(0, manifestAt), configDirFile(), ...firewall, ...base.slice(manifestAt)];
        const { script, env } = prepare(files, "serve");
        const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
        assert.equal(result.status, 0, result.stderr);
        const root = path.join(dir, "root");
        const applied = fs
            .readFileSync(path.join(root, ".secure-etcd-applied"), "utf8")
            .trim()
            .split("\n")
            .map((line) => JSON.parse(line) as string[]);
        assert.deepEqual(applied, [
            ["nft", "-f", path.join(root, "etc/secure-etcd/firewall.nft")],
            ["systemctl", "enable", "secure-etcd-firewall.service"],
        ]);
        assert.equal(fs.readFileSync(path.join(root, "etc/secure-etcd/firewall.nft"), "utf8"), firewall[0].content);
    });

    it("its script writes inline content exactly, even with `$&`, quotes, backslashes and non-ASCII", () => {
        // `$&` and `$'` once went through String.replace, which expanded them.
        const awkward = 'env: "$& $\' $` $$"\npath: C:\\etc\\ """\nname: héllo ✓\n';
        const files = memberFiles().map((f) =>
            f.path.startsWith("/etc/kubernetes/manifests/") && !f.directory ? { ...f, content: awkward } : f,
        );
        const { script, env } = prepare(files, "serve");
        const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
        assert.equal(result.status, 0, result.stderr);
        const manifest = files.find((f) => f.content === awkward)!;
        assert.equal(fs.readFileSync(path.join(dir, "root", manifest.path), "utf8"), awkward);
    });

    it("its script installs the built agent artifact when its SHA-256 matches, before the member's files; it runs", () => {
        const artifact = builtAgent();
        const { script, env } = prepare(memberFiles(), "serve", { artifact, serves: agentBundle() });
        const userData = userDataFor(memberFiles(), artifact);
        assert.ok(Buffer.byteLength(userData) < USER_DATA_LIMIT, `${Buffer.byteLength(userData)} bytes`);
        const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
        assert.equal(result.status, 0, result.stderr);
        assert.match(
            result.stdout,
            new RegExp(`installed the node agent at /usr/local/bin/secure-etcd \\(sha256 ${artifact.sha256}\\)`),
        );
        const installed = path.join(dir, "root/usr/local/bin/secure-etcd");
        assert.equal((fs.statSync(installed).mode & 0o7777).toString(8), "755");
        assert.ok(fs.readFileSync(installed).equals(fs.readFileSync(agentBundle())));
        assert.deepEqual(fs.readdirSync(path.dirname(installed)), ["secure-etcd"], "no temporary file left");
        const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
        assert.deepEqual(
            calls.map((c) => c.split(" ").slice(0, 2).join(" ")),
            ["s3 cp", "secretsmanager get-secret-value"],
        );
        // `<backupAgentPath> backup ...` works: the installed file runs through its #! line.
        const version = spawnSync(installed, ["--version"], {
            encoding: "utf8",
            env: { PATH: path.dirname(process.execPath) },
        });
        assert.equal(version.status, 0, version.stderr);
        assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    });

    it("its script refuses an artifact whose SHA-256 differs: non-zero, one clear line, nothing installed, no secret fetched", () => {
        const tampered = path.join(dir, "tampered.cjs");
        fs.writeFileSync(
            tampered,
            Buffer.concat([fs.readFileSync(agentBundle()), Buffer.from("\n// one more line\n")]),
        );
        const { script, env } = prepare(memberFiles(), "serve", { artifact: builtAgent(), serves: tampered });
        const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /^secure-etcd: the node agent at s3:\/\/acme-artifacts\/secure-etcd\/secure-etcd.cjs has SHA-256 [0-9a-f]{64}, not the expected [0-9a-f]{64}; refusing to install it \(nothing installed at \/usr\/local\/bin\/secure-etcd\)\n$/,
        );
        assert.deepEqual(fs.readdirSync(path.join(dir, "root/usr/local/bin")), []);
        assert.ok(!fs.existsSync(path.join(dir, "root/etc")), "no member file written");
        assert.equal(
            fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n").length,
            1,
            "the bundle was never fetched",
        );
    });

    it("its script stops with a clear message when the AWS CLI is missing, writing nothing", () => {
        const { script, env } = prepare(memberFiles(), "absent");
        const result = spawnSync("python3", [script], { env, encoding: "utf8", timeout: 20_000 });
        assert.notEqual(result.status, 0);
        assert.match(result.stderr, /the AWS CLI \(aws\) is not on PATH; install AWS CLI v2/);
        assert.ok(!fs.existsSync(path.join(dir, "root/etc")), "no member file written");
        assert.ok(!fs.existsSync(path.join(dir, "root", BOOTSTRAP_STATE.donePath)));
        assert.equal(
            (JSON.parse(fs.readFileSync(path.join(dir, "root", BOOTSTRAP_STATE.statePath), "utf8")) as State)
                .consecutiveFailures,
            1,
        );
    });

    it("its unit passes systemd-analyze verify: restarted after every failed run, never rate-limited, not after a success", function () {
        const unit = renderBootstrapUnit("/usr/local/sbin/secure-etcd-bootstrap");
        for (const directive of [
            "Type=oneshot",
            "Restart=on-failure",
            `RestartSec=${BOOTSTRAP_RESTART_SECONDS}`,
            "StartLimitIntervalSec=0",
            `ConditionPathExists=!${BOOTSTRAP_STATE.donePath}`,
            "After=network-online.target",
            "WantedBy=multi-user.target",
        ]) {
            assert.ok(unit.split("\n").includes(directive), directive);
        }
        if (!onPath("systemd-analyze")) {
            this.skip();
        }
        // verify wants an ExecStart that exists and is executable.
        const script = path.join(dir, "secure-etcd-bootstrap");
        fs.writeFileSync(script, "#!/bin/sh\n", { mode: 0o700 });
        fs.writeFileSync(path.join(dir, BOOTSTRAP_UNIT), renderBootstrapUnit(script));
        const run = spawnSync("systemd-analyze", ["verify", "--man=no", `./${BOOTSTRAP_UNIT}`], {
            cwd: dir,
            encoding: "utf8",
        });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.stderr.trim(), "", "no unknown or misspelt directive");
    });

    it("its unit keeps running the script until a fetch succeeds: failed runs leave no member file, the state counts them, then it stops", function () {
        const files = memberFiles();
        // Fifteen failed calls: the whole first run (twelve attempts) and three of the second.
        const { script, env } = prepare(files, { failFirst: 15 });
        const waits = path.join(dir, "waits");
        const root = path.join(dir, "root");
        const unit = renderBootstrapUnit(script);
        const runs = runAsSystemdWould(unit, { ...env, SECURE_ETCD_WAITS_LOG: waits }, root, files, 5);

        assert.deepEqual(
            runs.map((r) => r.outcome),
            ["failed", "succeeded", "skipped"],
        );
        const [first, second] = runs;
        // The first run: every attempt in the journal, fail-closed, counted.
        const attempts = first.stderr.split("\n").filter((l) => / to read .* failed: Could not connect/.test(l));
        assert.equal(attempts.length, 12, first.stderr);
        assert.match(
            first.stderr,
            /secure-etcd: cannot read arn:aws:secretsmanager:\S+: Could not connect to the endpoint URL\n$/,
        );
        assert.equal(first.state.consecutiveFailures, 1);
        assert.equal(first.memberFilesWritten, 0, "nothing of the member's before a fetch succeeds");
        assert.match(first.metrics, /^secure_etcd_node_bootstrap_success\{etcd_cluster="prod",member="etcd-0"\} 0$/m);
        assert.match(
            first.metrics,
            /^secure_etcd_node_bootstrap_consecutive_failures\{etcd_cluster="prod",member="etcd-0"\} 1$/m,
        );
        // The second: three more failures, then every file with its mode and owner.
        assert.equal(second.stderr.split("\n").filter((l) => / failed: Could not connect/.test(l)).length, 3);
        assert.equal(second.state.consecutiveFailures, 0);
        assert.equal(second.memberFilesWritten, files.length);
        for (const f of files) {
            const st = fs.statSync(path.join(root, f.path));
            assert.equal((st.mode & 0o7777).toString(8).padStart(4, "0"), f.mode, f.path);
        }
        assert.match(second.metrics, /^secure_etcd_node_bootstrap_success\{etcd_cluster="prod",member="etcd-0"\} 1$/m);
        // Waited with backoff inside each run (recorded, not slept); systemd's RestartSec between runs.
        assert.deepEqual(
            fs.readFileSync(waits, "utf8").trim().split("\n").map(Number),
            [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30, 1, 2, 4],
        );
        assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n").length, 16);
        if (onPath("promtool")) {
            // What node_exporter's textfile collector would export: valid exposition format.
            const check = spawnSync("promtool", ["check", "metrics"], { input: second.metrics, encoding: "utf8" });
            assert.equal(check.status, 0, check.stdout + check.stderr);
        }
    });
});
