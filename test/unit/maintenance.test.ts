// Maintenance without etcd: the decision (refuse on an unhealthy cluster, NOSPACE excepted; which
// member is worth defragmenting; followers first, the leader last; when to compact; when the alarm
// may be disarmed), the arguments' rules, the quota flag, what the component renders for every
// member (configuration, units that pass systemd-analyze verify, the etcd-backup identity) and
// what a run reports. On real etcd: test/e2e/maintenance.test.ts.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readMaintenanceConfig } from "../../agent/cli/maintenanceCommand";
import { defragmentReason, MemberStatus, planMaintenance, spaceStillShort } from "../../agent/maintenance/plan";
import { nextMaintenanceState, renderMaintenanceMetrics } from "../../agent/maintenance/report";
import { SecureEtcdCluster, validateArgs } from "../../src";
import { BACKUP_CLIENT_PATHS } from "../../src/backup/agentConfig";
import {
    MAINTENANCE_CONFIG_PATH,
    MAINTENANCE_SERVICE_PATH,
    MAINTENANCE_TIMER_PATH,
    MaintenanceConfig,
    MaintenanceThresholds,
    maintenanceNodeFiles,
    renderMaintenanceService,
    renderMaintenanceTimer,
} from "../../src/maintenance/maintenance";
import { renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { flagKnown } from "../../src/manifests/etcdFlagTable";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";
import { RESTART_LOCK_KEY } from "../../src/nodes/nodeSync";
import { quotaBackendBytesFinding } from "../../policy/lib/quotaBackendBytes";
import { MAX_QUOTA_BACKEND_BYTES } from "../../src/maintenance/args";
import { runProgram, valueOf } from "../../testing/program";
import { onPath } from "../harness/onPath";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

const T: MaintenanceThresholds = {
    quotaBackendBytes: 8 * GIB,
    fragmentedRatio: 0.5,
    quotaRatio: 0.8,
    minFragmentedBytes: 64 * MIB,
};

function member(i: number, dbSize: number, dbSizeInUse: number, leader = "11"): MemberStatus {
    return {
        name: `etcd-${i}`,
        endpoint: `https://10.0.1.${10 + i}:2379`,
        id: String(10 + i),
        leader,
        dbSize,
        dbSizeInUse,
        revision: 100 + i,
    };
}

describe("maintenance: the decision", () => {
    it("defragments nothing on a cluster whose databases are compact", () => {
        const plan = planMaintenance(
            [member(0, GIB, GIB), member(1, GIB, 0.9 * GIB), member(2, 100 * MIB, 50 * MIB)],
            [],
            [],
            T,
        );
        assert.deepEqual(plan.refusals, []);
        assert.deepEqual(plan.defragment, []);
        assert.equal(plan.spaceAlarm, false);
        assert.equal(plan.compactTo, undefined);
        assert.equal(plan.skipped.length, 3);
    });

    it("defragments a member with enough free pages, never for less than the floor", () => {
        assert.match(defragmentReason(member(0, 2 * GIB, GIB), T)!, /^50 % of its 2048\.0 MiB database is free pages/);
        assert.equal(defragmentReason(member(0, 100 * MIB, 40 * MIB), T), undefined, "60 % free but only 60 MiB");
        assert.equal(defragmentReason(member(0, 2 * GIB, 1.5 * GIB), T), undefined, "25 % free, far from the quota");
        // Near the quota, a smaller fraction of free pages is worth it.
        assert.match(defragmentReason(member(0, 7 * GIB, 6.5 * GIB), T)!, /uses 88 % of the quota/);
        assert.equal(
            defragmentReason(member(0, 7 * GIB, 7 * GIB - MIB), T),
            undefined,
            "near the quota, nothing to free",
        );
    });

    it("orders followers first and the leader last, whatever order the members answer in", () => {
        const leaderId = "11";
        const statuses = [
            member(1, 2 * GIB, 0.5 * GIB, leaderId),
            member(2, 2 * GIB, 0.5 * GIB, leaderId),
            member(0, 2 * GIB, 0.5 * GIB, leaderId),
        ];
        const plan = planMaintenance(statuses, [], [], T);
        assert.deepEqual(
            plan.defragment.map((d) => `${d.name} ${d.role}`),
            ["etcd-0 follower", "etcd-2 follower", "etcd-1 leader"],
        );
    });

    it("refuses to act on a cluster that is not healthy, and names why", () => {
        const down = planMaintenance(
            [member(0, 2 * GIB, 0.5 * GIB), member(1, 2 * GIB, 0.5 * GIB)],
            [{ name: "etcd-2", endpoint: "https://10.0.1.12:2379", error: "no answer in 10000 ms" }],
            [],
            T,
        );
        assert.deepEqual(down.refusals, ["etcd-2 (https://10.0.1.12:2379) does not answer: no answer in 10000 ms"]);
        assert.deepEqual(down.defragment, []);
        const split = planMaintenance(
            [member(0, GIB, GIB, "11"), member(1, GIB, GIB, "12"), member(2, GIB, GIB, "0")],
            [],
            [],
            T,
        );
        assert.deepEqual(split.refusals, ["etcd-2 has no leader", "members disagree on the leader (11, 12, 0)"]);
        const corrupt = planMaintenance(
            [member(0, GIB, GIB), member(1, GIB, GIB)],
            [],
            [{ memberId: "10", alarm: "CORRUPT" }],
            T,
        );
        assert.deepEqual(corrupt.refusals, ["CORRUPT alarm raised by etcd-0: not something defragmenting fixes"]);
    });

    it("under NOSPACE defragments every member, leader last, and compacts only when the live data is near the quota", () => {
        const quota = { ...T, quotaBackendBytes: 8 * MIB, minFragmentedBytes: 64 * MIB };
        const alarms = [{ memberId: "10", alarm: "NOSPACE" }];
        const fragmented = planMaintenance(
            [member(0, 8 * MIB, 2 * MIB), member(1, 8 * MIB, 2 * MIB), member(2, 8 * MIB, 2 * MIB)],
            [],
            alarms,
            quota,
        );
        assert.deepEqual(fragmented.refusals, [], "NOSPACE is what the run fixes, not a reason to refuse");
        assert.equal(fragmented.spaceAlarm, true);
        assert.deepEqual(
            fragmented.defragment.map((d) => d.name),
            ["etcd-0", "etcd-2", "etcd-1"],
        );
        assert.equal(fragmented.compactTo, undefined, "defragmenting alone frees enough");
        const full = planMaintenance(
            [member(0, 8 * MIB, 7.5 * MIB), member(1, 8 * MIB, 7 * MIB), member(2, 8 * MIB, 7 * MIB)],
            [],
            alarms,
            quota,
        );
        assert.equal(full.compactTo, 102, "the newest revision any member applied");
    });

    it("disarms only once every database is below the quota, and says what to do otherwise", () => {
        const quota = { ...T, quotaBackendBytes: 8 * MIB };
        assert.deepEqual(spaceStillShort([member(0, 2 * MIB, 2 * MIB), member(1, 7 * MIB, 7 * MIB)], quota), []);
        assert.deepEqual(spaceStillShort([member(0, 2 * MIB, 2 * MIB), member(1, 8 * MIB, 8 * MIB)], quota), [
            "etcd-1's database is still 8.0 MiB (8.0 MiB in use) of a 8.0 MiB quota: delete data or raise quotaBackendBytes",
        ]);
    });
});

describe("maintenance: arguments", () => {
    const base = { members: [{ name: "etcd-0", ip: "10.0.1.10" }], vpcId: "vpc-0123456789abcdef0" };
    const problems = (extra: object) => validateArgs({ ...base, ...extra }).map((p) => `${p.path}: ${p.reason}`);

    it("accepts the defaults and the ranges' ends", () => {
        assert.deepEqual(problems({}), []);
        assert.deepEqual(
            problems({
                quotaBackendBytes: MIB,
                defragmentation: false,
                defragmentationIntervalMinutes: 1440,
                defragmentationFragmentedRatio: 0.95,
                defragmentationQuotaRatio: 0.1,
                defragmentationMinFragmentedBytes: 0,
            }),
            [],
        );
        assert.deepEqual(problems({ quotaBackendBytes: 8 * GIB }), []);
    });

    it("names each argument out of range with its range, one problem each", () => {
        assert.deepEqual(problems({ quotaBackendBytes: 8 * GIB + 1 }), [
            "quotaBackendBytes: 8589934593 is not a backend quota etcd handles well; give a whole number of bytes from 1048576 (1 MiB) to 8589934592 (8 GiB, etcd's recommended maximum), e.g. 8589934592",
        ]);
        assert.equal(problems({ quotaBackendBytes: 1000 }).length, 1);
        assert.equal(problems({ quotaBackendBytes: 1.5 * MIB + 0.5 }).length, 1);
        assert.deepEqual(problems({ defragmentation: "yes" }), ['defragmentation: "yes" is not true or false']);
        assert.deepEqual(problems({ defragmentationIntervalMinutes: 7 }), [
            "defragmentationIntervalMinutes: 7 does not repeat evenly every day; use a divisor of an hour or a whole number of hours that divides a day, e.g. 60, 360 or 1440",
        ]);
        assert.deepEqual(problems({ defragmentationFragmentedRatio: 1 }), [
            "defragmentationFragmentedRatio: 1 is not a fraction from 0.05 to 0.95; e.g. 0.5",
        ]);
        assert.deepEqual(problems({ defragmentationQuotaRatio: 0 }), [
            "defragmentationQuotaRatio: 0 is not a fraction from 0.1 to 0.95; e.g. 0.8",
        ]);
        assert.deepEqual(problems({ defragmentationMinFragmentedBytes: -1 }), [
            "defragmentationMinFragmentedBytes: -1 is not a whole number of bytes, 0 or more; e.g. 67108864 (64 MiB)",
        ]);
    });
});

describe("maintenance: the quota flag", () => {
    it("renders --quota-backend-bytes on every release line, and the shared predicate judges it", () => {
        const members = [{ name: "etcd-0", ip: "10.0.1.10" }];
        for (const v of ["3.4.23", "3.5.30", "3.6.14", "3.7.1"]) {
            const version = parseEtcdVersion(v)!;
            const flags = renderEtcdFlags({
                member: members[0],
                members,
                clusterToken: "t",
                version,
                quotaBackendBytes: 4 * GIB,
            });
            assert.ok(flags.includes(`--quota-backend-bytes=${4 * GIB}`), v);
            assert.ok(flagKnown("--quota-backend-bytes", version), v);
            assert.equal(quotaBackendBytesFinding(["etcd", ...flags]), undefined);
        }
        assert.match(
            quotaBackendBytesFinding(["etcd", "--name=a"])!,
            /sets no --quota-backend-bytes, so etcd uses its 2 GiB default/,
        );
        assert.match(
            quotaBackendBytesFinding(["etcd", `--quota-backend-bytes=${16 * GIB}`])!,
            /above etcd's recommended maximum/,
        );
        // The pack's maximum is the component's (both from secure-etcd/rules): the largest quota the
        // component accepts passes, one byte more does not.
        assert.equal(quotaBackendBytesFinding(["etcd", `--quota-backend-bytes=${MAX_QUOTA_BACKEND_BYTES}`]), undefined);
        assert.match(
            quotaBackendBytesFinding(["etcd", `--quota-backend-bytes=${MAX_QUOTA_BACKEND_BYTES + 1}`])!,
            /above etcd's recommended maximum/,
        );
        assert.match(quotaBackendBytesFinding(["etcd", "--quota-backend-bytes=0"])!, /not a positive whole number/);
    });
});

const INPUT = {
    cluster: "prod",
    member: "etcd-1",
    memberIp: "10.0.1.11",
    memberIps: ["10.0.1.10", "10.0.1.11", "10.0.1.12"],
    agentPath: "/usr/local/bin/secure-etcd",
    intervalMinutes: 60,
    onlyIfLeader: true,
    backupCertPem: "CERT",
    backupKeyPem: "KEY",
    ...T,
};

describe("maintenance: what every member gets", function () {
    it("a configuration naming every member, the etcd-backup identity and node sync's lock; units after it", () => {
        const files = maintenanceNodeFiles(INPUT);
        assert.deepEqual(
            files.map((f) => `${f.path} ${f.mode}`),
            [
                `${BACKUP_CLIENT_PATHS.cert} 0600`,
                `${BACKUP_CLIENT_PATHS.key} 0600`,
                `${MAINTENANCE_CONFIG_PATH} 0644`,
                `${MAINTENANCE_SERVICE_PATH} 0644`,
                `${MAINTENANCE_TIMER_PATH} 0644`,
            ],
        );
        const config = JSON.parse(files[2].content) as MaintenanceConfig;
        assert.deepEqual(config.endpoints, [
            "https://10.0.1.10:2379",
            "https://10.0.1.11:2379",
            "https://10.0.1.12:2379",
        ]);
        assert.equal(config.memberEndpoint, "https://10.0.1.11:2379");
        assert.equal(config.cert, BACKUP_CLIENT_PATHS.cert);
        assert.equal(config.lockKey, RESTART_LOCK_KEY);
        assert.equal(config.quotaBackendBytes, 8 * GIB);
        assert.ok(!files[2].content.includes("KEY"), "the configuration names the key's path, not the key");
        assert.deepEqual(files[4].apply, [
            "systemctl",
            "enable",
            "--now",
            "--no-block",
            "secure-etcd-maintenance.timer",
        ]);
        const configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-maint-")), "m.json");
        fs.writeFileSync(configFile, files[2].content);
        assert.deepEqual(readMaintenanceConfig(configFile), config);
        fs.writeFileSync(configFile, JSON.stringify({ ...config, endpoints: [], quotaRatio: "0.8" }));
        assert.throws(() => readMaintenanceConfig(configFile), /quotaRatio, endpoints missing or of the wrong type/);
        fs.rmSync(path.dirname(configFile), { recursive: true });
    });

    it("its service and timer pass systemd-analyze verify: sandboxed, no capability, etcd's keys and data out of reach", function () {
        const service = renderMaintenanceService({ agentPath: "/usr/bin/true" });
        for (const directive of [
            "Type=oneshot",
            "User=root",
            "CapabilityBoundingSet=",
            "NoNewPrivileges=yes",
            "ProtectSystem=full",
            "InaccessiblePaths=-/etc/kubernetes/pki/etcd/server.key -/etc/kubernetes/pki/etcd/peer.key -/var/lib/etcd",
            "ConditionPathExists=/var/lib/secure-etcd/bootstrap.done",
            "ExecStart=/usr/bin/true maintenance --config /etc/secure-etcd/maintenance.json",
        ]) {
            assert.ok(service.split("\n").includes(directive), directive);
        }
        assert.match(renderMaintenanceTimer(60), /^OnCalendar=\*-\*-\* \*:00:00 UTC$/m);
        assert.match(renderMaintenanceTimer(1440), /^OnCalendar=\*-\*-\* 00:00:00 UTC$/m);
        if (!onPath("systemd-analyze")) {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-maint-units-"));
        try {
            fs.writeFileSync(path.join(dir, "secure-etcd-maintenance.service"), service);
            fs.writeFileSync(path.join(dir, "secure-etcd-maintenance.timer"), renderMaintenanceTimer(60));
            const run = spawnSync(
                "systemd-analyze",
                ["verify", "--man=no", "./secure-etcd-maintenance.service", "./secure-etcd-maintenance.timer"],
                { cwd: dir, encoding: "utf8" },
            );
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stderr.trim(), "", "no unknown or misspelt directive");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the component renders it on every member with the quota flag and the alerts; defragmentation: false renders none", async function () {
        const members = [
            { name: "etcd-0", ip: "10.0.1.10" },
            { name: "etcd-1", ip: "10.0.1.11" },
            { name: "etcd-2", ip: "10.0.1.12" },
        ];
        const { result } = await runProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members,
                    vpcId: "vpc-0123456789abcdef0",
                    backups: false,
                    quotaBackendBytes: 4 * GIB,
                }),
        );
        const nodeFiles = await valueOf(result.nodeFiles);
        const manifests = await valueOf(result.etcdManifests);
        const configOf = (files: { path: string; content: string }[]) =>
            JSON.parse(files.find((f) => f.path === MAINTENANCE_CONFIG_PATH)!.content) as MaintenanceConfig;
        for (const m of members) {
            const paths = nodeFiles[m.name].map((f) => f.path);
            // Backups off: only the first member holds the etcd-backup identity (for the RBAC
            // bootstrap), so only it runs maintenance, whether it leads or not; no member gains a root credential.
            assert.equal(paths.includes(MAINTENANCE_CONFIG_PATH), m.name === "etcd-0", m.name);
            assert.equal(paths.includes(BACKUP_CLIENT_PATHS.key), m.name === "etcd-0", m.name);
            assert.match(manifests[m.name], new RegExp(`- --quota-backend-bytes=${4 * GIB}$`, "m"));
        }
        assert.equal(configOf(nodeFiles["etcd-0"]).onlyIfLeader, false);
        // Backups on: every member has the identity already, every member the timer, the leader's run acts.
        const withBackups = await valueOf(
            (await runProgram(() => new SecureEtcdCluster("prod", { members, vpcId: "vpc-0123456789abcdef0" }))).result
                .nodeFiles,
        );
        for (const m of members) {
            assert.equal(configOf(withBackups[m.name]).onlyIfLeader, true, m.name);
        }
        const rules = await valueOf(result.prometheusRulesYaml);
        for (const alert of ["EtcdSpaceAlarmNotCleared", "EtcdMaintenanceFailing"]) {
            assert.match(rules, new RegExp(`alert: ${alert}`));
        }
        const off = await runProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: members.slice(0, 1),
                    vpcId: "vpc-0123456789abcdef0",
                    defragmentation: false,
                }),
        );
        const paths = (await valueOf(off.result.nodeFiles))["etcd-0"].map((f) => f.path);
        assert.ok(!paths.includes(MAINTENANCE_CONFIG_PATH));
        assert.doesNotMatch(await valueOf(off.result.prometheusRulesYaml), /EtcdMaintenance|EtcdSpaceAlarm/);
        assert.match(
            (await valueOf(off.result.etcdManifests))["etcd-0"],
            /- --quota-backend-bytes=8589934592$/m,
            "the default quota",
        );
    });
});

describe("maintenance: what a run reports", () => {
    it("counts failures in a row, keeps the last success, and renders metrics promtool accepts", function () {
        const ok = nextMaintenanceState({}, 1000, {
            succeeded: true,
            defragmented: ["etcd-0", "etcd-1"],
            spaceAlarm: false,
        });
        const failed = nextMaintenanceState(ok, 2000, {
            succeeded: false,
            defragmented: [],
            spaceAlarm: true,
            error: "x",
        });
        const again = nextMaintenanceState(failed, 3000, {
            succeeded: false,
            defragmented: [],
            spaceAlarm: true,
            error: "y",
        });
        assert.deepEqual(
            [again.consecutiveFailures, again.lastSuccess, again.lastError, again.spaceAlarm],
            [2, 1000, "y", true],
        );
        const metrics = renderMaintenanceMetrics({ cluster: "prod", member: "etcd-1" }, again);
        assert.match(
            metrics,
            /^secure_etcd_maintenance_consecutive_failures\{etcd_cluster="prod",member="etcd-1"\} 2$/m,
        );
        assert.match(metrics, /^secure_etcd_maintenance_space_alarm\{etcd_cluster="prod",member="etcd-1"\} 1$/m);
        assert.match(
            metrics,
            /^secure_etcd_maintenance_last_success_timestamp_seconds\{etcd_cluster="prod",member="etcd-1"\} 1000$/m,
        );
        if (!onPath("promtool")) {
            this.skip();
        }
        const check = spawnSync("promtool", ["check", "metrics"], { input: metrics, encoding: "utf8" });
        assert.equal(check.status, 0, check.stderr + check.stdout);
    });
});
