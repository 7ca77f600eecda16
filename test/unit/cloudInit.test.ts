// Cloud-init user-data: no secret inside, and its bootstrap script, run for real with python3
// against a stand-in `aws` CLI, writes exactly the member's nodeFiles with their modes and owners.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { NodeFile } from "../../src/manifests/nodeFiles";
import { renderMemberNodeFiles } from "../../src/manifests/nodeFiles";
import {
    BOOTSTRAP_SCRIPT_PATH,
    defaultBundlePaths,
    renderUserData,
    secretBundle,
    USER_DATA_LIMIT,
} from "../../src/nodes/cloudInit";
import { configDirFile, hostFirewallNodeFiles } from "../../src/network/hostFirewallFiles";
import { NodeAgentArtifact } from "../../src/backup/agentArtifact";
import { agentBundle, AGENT_BUNDLE_SHA256 } from "../harness/agentBundle";

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:secure-etcd/prod-a1b2c3/members/etcd-0-AbCdEf";
const isRoot = process.getuid?.() === 0;

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
        uid: 2379,
        gid: 2379,
    });
    const self = `${process.getuid!()}:${process.getgid!()}`;
    return isRoot ? files : files.map((f) => ({ ...f, owner: self }));
}

function userDataFor(files: NodeFile[], agent?: NodeAgentArtifact): string {
    return renderUserData({
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

interface CloudConfig {
    write_files: { path: string; permissions: string; owner: string; content: string }[];
    runcmd: string[][];
}

describe("cloud-init user-data", function () {
    this.timeout(30_000);
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-cloudinit-"));
        fs.chmodSync(dir, 0o755);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("is #cloud-config with one root-only bootstrap script run once, under EC2's 16 KiB limit", () => {
        const userData = userDataFor(memberFiles());
        assert.ok(userData.startsWith("#cloud-config\n"));
        const config = YAML.parse(userData) as CloudConfig;
        assert.deepEqual(
            config.write_files.map((f) => [f.path, f.permissions, f.owner]),
            [[BOOTSTRAP_SCRIPT_PATH, "0700", "root:root"]],
        );
        assert.deepEqual(config.runcmd, [[BOOTSTRAP_SCRIPT_PATH]]);
        assert.ok(Buffer.byteLength(userData) < USER_DATA_LIMIT, `${Buffer.byteLength(userData)} bytes`);
    });

    it("carries no key and no certificate: those are fetched; only the public manifest is inline", () => {
        const userData = userDataFor(memberFiles());
        for (const needle of ["KEY-MATERIAL", "BEGIN", "SERVER", "PEER CA"]) {
            assert.ok(!userData.includes(needle), `user-data contains ${needle}`);
        }
        assert.ok(userData.includes(SECRET_ARN));
        assert.ok(userData.includes("kind: Pod"));
    });

    it("bundles every certificate and key, and not the manifest", () => {
        const files = memberFiles();
        const bundle = secretBundle(files, defaultBundlePaths(files));
        assert.deepEqual(Object.keys(bundle.files).sort(), [
            "/etc/kubernetes/pki/etcd/ca.crt",
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
        awsBehaviour: "serve" | "absent",
        agent?: { artifact: NodeAgentArtifact; serves: string },
    ): { script: string; env: NodeJS.ProcessEnv } {
        const config = YAML.parse(userDataFor(files, agent?.artifact)) as CloudConfig;
        const script = path.join(dir, "bootstrap.py");
        fs.writeFileSync(script, config.write_files[0].content, { mode: 0o700 });
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const bundleFile = path.join(dir, "bundle.json");
        fs.writeFileSync(bundleFile, JSON.stringify(secretBundle(files, defaultBundlePaths(files))));
        const expected = `secretsmanager get-secret-value --secret-id ${SECRET_ARN} --region eu-west-1 --query SecretString --output text`;
        const download = agent
            ? `[ "$*" = "s3 cp ${agent.artifact.url} - --region eu-west-1 --only-show-errors" ] && { cat '${agent.serves}'; exit 0; }\n`
            : "";
        if (awsBehaviour === "serve") {
            fs.writeFileSync(
                path.join(bin, "aws"),
                `#!/bin/sh\necho "$*" >> '${path.join(dir, "calls")}'\n${download}` +
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
                    assert.equal(fs.readFileSync(onHost, "utf8"), f.content, f.path);
                }
            }
        }
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
        assert.ok(!fs.existsSync(path.join(dir, "root")));
    });
});
