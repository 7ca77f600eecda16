// A whole-cluster restore's pure parts: the restore id, the request's checks, what a member's
// rendered manifest tells the restore, the quarantine manifest, and etcd's restore arguments.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { memberFlags } from "../../agent/restore/memberManifest";
import { quarantineRuleset } from "../../agent/restore/quarantine";
import { restoreArgs } from "../../agent/backup/snapshotTool";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { SecureEtcdClusterArgs } from "../../src";
import { BACKUP_CONFIG_PATH } from "../../src/backup/agentConfig";
import { validateArgs } from "../../src/component/validate";
import {
    renderRestoreConfig,
    RESTORE_BUMP_REVISION,
    RESTORE_CONFIG_PATH,
    restoreConfigProblems,
    restoreIdOf,
    RestoreMemberConfig,
} from "../../src/restore/restoreConfig";
import { renderRestoreService, RESTORE_SERVICE_PATH } from "../../src/restore/restoreNodeFiles";
import { renderCluster } from "../../testing/render";
import { onPath } from "../harness/onPath";

describe("whole-cluster restore: pure parts", function () {
    this.timeout(120_000);
    let manifest: string;

    before(async () => {
        const rendered = await renderCluster("prod", {
            members: [
                { name: "etcd-0", ip: "10.0.1.10" },
                { name: "etcd-1", ip: "10.0.1.11" },
                { name: "etcd-2", ip: "10.0.1.12" },
            ],
            vpcId: "vpc-0000000000000000a",
        });
        manifest = rendered.nodeFiles["etcd-1"].find((f) => f.path === NODE_PATHS.manifest)!.content;
    });

    it("the restore id is the cluster and the argument: the same on every pulumi up, another for another backup or cluster", () => {
        assert.equal(restoreIdOf("prod", "latest"), restoreIdOf("prod", "latest"));
        assert.match(restoreIdOf("prod", "latest"), /^[0-9a-f]{16}$/);
        assert.notEqual(restoreIdOf("prod", "latest"), restoreIdOf("prod", "etcd-backups/prod/daily/x.db.enc"));
        assert.notEqual(restoreIdOf("prod", "latest"), restoreIdOf("staging", "latest"));
        const config = renderRestoreConfig({ cluster: "prod", backup: "latest", overRunningCluster: false });
        assert.deepEqual(restoreConfigProblems(config), []);
        assert.equal(config.restoreId, restoreIdOf("prod", "latest"));
    });

    it("a request that is not one secure-etcd rendered is refused field by field", () => {
        assert.deepEqual(restoreConfigProblems([]), ["the configuration must be a JSON object"]);
        assert.deepEqual(
            restoreConfigProblems({ restoreId: "x", backup: "", backupConfig: "a", manifest: "b", stateDir: "c" }),
            [
                "backup: must be a non-empty string",
                "restoreId: must be 16 hex digits",
                "overRunningCluster: must be true or false",
            ],
        );
    });

    it("the member's name, data dir, initial cluster, token and identity come from its rendered manifest", () => {
        const flags = memberFlags(manifest, NODE_PATHS.manifest);
        assert.equal(flags.name, "etcd-1");
        assert.equal(flags.dataDir, NODE_PATHS.dataDir);
        assert.deepEqual(
            flags.initialCluster.map((m) => `${m.name}=${m.peerUrl}`),
            ["etcd-0=https://10.0.1.10:2380", "etcd-1=https://10.0.1.11:2380", "etcd-2=https://10.0.1.12:2380"],
        );
        assert.equal(flags.peerUrl, "https://10.0.1.11:2380");
        assert.ok(flags.initialClusterToken.length > 0);
        assert.deepEqual(flags.listenClientUrls, ["https://127.0.0.1:2379", "https://10.0.1.11:2379"]);
        assert.ok(flags.uid > 0 && flags.gid > 0);
        assert.throws(() => memberFlags("kind: Pod\n", "m.yaml"), /m\.yaml is not the etcd static pod/);
    });

    it("the quarantine: a table of its own resets connections to the client port from anywhere but loopback", () => {
        const ruleset = quarantineRuleset();
        assert.match(ruleset, /^add table inet secure_etcd_restore\nflush table inet secure_etcd_restore\n/);
        assert.match(ruleset, /type filter hook input priority -10; policy accept;/);
        const rules = ruleset.split("\n").map((l) => l.trim());
        assert.ok(rules.indexOf('iifname "lo" accept') < rules.indexOf("tcp dport 2379 reject with tcp reset"));
        assert.ok(!/2380|2381/.test(ruleset), "peers and metrics are left alone");
    });

    it("etcd's restore arguments: the whole initial cluster and token, and the revision bumped where the tool can", () => {
        const target = {
            dataDir: "/var/lib/etcd.restoring",
            name: "etcd-1",
            peerUrl: "https://10.0.1.11:2380",
            initialCluster: [
                { name: "etcd-0", peerUrl: "https://10.0.1.10:2380" },
                { name: "etcd-1", peerUrl: "https://10.0.1.11:2380" },
            ],
            initialClusterToken: "tok",
            bumpRevision: RESTORE_BUMP_REVISION,
        };
        assert.deepEqual(restoreArgs({ command: "etcdutl", bumpsRevision: true }, "s.db", target), [
            "snapshot",
            "restore",
            "s.db",
            "--data-dir=/var/lib/etcd.restoring",
            "--name=etcd-1",
            "--initial-cluster=etcd-0=https://10.0.1.10:2380,etcd-1=https://10.0.1.11:2380",
            "--initial-advertise-peer-urls=https://10.0.1.11:2380",
            "--initial-cluster-token=tok",
            "--bump-revision=1000000000",
            "--mark-compacted",
        ]);
        assert.throws(
            () => restoreArgs({ command: "etcdctl", bumpsRevision: false }, "s.db", target),
            /etcdctl snapshot restore has no --bump-revision/,
        );
        const plain = restoreArgs({ command: "etcdctl", bumpsRevision: false }, "s.db", {
            ...target,
            bumpRevision: undefined,
        });
        assert.ok(!plain.some((a) => /bump|compacted/.test(a)));
    });
});

describe("restoreFromBackup: the arguments, the members' files", function () {
    this.timeout(120_000);
    const members = [
        { name: "etcd-0", ip: "10.0.1.10" },
        { name: "etcd-1", ip: "10.0.1.11" },
        { name: "etcd-2", ip: "10.0.1.12" },
    ];
    const base = { members, vpcId: "vpc-0000000000000000a" };

    it("each argument's mistake is one problem naming it and the fix", () => {
        const problems = (args: Partial<SecureEtcdClusterArgs>) =>
            validateArgs({ ...base, ...args }, "prod").map((p) => `${p.path}: ${p.reason}`);
        assert.deepEqual(problems({ restoreFromBackup: "latest" }), []);
        assert.deepEqual(problems({ restoreFromBackup: "etcd-backups/prod/daily/2026/11/30/prod-rev9.db.enc" }), []);
        assert.deepEqual(problems({ restoreFromBackup: "latest", restoreOverRunningCluster: true }), []);
        const [bad] = problems({ restoreFromBackup: "yesterday" });
        assert.match(bad, /^restoreFromBackup: "yesterday" is neither "latest" nor a snapshot object's key/);
        assert.match(problems({ restoreFromBackup: "etcd-backups/../x.db.enc" })[0], /^restoreFromBackup: /);
        assert.match(
            problems({ restoreFromBackup: "latest", backups: false }).join("\n"),
            /restoreFromBackup: restores from this component's backups, and backups is false/,
        );
        assert.deepEqual(problems({ restoreOverRunningCluster: true }), [
            "restoreOverRunningCluster: only applies to a restore, and restoreFromBackup is not set; remove it, or name the backup in restoreFromBackup",
        ]);
    });

    it("every member gets the request (with its manifest) and the finishing service, before its manifest; none without", async () => {
        const rendered = await renderCluster("prod", { ...base, restoreFromBackup: "latest" });
        for (const m of members) {
            const files = rendered.nodeFiles[m.name];
            const paths = files.map((f) => f.path);
            const request = files.find((f) => f.path === RESTORE_CONFIG_PATH)!;
            const manifest = files.find((f) => f.path === NODE_PATHS.manifest)!;
            assert.ok(paths.indexOf(RESTORE_CONFIG_PATH) < paths.indexOf(NODE_PATHS.manifest));
            assert.ok(paths.indexOf(RESTORE_SERVICE_PATH) < paths.indexOf(NODE_PATHS.manifest));
            assert.ok(paths.indexOf(BACKUP_CONFIG_PATH) < paths.indexOf(RESTORE_CONFIG_PATH));
            const config = JSON.parse(request.content) as RestoreMemberConfig;
            assert.deepEqual(restoreConfigProblems(config), []);
            assert.equal(config.restoreId, restoreIdOf("prod", "latest"));
            assert.equal(config.manifestContent, manifest.content);
            assert.equal(config.overRunningCluster, false);
            assert.equal(request.mode, "0600");
            assert.deepEqual(request.apply, [
                "/usr/local/bin/secure-etcd",
                "restore-member",
                "--config",
                RESTORE_CONFIG_PATH,
                "--no-wait",
            ]);
        }
        const plain = await renderCluster("prod", base);
        assert.ok(
            !plain.nodeFiles["etcd-0"].some((f) => f.path === RESTORE_CONFIG_PATH || f.path === RESTORE_SERVICE_PATH),
        );
    });
});

describe("secure-etcd-restore.service", function () {
    it("passes systemd-analyze verify: sandboxed, capabilities for the data dir and the quarantine's table only", function () {
        const service = renderRestoreService("/usr/bin/true");
        for (const directive of [
            "Type=oneshot",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE CAP_NET_ADMIN",
            "ExecStart=/usr/bin/true restore-member --config /etc/secure-etcd/restore.json",
            "SystemCallFilter=@system-service",
        ]) {
            assert.ok(service.split("\n").includes(directive), directive);
        }
        if (!onPath("systemd-analyze")) {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-restore-units-"));
        try {
            fs.writeFileSync(path.join(dir, "secure-etcd-restore.service"), service);
            const run = spawnSync("systemd-analyze", ["verify", "--man=no", "./secure-etcd-restore.service"], {
                cwd: dir,
                encoding: "utf8",
            });
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stderr.trim(), "", "no unknown or misspelt directive");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
