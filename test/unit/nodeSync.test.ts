// Node sync without etcd: the agent's file convergence (only what differs, mode and owner before
// content, atomic, nothing half-written), its bundle and configuration checks, what it reports,
// and what the component renders for it (units, configuration, the version-2 bundle, the etcd
// role its identity gets, the alerts). The restart lock and renewals on real etcd: test/e2e/nodeSync.test.ts.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { differences, writeEntry } from "../../agent/sync/files";
import { parseMemberBundle } from "../../agent/sync/bundle";
import { membershipState } from "../../agent/sync/membership";
import { nextState, renderSyncMetrics } from "../../agent/sync/report";
import { readNodeSyncConfig } from "../../agent/cli/nodeSyncCommand";
import { NodeFile } from "../../src/manifests/nodeFiles";
import {
    NODE_SYNC_CONFIG_PATH,
    NODE_SYNC_SERVICE_PATH,
    NODE_SYNC_TIMER_PATH,
    NODE_SYNC_ROLE,
    nodeSyncNodeFiles,
    renderNodeSyncService,
    renderNodeSyncTimer,
} from "../../src/nodes/nodeSync";
import { resolveRbac } from "../../src/rbac/roles";
import { SecureEtcdCluster } from "../../src";
import { runProgram, valueOf } from "../../testing/program";
import { onPath } from "../harness/onPath";

const me = `${process.getuid!()}:${process.getgid!()}`;

function file(p: string, content: string, mode = "0600"): NodeFile {
    return { path: p, mode, owner: me, content, directory: false };
}

describe("node sync: converging files", function () {
    let root: string;
    beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-sync-"))));
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("writes a missing file with its mode, then finds nothing to change", function () {
        const entry = file("/etc/kubernetes/pki/etcd/server.key", "KEY\n");
        assert.deepEqual(differences(root, entry), ["missing"]);
        writeEntry(root, entry);
        const onDisk = path.join(root, entry.path);
        assert.equal(fs.readFileSync(onDisk, "utf8"), "KEY\n");
        assert.equal((fs.statSync(onDisk).mode & 0o7777).toString(8), "600");
        assert.deepEqual(differences(root, entry), []);
        assert.deepEqual(fs.readdirSync(path.dirname(onDisk)), ["server.key"], "no temporary file left");
    });

    it("names each difference: content, mode", function () {
        const entry = file("/etc/a.crt", "NEW\n", "0644");
        writeEntry(root, file("/etc/a.crt", "OLD\n", "0600"));
        assert.deepEqual(differences(root, entry), ["mode 0600", "content"]);
        writeEntry(root, entry);
        assert.deepEqual(differences(root, entry), []);
    });

    it("replaces a file atomically: a reader holding the old file keeps reading it whole", function () {
        writeEntry(root, file("/etc/a.crt", "OLD\n"));
        const held = fs.openSync(path.join(root, "etc/a.crt"), "r");
        try {
            writeEntry(root, file("/etc/a.crt", "NEW\n"));
            assert.equal(fs.readFileSync(held, "utf8"), "OLD\n", "the old inode is untouched (rename, not rewrite)");
        } finally {
            fs.closeSync(held);
        }
        assert.equal(fs.readFileSync(path.join(root, "etc/a.crt"), "utf8"), "NEW\n");
    });

    it("a failed write leaves the old file and no temporary file", function () {
        writeEntry(root, file("/etc/d/a.key", "OLD\n"));
        // A directory where the file should go makes the rename fail.
        fs.mkdirSync(path.join(root, "etc/d/b.key"));
        fs.writeFileSync(path.join(root, "etc/d/b.key/x"), "");
        assert.throws(() => writeEntry(root, file("/etc/d/b.key", "NEW\n")));
        assert.deepEqual(fs.readdirSync(path.join(root, "etc/d")).sort(), ["a.key", "b.key"]);
        assert.equal(fs.readFileSync(path.join(root, "etc/d/a.key"), "utf8"), "OLD\n");
    });

    it("writes binary content given base64 as its bytes (a DER CRL)", function () {
        const der = Buffer.from([0x30, 0x82, 0x01, 0x00, 0xff, 0x00, 0x0a]);
        const entry: NodeFile = {
            ...file("/etc/kubernetes/pki/etcd/ca.crl", der.toString("base64"), "0644"),
            encoding: "base64",
        };
        writeEntry(root, entry);
        assert.ok(fs.readFileSync(path.join(root, entry.path)).equals(der));
        assert.deepEqual(differences(root, entry), []);
    });

    it("corrects a directory's mode", function () {
        const dir: NodeFile = { path: "/var/lib/etcd", mode: "0700", owner: me, content: "", directory: true };
        fs.mkdirSync(path.join(root, "var/lib/etcd"), { recursive: true, mode: 0o755 });
        fs.chmodSync(path.join(root, "var/lib/etcd"), 0o755);
        assert.deepEqual(differences(root, dir), ["mode 0755"]);
        writeEntry(root, dir);
        assert.deepEqual(differences(root, dir), []);
    });
});

describe("node sync: the bundle and the configuration it accepts", function () {
    it("accepts a version-2 bundle and refuses version 1 with what to do", function () {
        const bundle = { version: 2, files: [file("/etc/a", "x")] };
        assert.deepEqual(parseMemberBundle(JSON.stringify(bundle)).files, bundle.files);
        assert.throws(
            () => parseMemberBundle(JSON.stringify({ version: 1, files: {} })),
            /version 1; node sync applies version 2.*run pulumi up/,
        );
    });

    it("refuses entries that could write outside their place or with a malformed mode", function () {
        for (const [bad, why] of [
            [{ ...file("/etc/../root/.ssh/authorized_keys", "x") }, /absolute path without \.\./],
            [{ ...file("relative", "x") }, /absolute path/],
            [{ ...file("/etc/a", "x"), mode: "777" }, /mode must be 0NNN/],
            [{ ...file("/etc/a", "x"), apply: "rm -rf /" }, /apply is not a list/],
            [{ ...file("/etc/a", "x"), encoding: "hex" }, /encoding "hex" is not "base64"/],
        ] as const) {
            assert.throws(() => parseMemberBundle(JSON.stringify({ version: 2, files: [bad] })), why);
        }
    });

    it("keeps the membership credential a bundle carries, and only a well-formed one", () => {
        const files = [file("/etc/a", "x")];
        const credential = { certPem: "CERT", keyPem: "KEY" };
        assert.deepEqual(
            parseMemberBundle(JSON.stringify({ version: 2, files, membershipCredential: credential }))
                .membershipCredential,
            credential,
        );
        assert.equal(parseMemberBundle(JSON.stringify({ version: 2, files })).membershipCredential, undefined);
        assert.equal(
            parseMemberBundle(JSON.stringify({ version: 2, files, membershipCredential: { certPem: 1 } }))
                .membershipCredential,
            undefined,
        );
    });

    it("membership: leavers by peer URL, and this member as etcd lists it", () => {
        const listed = (id: string, name: string, ip: string, isLearner = false) => ({
            ID: id,
            name,
            peerURLs: [`https://${ip}:2380`],
            clientURLs: name ? [`https://${ip}:2379`] : [],
            isLearner,
        });
        const desired = ["10.0.1.10", "10.0.1.11", "10.0.1.99"].map((ip, i) => ({
            name: `etcd-${i}`,
            peerUrl: `https://${ip}:2380`,
            clientUrl: `https://${ip}:2379`,
        }));
        const members = [
            listed("1", "etcd-0", "10.0.1.10"),
            listed("2", "etcd-1", "10.0.1.11"),
            listed("3", "etcd-2", "10.0.1.12"),
        ];
        const state = membershipState(members, desired, "https://10.0.1.99:2380");
        assert.deepEqual(
            state.leavers.map((m) => m.ID),
            ["3"],
            "the old address of a replaced member leaves",
        );
        assert.equal(state.self, undefined, "the new member is not in the cluster yet");
        const joined = membershipState(
            [...members.slice(0, 2), listed("4", "", "10.0.1.99", true)],
            desired,
            "https://10.0.1.99:2380",
        );
        assert.deepEqual(joined.leavers, []);
        assert.equal(joined.self?.isLearner, true);
    });

    it("reads the rendered configuration and names what is missing from another", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-sync-config-"));
        try {
            const [config] = nodeSyncNodeFiles({
                cluster: "prod",
                member: "etcd-0",
                memberIp: "10.0.1.10",
                memberIps: ["10.0.1.10", "10.0.1.11", "10.0.1.12"],
                members: ["10.0.1.10", "10.0.1.11", "10.0.1.12"].map((ip, i) => ({ name: `etcd-${i}`, ip })),
                joining: false,
                agentPath: "/usr/local/bin/secure-etcd",
                intervalMinutes: 5,
            });
            fs.writeFileSync(path.join(dir, "good.json"), config.content);
            const parsed = readNodeSyncConfig(path.join(dir, "good.json"));
            assert.deepEqual(parsed.endpoints, [
                "https://10.0.1.10:2379",
                "https://10.0.1.11:2379",
                "https://10.0.1.12:2379",
            ]);
            assert.equal(parsed.memberEndpoint, "https://10.0.1.10:2379");
            fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ cluster: "prod" }));
            assert.throws(() => readNodeSyncConfig(path.join(dir, "bad.json")), /member, bundleSource.*missing/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("node sync: what a run reports", function () {
    it("counts failures until a success and keeps the last success", function () {
        const first = nextState({}, 100, { succeeded: true, changed: ["/a"], restarted: false });
        const failed = nextState(first, 200, { succeeded: false, changed: [], restarted: false, error: "x" });
        const again = nextState(failed, 300, { succeeded: false, changed: [], restarted: false, error: "y" });
        assert.deepEqual(
            [again.consecutiveFailures, again.lastSuccess, again.lastChanged, again.lastError],
            [2, 100, ["/a"], "y"],
        );
        const ok = nextState(again, 400, { succeeded: true, changed: [], restarted: true });
        assert.deepEqual([ok.consecutiveFailures, ok.lastSuccess, ok.lastRestart], [0, 400, 400]);
    });

    it("renders the textfile metrics promtool accepts, with each certificate's expiry", function () {
        const text = renderSyncMetrics(
            { cluster: 'pr"od', member: "etcd-0" },
            { lastRun: 5, lastRunSucceeded: true, consecutiveFailures: 0, lastSuccess: 5, lastChanged: [] },
            [{ path: "/etc/kubernetes/pki/etcd/server.crt", subject: "etcd-0", notAfter: 1800000000 }],
        );
        assert.match(
            text,
            /secure_etcd_node_certificate_expiry_timestamp_seconds\{etcd_cluster="pr\\"od",member="etcd-0",path="\/etc\/kubernetes\/pki\/etcd\/server.crt",subject="etcd-0"\} 1800000000/,
        );
        if (onPath("promtool")) {
            execFileSync("promtool", ["check", "metrics"], { input: text });
        }
    });
});

describe("node sync: what the component renders for it", function () {
    it("every member gets the configuration, the service and the timer; the bundle is version 2 with every file", async function () {
        const { result, mocks } = await runProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: [
                        { name: "etcd-0", ip: "10.0.1.10" },
                        { name: "etcd-1", ip: "10.0.1.11" },
                        { name: "etcd-2", ip: "10.0.1.12" },
                    ],
                    vpcId: "vpc-0123456789abcdef0",
                }),
        );
        const nodeFiles = await valueOf(result.nodeFiles);
        for (const [member, files] of Object.entries(nodeFiles)) {
            const paths = files.map((f) => f.path);
            for (const p of [NODE_SYNC_CONFIG_PATH, NODE_SYNC_SERVICE_PATH, NODE_SYNC_TIMER_PATH]) {
                assert.ok(paths.includes(p), `${member} lacks ${p}`);
            }
            assert.equal(paths[paths.length - 1], "/etc/kubernetes/manifests/etcd.yaml", "the manifest last");
            const version = mocks
                .ofType("aws:secretsmanager/secretVersion:SecretVersion")
                .find((r) => r.name.endsWith(`-member-${member}-version`))!;
            const bundle = JSON.parse(String(version.inputs.secretString)) as { version: number; files: NodeFile[] };
            assert.equal(bundle.version, 2);
            assert.deepEqual(bundle.files, files, "the bundle is exactly the member's node files");
            assert.ok(version.secretInputs.includes("secretString"), "stored as a secret");
        }
        const service = nodeFiles["etcd-0"].find((f) => f.path === NODE_SYNC_SERVICE_PATH)!.content;
        assert.match(
            service,
            /^ExecStart=\/usr\/local\/bin\/secure-etcd node-sync --config \/etc\/secure-etcd\/node-sync.json$/m,
        );
        if (onPath("systemd-analyze")) {
            execFileSync("systemd-analyze", ["calendar", "*-*-* *:00/5:00 UTC"], { stdio: "ignore" });
        }
        assert.match(renderNodeSyncTimer(5), /^OnCalendar=\*-\*-\* \*:00\/5:00 UTC$/m);
        assert.match(renderNodeSyncTimer(60), /^OnCalendar=\*-\*-\* \*:00:00 UTC$/m);
        const rules = await valueOf(result.prometheusRulesYaml);
        for (const alert of ["EtcdNodeSyncFailing", "EtcdNodeSyncStalled", "EtcdNodeCertificateExpiring"]) {
            assert.match(rules, new RegExp(`alert: ${alert}`));
        }
    });

    it("its service and timer pass systemd-analyze verify: sandboxed, capabilities for files and the firewall only", function () {
        const service = renderNodeSyncService({ agentPath: "/usr/bin/true", intervalMinutes: 5 });
        for (const directive of [
            "Type=oneshot",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_NET_ADMIN",
            "InaccessiblePaths=-/var/lib/etcd",
            "ConditionPathExists=/var/lib/secure-etcd/bootstrap.done",
            "SystemCallFilter=@system-service",
        ]) {
            assert.ok(service.split("\n").includes(directive), directive);
        }
        if (!onPath("systemd-analyze")) {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-sync-units-"));
        try {
            fs.writeFileSync(path.join(dir, "secure-etcd-node-sync.service"), service);
            fs.writeFileSync(path.join(dir, "secure-etcd-node-sync.timer"), renderNodeSyncTimer(5));
            const run = spawnSync(
                "systemd-analyze",
                ["verify", "--man=no", "./secure-etcd-node-sync.service", "./secure-etcd-node-sync.timer"],
                { cwd: dir, encoding: "utf8" },
            );
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stderr.trim(), "", "no unknown or misspelt directive");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("nodeSync: false renders none of it, and no node-sync alerts", async function () {
        const { result } = await runProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: [{ name: "etcd-0", ip: "10.0.1.10" }],
                    vpcId: "vpc-0123456789abcdef0",
                    nodeSync: false,
                }),
        );
        const paths = (await valueOf(result.nodeFiles))["etcd-0"].map((f) => f.path);
        assert.ok(!paths.includes(NODE_SYNC_CONFIG_PATH));
        assert.doesNotMatch(await valueOf(result.prometheusRulesYaml), /EtcdNodeSync/);
    });

    it("each member's certificate is an etcd user that may take the restart lock and nothing else", function () {
        const rbac = resolveRbac({ memberNames: ["etcd-0", "etcd-1"] });
        assert.deepEqual(
            rbac.users.filter((u) => u.name.startsWith("etcd-")).map((u) => [u.name, u.roles]),
            [
                ["etcd-backup", ["root"]],
                ["etcd-0", [NODE_SYNC_ROLE]],
                ["etcd-1", [NODE_SYNC_ROLE]],
            ],
        );
        const role = rbac.roles.find((r) => r.name === NODE_SYNC_ROLE)!;
        assert.deepEqual(
            role.permissions.map((p) => [p.key, p.rangeEnd, p.permission]),
            [["/secure-etcd/node-sync/", "/secure-etcd/node-sync0", "readwrite"]],
        );
    });
});
