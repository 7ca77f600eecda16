// Backups as SecureEtcdCluster wires them: the agent's configuration, the backup identity and a
// hardened timer on every member; the outputs, with no secret in the public ones; every refusal,
// before anything is created.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { BackupObjectLockMode, NodeFile, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { agentConfigProblems, BACKUP_CLIENT_PATHS, BACKUP_CONFIG_PATH } from "../../src/backup/agentConfig";
import {
    BACKUP_SERVICE_PATH,
    BACKUP_TIMER_PATH,
    backupOnCalendar,
    mergeNodeFiles,
    renderBackupAgentConfig,
    renderBackupService,
    renderBackupTimer,
} from "../../src/backup/backupNodeFiles";
import { backupWriterPolicy } from "../../src/backup/backupPolicies";
import { memberBundle } from "../../src/nodes/nodeSync";
import { PolicyDocument } from "../../src/core/policyDocument";
import { isBackupInterval } from "../../src/backup/validate";
import {
    buildCluster,
    capturedWarnings,
    refusedWhenResolved,
    rejectedArgs,
    TEST_VPC_ID,
    THREE_MEMBERS,
} from "../harness/cluster";
import { MOCK_PROJECT, MOCK_STACK, resolve, runProgram, valueOf } from "../../testing/program";
import { onPath } from "../harness/onPath";
import { writtenText } from "../harness/userData";

const VALID_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440];
const BACKUP_PATHS = [
    BACKUP_CLIENT_PATHS.cert,
    BACKUP_CLIENT_PATHS.key,
    BACKUP_CONFIG_PATH,
    BACKUP_SERVICE_PATH,
    BACKUP_TIMER_PATH,
];

function byPath(files: NodeFile[]): Record<string, NodeFile> {
    return Object.fromEntries(files.map((f) => [f.path, f]));
}

describe("backups: on every member", function () {
    it("writes the agent's configuration, the backup identity and the timer, root-only, each path once", async () => {
        const { cluster, outputs } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const bucket = await valueOf(cluster.backupBucketName);
        const kmsKeyArn = await valueOf(cluster.backupKmsKeyArn);
        const backupClient = outputs.clientCredentials.value["etcd-backup"];
        for (const [i, member] of THREE_MEMBERS.entries()) {
            const list = outputs.nodeFiles.value[member.name];
            const paths = list.map((f) => f.path);
            assert.equal(new Set(paths).size, paths.length, `${member.name}: a path written twice`);
            const files = byPath(list);
            for (const p of BACKUP_PATHS) {
                assert.ok(files[p], `${member.name} lacks ${p}`);
                assert.equal(files[p].owner, "0:0", p);
                assert.equal(files[p].directory, false, p);
            }
            assert.equal(files[BACKUP_CLIENT_PATHS.key].mode, "0600");
            assert.equal(files[BACKUP_CLIENT_PATHS.cert].mode, "0600");
            assert.equal(files[BACKUP_CONFIG_PATH].mode, "0600");
            assert.equal(files[BACKUP_SERVICE_PATH].mode, "0644");
            assert.equal(files[BACKUP_TIMER_PATH].mode, "0644");
            assert.equal(files[BACKUP_CLIENT_PATHS.cert].content, backupClient.certPem);
            assert.equal(files[BACKUP_CLIENT_PATHS.key].content, backupClient.keyPem);
            const config: unknown = JSON.parse(files[BACKUP_CONFIG_PATH].content);
            assert.deepEqual(agentConfigProblems(config), []);
            assert.deepEqual(config, {
                project: "project",
                stack: "stack",
                cluster: "prod",
                endpoints: [`https://10.0.1.1${i}:2379`],
                cacert: "/etc/kubernetes/pki/etcd/ca.crt",
                cert: "/etc/kubernetes/pki/etcd/backup-client.crt",
                key: "/etc/kubernetes/pki/etcd/backup-client.key",
                bucket,
                prefix: "etcd-backups/prod/",
                region: "us-east-1",
                kmsKeyArn,
                onlyIfLeader: true,
                // The daily tier's lock: governance, for the 30 days daily backups are kept.
                tiers: { dailyLock: { mode: "GOVERNANCE", days: 30 } },
            });
            assert.ok(files[BACKUP_CLIENT_PATHS.cacert], "the CA the config names is on the node");
            // The timer is enabled once the service it starts is on disk.
            assert.ok(paths.indexOf(BACKUP_SERVICE_PATH) < paths.indexOf(BACKUP_TIMER_PATH));
            assert.equal(files[BACKUP_SERVICE_PATH].apply, undefined);
            assert.deepEqual(files[BACKUP_TIMER_PATH].apply, [
                "systemctl",
                "enable",
                "--now",
                "--no-block",
                "secure-etcd-backup.timer",
            ]);
            assert.match(
                files[BACKUP_SERVICE_PATH].content,
                /\nExecStart=\/usr\/local\/bin\/secure-etcd backup --config \/etc\/secure-etcd\/backup\.json\n/,
            );
            assert.match(files[BACKUP_TIMER_PATH].content, /\nOnCalendar=\*-\*-\* \*:00\/30:00 UTC\n/);
        }
    });

    it("names the cluster by the Pulumi project and stack that own it, not the component name alone", async () => {
        // Two stacks that share a bucket, a key and a component name: each agent binds its backups to its own stack.
        const configs: unknown[] = [];
        for (const stack of ["prod-eu", "prod-us"]) {
            const { result } = await runProgram(
                () => new SecureEtcdCluster("prod", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID }),
                { project: "acme-platform", stack },
            );
            const files = byPath((await valueOf(result.nodeFiles))["etcd-0"]);
            configs.push(JSON.parse(files[BACKUP_CONFIG_PATH].content));
        }
        assert.deepEqual(
            configs.map((c) => {
                const { project, stack, cluster } = c as { project: string; stack: string; cluster: string };
                return { project, stack, cluster };
            }),
            [
                { project: "acme-platform", stack: "prod-eu", cluster: "prod" },
                { project: "acme-platform", stack: "prod-us", cluster: "prod" },
            ],
        );
    });

    it("renders the interval and the agent's path given", async () => {
        const { outputs } = await buildCluster({
            members: THREE_MEMBERS,
            backupIntervalMinutes: pulumi.output(360),
            backupAgentPath: "/opt/secure-etcd/bin/secure-etcd",
        });
        const files = byPath(outputs.nodeFiles.value["etcd-1"]);
        assert.match(files[BACKUP_TIMER_PATH].content, /\nOnCalendar=\*-\*-\* 00\/6:00:00 UTC\n/);
        assert.match(files[BACKUP_SERVICE_PATH].content, /\nExecStart=\/opt\/secure-etcd\/bin\/secure-etcd backup /);
        assert.match(files[BACKUP_SERVICE_PATH].content, /\nTimeoutStartSec=19440\n/);
    });

    it("puts the backup files in each member's Secrets Manager bundle, and none of their contents in its user-data", async () => {
        const { cluster, mocks, outputs } = await buildCluster({ members: THREE_MEMBERS });
        const userData = await resolve(cluster.memberUserData);
        assert.equal(userData.secret, false);
        const key = outputs.clientCredentials.value["etcd-backup"].keyPem;
        for (const member of ["etcd-0", "etcd-1", "etcd-2"]) {
            const files = outputs.nodeFiles.value[member];
            const expected = memberBundle(files);
            const version = mocks.named(`prod-secrets-member-${member}-version`);
            assert.deepEqual(JSON.parse(version.inputs.secretString as string), expected);
            const bundled = new Set(expected.files.map((f) => f.path));
            for (const p of BACKUP_PATHS) {
                assert.ok(bundled.has(p), `${member}: ${p} not fetched at boot`);
                assert.ok(writtenText(userData.value[member]).includes(p), `${member}: ${p} not planned`);
            }
            assert.ok(!writtenText(userData.value[member]).includes(key.split("\n")[1]));
        }
    });

    it("without backups: no backup resources, files or outputs", async () => {
        const { cluster, mocks, outputs } = await buildCluster({ members: THREE_MEMBERS, backups: false });
        assert.deepEqual(
            mocks.registrations
                .filter((r) => r.type.startsWith("aws:s3/") || r.name.startsWith("prod-backup"))
                .map((r) => r.name),
            [],
        );
        for (const files of Object.values(outputs.nodeFiles.value)) {
            const paths = new Set(files.map((f) => f.path));
            for (const p of [BACKUP_CONFIG_PATH, BACKUP_SERVICE_PATH, BACKUP_TIMER_PATH]) {
                assert.ok(!paths.has(p), p);
            }
        }
        for (const output of [
            cluster.backupBucketName,
            cluster.backupBucketArn,
            cluster.backupKmsKeyArn,
            cluster.backupPrefix,
            cluster.backupBucketPolicy,
            cluster.backupWriterPolicy,
            cluster.backupRestorePolicy,
        ]) {
            assert.equal(await valueOf(output), undefined);
        }
        assert.deepEqual(await valueOf(cluster.memberInstancePolicies), await valueOf(cluster.memberSecretsPolicies));
    });
});

describe("backups: outputs", function () {
    it("are public, hold no secret, and give each member's role its secrets and the writer policy in one document", async () => {
        const { cluster, outputs } = await buildCluster({ members: THREE_MEMBERS }, "prod");
        const publicOutputs = {
            backupBucketName: await resolve(cluster.backupBucketName),
            backupBucketArn: await resolve(cluster.backupBucketArn),
            backupKmsKeyArn: await resolve(cluster.backupKmsKeyArn),
            backupPrefix: await resolve(cluster.backupPrefix),
            backupBucketPolicy: await resolve(cluster.backupBucketPolicy),
            backupWriterPolicy: await resolve(cluster.backupWriterPolicy),
            backupRestorePolicy: await resolve(cluster.backupRestorePolicy),
            memberInstancePolicies: await resolve(cluster.memberInstancePolicies),
        };
        const secrets = [
            ...Object.values(outputs.clientCredentials.value).map((c) => c.keyPem.split("\n")[1]),
            ...Object.values(outputs.memberCredentials.value).map((c) => c.serverKeyPem.split("\n")[1]),
        ];
        for (const [output, { value, secret }] of Object.entries(publicOutputs)) {
            assert.equal(secret, false, `${output} is secret`);
            const text = JSON.stringify(value);
            assert.ok(!text.includes("PRIVATE KEY"), output);
            assert.ok(!secrets.some((s) => text.includes(s)), output);
        }
        assert.equal(publicOutputs.backupPrefix.value, "etcd-backups/prod/");
        assert.equal(outputs.nodeFiles.secret, true, "the node files hold the backup client's key");

        const bucketArn = publicOutputs.backupBucketArn.value!;
        const writer = JSON.parse(publicOutputs.backupWriterPolicy.value!) as PolicyDocument;
        assert.deepEqual(
            writer,
            backupWriterPolicy({
                bucketArn,
                prefix: "etcd-backups/prod/",
                kmsKeyArn: publicOutputs.backupKmsKeyArn.value!,
                region: "us-east-1",
                project: MOCK_PROJECT,
                stack: MOCK_STACK,
                cluster: "prod",
                dailyLock: { mode: "GOVERNANCE", days: 30 },
            }),
        );
        const perMember = await valueOf(cluster.memberSecretsPolicies);
        for (const [member, combined] of Object.entries(publicOutputs.memberInstancePolicies.value)) {
            const doc = JSON.parse(combined) as PolicyDocument;
            const own = JSON.parse(perMember[member]) as PolicyDocument;
            assert.deepEqual(doc.Statement, [...own.Statement, ...writer.Statement], member);
        }
    });

    it("registers the backup component under the cluster's name, with nothing from args", async () => {
        const { mocks } = await buildCluster({ members: THREE_MEMBERS });
        const component = mocks.ofType("secure-etcd:backup:BackupBucket");
        assert.equal(component.length, 1);
        assert.equal(component[0].name, "prod-backup");
        assert.deepEqual(component[0].rawInputs, {}, "no args reach super()");
    });
});

describe("backups: the timer and the service", function () {
    it("accepts exactly the intervals that repeat evenly every day", () => {
        assert.deepEqual(Array.from({ length: 3000 }, (_, i) => i).filter(isBackupInterval), VALID_INTERVALS);
        assert.equal(isBackupInterval(1.5), false);
    });

    it("renders OnCalendar in UTC for minutes and hours", () => {
        assert.equal(backupOnCalendar(30), "*-*-* *:00/30:00 UTC");
        assert.equal(backupOnCalendar(1), "*-*-* *:00/1:00 UTC");
        assert.equal(backupOnCalendar(60), "*-*-* *:00:00 UTC");
        assert.equal(backupOnCalendar(120), "*-*-* 00/2:00:00 UTC");
        assert.equal(backupOnCalendar(1440), "*-*-* 00:00:00 UTC");
    });

    it("fires at the same instants on every member, evenly, whatever the node's time zone (systemd-analyze)", function () {
        if (!onPath("systemd-analyze")) {
            this.skip();
        }
        for (const minutes of VALID_INTERVALS) {
            const iterations = Math.max(3, (2 * 1440) / minutes);
            const out = execFileSync(
                "systemd-analyze",
                [
                    "calendar",
                    `--iterations=${iterations}`,
                    "--base-time=2026-01-01 23:59:59 UTC",
                    backupOnCalendar(minutes),
                ],
                { env: { ...process.env, TZ: "Asia/Kolkata" }, encoding: "utf8" },
            );
            const instants = [...out.matchAll(/\(in UTC\): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) =>
                Date.parse(`${m[1].replace(" ", "T")}Z`),
            );
            assert.equal(instants.length, iterations, `${minutes}: ${out}`);
            assert.equal(new Date(instants[0]).toISOString(), "2026-01-02T00:00:00.000Z", `${minutes}`);
            instants.slice(1).forEach((t, i) => assert.equal(t - instants[i], minutes * 60_000, `${minutes} at ${i}`));
        }
    });

    it("passes systemd-analyze verify, hardened, and never overlaps itself", function () {
        const service = renderBackupService({ agentPath: "/usr/local/bin/secure-etcd", intervalMinutes: 30 });
        for (const directive of [
            "Type=oneshot",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=",
            "ReadOnlyPaths=/etc/secure-etcd/backup.json /etc/kubernetes/pki/etcd/ca.crt /etc/kubernetes/pki/etcd/backup-client.crt /etc/kubernetes/pki/etcd/backup-client.key",
            "InaccessiblePaths=-/etc/kubernetes/pki/etcd/server.key -/etc/kubernetes/pki/etcd/peer.key -/var/lib/etcd",
        ]) {
            assert.ok(service.split("\n").includes(directive), directive);
        }
        assert.ok(!service.includes("[Install]"), "started by the timer only");
        const timer = renderBackupTimer(30);
        for (const directive of ["Persistent=true", "AccuracySec=1s", "Unit=secure-etcd-backup.service"]) {
            assert.ok(timer.split("\n").includes(directive), directive);
        }
        assert.ok(!timer.includes("RandomizedDelaySec"), "no per-member delay");
        if (!onPath("systemd-analyze") || !fs.existsSync("/usr/bin/true")) {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-units-"));
        try {
            // verify wants an ExecStart that exists.
            fs.writeFileSync(
                path.join(dir, "secure-etcd-backup.service"),
                renderBackupService({ agentPath: "/usr/bin/true", intervalMinutes: 30 }),
            );
            fs.writeFileSync(path.join(dir, "secure-etcd-backup.timer"), timer);
            const run = spawnSync(
                "systemd-analyze",
                ["verify", "--man=no", "./secure-etcd-backup.service", "./secure-etcd-backup.timer"],
                { cwd: dir, encoding: "utf8" },
            );
            assert.equal(run.status, 0, run.stderr);
            assert.equal(run.stderr.trim(), "", "no unknown or misspelt directive");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("addresses an IPv6 member in brackets", () => {
        const config = renderBackupAgentConfig({
            project: "p",
            stack: "s",
            cluster: "prod",
            memberIp: "fd00::10",
            bucket: "b",
            region: "us-east-1",
            kmsKeyArn: "k",
        });
        assert.deepEqual(config.endpoints, ["https://[fd00::10]:2379"]);
    });

    it("writes a shared path once, and refuses two different files for one path", () => {
        const file = (content: string): NodeFile => ({
            path: "/etc/x",
            mode: "0600",
            owner: "0:0",
            content,
            directory: false,
        });
        assert.deepEqual(mergeNodeFiles([file("a"), file("a")]), [file("a")]);
        assert.throws(() => mergeNodeFiles([file("a"), file("b")]), /two different node files for \/etc\/x/);
    });
});

describe("backups: refused arguments", function () {
    const members = THREE_MEMBERS;
    const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    async function expectProblem(args: Partial<SecureEtcdClusterArgs>, path: string, ...fragments: string[]) {
        const error = await rejectedArgs({ members, vpcId: TEST_VPC_ID, ...args });
        const problem = error.errors.find((e) => e.propertyPath === path);
        assert.ok(problem, `no problem at ${path}; got ${JSON.stringify(error.errors)}`);
        assert.ok(error.message.includes(`  - ${path}: ${problem.reason}`), error.message);
        for (const f of fragments) {
            assert.ok(problem.reason.includes(f), `"${problem.reason}" lacks "${f}"`);
        }
    }

    for (const bad of [7, 45, 90, 100, 2880, 0, -30, 1.5]) {
        it(`refuses backupIntervalMinutes ${bad}, listing the intervals that work`, () =>
            expectProblem(
                { backupIntervalMinutes: bad },
                "backupIntervalMinutes",
                `${bad} does not repeat evenly every day`,
                VALID_INTERVALS.join(", "),
                "e.g. 30",
            ));
    }

    it("refuses bucket names S3 refuses, and dotted ones", async () => {
        await expectProblem(
            { backupAccessLogBucketName: "Access_Logs" },
            "backupAccessLogBucketName",
            "not a valid S3 bucket name",
        );
        await expectProblem({ backupBucketName: "Etcd_Backups" }, "backupBucketName", "not a valid S3 bucket name");
        await expectProblem({ backupBucketName: "acme.backups" }, "backupBucketName", "breaks TLS");
    });

    it("refuses a key alias, as for the other keys", () =>
        expectProblem(
            { backupKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias/backups" },
            "backupKmsKeyArn",
            "is a key alias",
        ));

    it("refuses day counts that are not whole days from 1 to 36500", async () => {
        await expectProblem({ backupRetentionDays: 0 }, "backupRetentionDays", "1 to 36500");
        await expectProblem(
            { backupNoncurrentVersionRetentionDays: 1.5 },
            "backupNoncurrentVersionRetentionDays",
            "whole number of days",
        );
        await expectProblem(
            { backupObjectLockMode: BackupObjectLockMode.Governance, backupObjectLockDays: 40000 },
            "backupObjectLockDays",
            "1 to 36500",
        );
    });

    it("refuses lock days with the lock off, a lock shorter than old versions are kept, and a mode that is not one", async () => {
        await expectProblem(
            { backupObjectLockMode: BackupObjectLockMode.Off, backupObjectLockDays: 10 },
            "backupObjectLockDays",
            'has no effect with backupObjectLockMode "OFF"',
        );
        await expectProblem(
            { backupObjectLockDays: 5, backupNoncurrentVersionRetentionDays: 7 },
            "backupObjectLockDays",
            "5 is shorter than backupNoncurrentVersionRetentionDays (7)",
        );
        await expectProblem(
            { backupObjectLockMode: "LEGAL-HOLD" as BackupObjectLockMode },
            "backupObjectLockMode",
            "GOVERNANCE, COMPLIANCE, OFF",
        );
    });

    it("refuses a frequent tier kept longer than the daily one, and its days out of range", async () => {
        await expectProblem(
            { backupFrequentRetentionDays: 10, backupRetentionDays: 7 },
            "backupFrequentRetentionDays",
            "10 is longer than backupRetentionDays (7), which keeps the daily backups",
            "keep every backup for at most 7 days, or raise backupRetentionDays",
        );
        await expectProblem({ backupFrequentRetentionDays: 0 }, "backupFrequentRetentionDays", "1 to 36500");
        const late = await refusedWhenResolved({
            members,
            backupFrequentRetentionDays: pulumi.output(31),
        });
        assert.match(late.error.message, /backupFrequentRetentionDays: 31 is longer than backupRetentionDays \(30\)/);
    });

    it("refuses lifecycle and lock settings for a bucket you bring", async () => {
        for (const args of [
            { backupRetentionDays: 14 },
            { backupFrequentRetentionDays: 2 },
            { backupNoncurrentVersionRetentionDays: 3 },
            { backupObjectLockMode: BackupObjectLockMode.Compliance },
            { backupAccessLogBucketName: "acme-s3-access-logs" },
        ]) {
            await expectProblem(
                { backupBucketName: "acme-etcd-backups", ...args },
                Object.keys(args)[0],
                "a bucket you manage",
            );
        }
    });

    it("refuses backup arguments when backups are off, and a switch that is not a boolean", async () => {
        await expectProblem(
            { backups: false, backupKmsKeyArn: KEY_ARN },
            "backupKmsKeyArn",
            "only applies when backups are on",
            "set backups to true",
        );
        await expectProblem({ backups: "yes" as unknown as boolean }, "backups", "not true or false");
    });

    it("refuses an agent path systemd would not run as given", async () => {
        await expectProblem({ backupAgentPath: "secure-etcd" }, "backupAgentPath", "not an absolute path");
        await expectProblem(
            { backupAgentPath: "/opt/my tools/secure-etcd" },
            "backupAgentPath",
            "not an absolute path",
        );
    });

    it("refuses role ARNs and repeated role names", async () => {
        await expectProblem(
            { backupWriterRoleNames: ["arn:aws:iam::123456789012:role/etcd"] },
            "backupWriterRoleNames[0]",
            "not its ARN",
        );
        await expectProblem(
            { backupReaderRoleNames: ["restore", "restore"] },
            "backupReaderRoleNames[1]",
            "name each role once",
        );
    });

    it("refuses a component name that would put a wildcard in the prefix, unless backups are off", async () => {
        const error = await rejectedArgs({ members, vpcId: TEST_VPC_ID }, false, "prod*");
        assert.match(error.message, /- name: "prod\*" becomes the backups' key prefix/);
        const { mocks } = await runProgram(
            () => new SecureEtcdCluster("prod*", { members, vpcId: TEST_VPC_ID, backups: false }),
        );
        assert.ok(mocks.registrations.length > 0);
    });

    it("checks backup settings that arrive as outputs when they resolve, with nothing registered", async () => {
        const interval = await refusedWhenResolved({ members, backupIntervalMinutes: pulumi.output(45) });
        assert.match(interval.error.message, /backupIntervalMinutes: 45 does not repeat evenly every day/);
        const bucket = await refusedWhenResolved({ members, backupBucketName: pulumi.output("Etcd_Backups") });
        assert.match(bucket.error.message, /backupBucketName: "Etcd_Backups" is not a valid S3 bucket name/);
        const lock = await refusedWhenResolved({
            members,
            backupObjectLockDays: pulumi.output(5),
            backupNoncurrentVersionRetentionDays: pulumi.output(7),
        });
        assert.match(
            lock.error.message,
            /backupObjectLockDays: 5 is shorter than backupNoncurrentVersionRetentionDays \(7\)/,
        );
    });

    it("warns that a compliance lock binds everyone", async () => {
        const warnings = await capturedWarnings(() =>
            buildCluster({ members, backupObjectLockMode: BackupObjectLockMode.Compliance }),
        );
        assert.ok(warnings.some((w) => w.startsWith("backupObjectLockMode: COMPLIANCE") && w.includes("root user")));
    });
});
