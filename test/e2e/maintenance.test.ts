// Maintenance on real etcd, three members in network namespaces with auth on (the component's
// users: root, the etcd-backup identity with the root role, each member's certificate user without
// it). A member filled to a small quota (quotaBackendBytes: 8 MiB) raises NOSPACE and etcd refuses
// writes; the one-file agent, run on every member at once as the timers would, acts only on the
// leader: it compacts, defragments the followers and then the leader, and disarms the alarm, after
// which writes succeed again. A run on a compact cluster defragments nothing; a run while a member
// is down does nothing and says why; a member's own identity is refused a defragmentation (why the
// run uses etcd-backup).
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import { AlarmAction, AlarmType, Etcd3 } from "etcd3";
import * as fs from "fs";
import { promisify } from "util";
import { MAINTENANCE_CONFIG_PATH, MAINTENANCE_STATE } from "../../src/maintenance/maintenance";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { agentBundle } from "../harness/agentBundle";
import { startNetnsCluster } from "./localCluster";
import { namespaceOf } from "./netns";

const run = promisify(execFile);
const MIB = 1024 * 1024;
const QUOTA = 8 * MIB;

interface Run {
    member: string;
    code: number;
    stdout: string;
    stderr: string;
}

describe("maintenance: defragmentation and NOSPACE on real etcd (one-file agent, auth on)", function () {
    this.timeout(15 * 60_000);
    let cluster: LocalEtcdCluster | undefined;

    const endpointOf = (member: string) => `https://${cluster!.members.find((m) => m.name === member)!.ip}:2379`;

    /** A client as `identity`: "etcd-backup" (root role) or a member's own server certificate. */
    function client(identity: string, endpoints = cluster!.members.map((m) => `https://${m.ip}:2379`)): Etcd3 {
        const rendered = cluster!.rendered;
        const file = (p: string) => rendered.nodeFiles[identity].find((f) => f.path === p)!.content;
        const creds =
            identity === "etcd-backup"
                ? rendered.clientCredentials["etcd-backup"]
                : { certPem: file(NODE_PATHS.serverCert), keyPem: file(NODE_PATHS.serverKey) };
        return new Etcd3({
            hosts: endpoints,
            credentials: {
                rootCertificate: Buffer.from(rendered.etcdCa.certPem),
                certChain: Buffer.from(creds.certPem),
                privateKey: Buffer.from(creds.keyPem),
            },
        });
    }

    async function withClient<T>(identity: string, fn: (c: Etcd3) => Promise<T>, endpoints?: string[]): Promise<T> {
        const c = client(identity, endpoints);
        try {
            return await fn(c);
        } finally {
            c.close();
        }
    }

    /** The member every member follows. */
    async function leader(): Promise<string> {
        return withClient("etcd-backup", async (c) => {
            const status = await c.maintenance.status();
            const { members } = await c.cluster.memberList({});
            return members.find((m) => m.ID === status.leader)!.name;
        });
    }

    /**
     * The one run that maintained the cluster: the leader's when the runs asked (each run asks its
     * own member; every other run says it does not lead). Taken from the runs, not from asking who
     * leads beforehand: on a busy machine an election may come in between.
     */
    function actingRun(runs: Run[]): Run {
        const acting = runs.filter(
            (r) => !/^secure-etcd maintenance: etcd-\d+ (does not|no longer) lead/m.test(r.stdout),
        );
        assert.equal(
            acting.length,
            1,
            `exactly one run acts:\n${runs.map((r) => `${r.member} (exit ${r.code}):\n${r.stdout}${r.stderr}`).join("\n")}`,
        );
        return acting[0];
    }

    async function alarms(): Promise<string[]> {
        return withClient("etcd-backup", async (c) => {
            const r = await c.maintenance.alarm({ action: AlarmAction.Get, memberID: 0, alarm: AlarmType.None });
            return r.alarms.map((a) => String(a.alarm).toUpperCase());
        });
    }

    /** Runs the agent on a member's host (its namespace, its root), as its timer would. */
    async function maintenance(member: string): Promise<Run> {
        const index = cluster!.members.findIndex((m) => m.name === member);
        const argv = [
            "ip",
            "netns",
            "exec",
            namespaceOf(index),
            process.execPath,
            agentBundle(),
            "maintenance",
            "--config",
            cluster!.onHost(member, MAINTENANCE_CONFIG_PATH),
            "--root",
            cluster!.onHost(member, "/"),
        ];
        try {
            const { stdout, stderr } = await run(argv[0], argv.slice(1), { encoding: "utf8" });
            return { member, code: 0, stdout, stderr };
        } catch (e) {
            const failed = e as { code?: number; stdout?: string; stderr?: string };
            return { member, code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
        }
    }

    const metrics = (member: string) => fs.readFileSync(cluster!.onHost(member, MAINTENANCE_STATE.metricsPath), "utf8");
    const metric = (member: string, name: string) =>
        Number(new RegExp(`^secure_etcd_maintenance_${name}\\{[^}]*\\} (\\S+)$`, "m").exec(metrics(member))?.[1]);

    before(async function () {
        cluster = await startNetnsCluster({ quotaBackendBytes: QUOTA });
        // What the RBAC bootstrap leaves (test/e2e/rbac.test.ts runs the script itself): root, the
        // etcd-backup identity with the root role, each member's certificate user without it.
        await withClient("etcd-backup", async (c) => {
            await c.role("root").create();
            await c.user("root").create(crypto.randomBytes(18).toString("base64"));
            await c.user("root").addRole("root");
            await c.user("etcd-backup").create(crypto.randomBytes(18).toString("base64"));
            await c.user("etcd-backup").addRole("root");
            for (const m of cluster!.members) {
                await c.user(m.name).create(crypto.randomBytes(18).toString("base64"));
            }
            await c.auth.authEnable();
        });
        // A linearizable read on each member returns only once that member applied everything
        // committed before it, auth enable included: the checks below see auth on everywhere.
        for (const m of cluster.members) {
            await withClient("etcd-backup", (c) => c.get("/secure-etcd/applied").string(), [endpointOf(m.name)]);
        }
    });

    after(async function () {
        await cluster?.stop();
    });

    it("a member's own identity is refused a defragmentation (and, from 3.4.42, 3.5.28 and 3.6.9, a disarm); etcd-backup's root role is not", async function () {
        const member = cluster!.members[0].name;
        const disarm = { action: AlarmAction.Deactivate, memberID: 0, alarm: AlarmType.Nospace };
        // etcd checked nothing on Alarm before these releases (authMaintenanceServer had no Alarm).
        const [minor, patch] = cluster!.etcd.version.split(".").slice(1).map(Number);
        const disarmNeedsRoot =
            minor > 6 || (minor === 6 && patch >= 9) || (minor === 5 && patch >= 28) || (minor === 4 && patch >= 42);
        // A client per request: the etcd3 client's circuit breaker opens after a refusal.
        const asMember = <T>(fn: (c: Etcd3) => Promise<T>) => withClient(member, fn, [endpointOf(member)]);
        await asMember((c) => assert.rejects(c.maintenance.defragment({}), /permission denied/));
        if (disarmNeedsRoot) {
            await asMember((c) => assert.rejects(c.maintenance.alarm(disarm), /permission denied/));
        } else {
            await asMember((c) => c.maintenance.alarm(disarm));
        }
        // Status needed the root role from 3.4.42, in 3.5.28 to 3.5.31 and in 3.6.0 to 3.6.11: node
        // sync's health check, which asks it as the member, is refused there; maintenance asks as etcd-backup.
        const statusNeedsRoot =
            (minor === 4 && patch >= 42) || (minor === 5 && patch >= 28 && patch <= 31) || (minor === 6 && patch <= 11);
        if (statusNeedsRoot) {
            await asMember((c) => assert.rejects(c.maintenance.status(), /permission denied/));
        } else {
            await asMember((c) => c.maintenance.status());
        }
        await withClient(
            "etcd-backup",
            async (c) => {
                await c.maintenance.defragment({});
                await c.maintenance.alarm(disarm);
            },
            [endpointOf(member)],
        );
    });

    it("on a compact cluster the leader's run defragments nothing, and the others leave it to the leader", async function () {
        const runs = await Promise.all(cluster!.members.map((m) => maintenance(m.name)));
        const lead = actingRun(runs).member;
        for (const r of runs) {
            assert.equal(r.code, 0, `${r.member}: ${r.stderr}`);
            if (r.member === lead) {
                assert.match(r.stdout, /nothing to defragment/);
                assert.doesNotMatch(r.stdout, /^secure-etcd maintenance: defragmenting/m);
                assert.equal(r.stdout.match(/not defragmenting etcd-\d: /g)?.length, 3, r.stdout);
            } else {
                assert.match(r.stdout, new RegExp(`${r.member} does not lead: the leader's run maintains the cluster`));
            }
            assert.equal(metric(r.member, "consecutive_failures"), 0);
            assert.equal(metric(r.member, "space_alarm"), 0);
        }
    });

    it("a member filled to its quota raises NOSPACE; the leader's run compacts, defragments the leader last and disarms; writes succeed again", async function () {
        const value = crypto.randomBytes(16 * 1024).toString("base64");
        // Overwriting 50 keys: the history, not the live data, fills the quota.
        let refusal: Error | undefined;
        await withClient("etcd-backup", async (c) => {
            for (let i = 0; i < 20_000 && !refusal; i++) {
                await c
                    .put(`/fill/${i % 50}`)
                    .value(value)
                    .catch((e: Error) => (refusal = e));
            }
        });
        assert.match(String(refusal?.message), /database space exceeded/);
        // Every member applies the same writes, so each raises its own alarm.
        assert.ok((await alarms()).every((a) => a === "NOSPACE"));
        await withClient("etcd-backup", async (c) => {
            await assert.rejects(c.put("/after").value("x").exec(), /database space exceeded/);
        });

        const runs = await Promise.all(cluster!.members.map((m) => maintenance(m.name)));
        const acting = actingRun(runs);
        const lead = acting.member;
        assert.equal(acting.code, 0, acting.stderr + acting.stdout);
        for (const r of runs.filter((r) => r.member !== lead)) {
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.stdout, /does not lead/);
            assert.doesNotMatch(r.stdout, /^secure-etcd maintenance: defragmenting/m);
        }
        const order = [...acting.stdout.matchAll(/^secure-etcd maintenance: defragmenting (etcd-\d) \((\w+)\)/gm)].map(
            (m) => `${m[1]} ${m[2]}`,
        );
        const followers = cluster!.members.map((m) => m.name).filter((n) => n !== lead);
        // Once, or twice when defragmenting alone left a database at the quota (then compacted, again).
        const pass = [...followers.map((f) => `${f} follower`), `${lead} leader`];
        assert.ok(order.length === 3 || order.length === 6, acting.stdout);
        assert.deepEqual(order, order.length === 3 ? pass : [...pass, ...pass], acting.stdout);
        assert.match(acting.stdout, /compacting to revision \d+/);
        assert.match(acting.stdout, /disarmed the NOSPACE alarm/);
        // What the run did, for the record (sizes before and after each member).
        process.stdout.write(`${acting.stdout.trimEnd().replace(/^/gm, "      | ")}\n`);

        assert.deepEqual(await alarms(), []);
        await withClient("etcd-backup", async (c) => {
            await c.put("/after").value("x");
            assert.equal(await c.get("/after").string(), "x");
        });
        assert.equal(metric(lead, "space_alarm"), 0);
        assert.equal(metric(lead, "defragmented_members"), 3);
        for (const m of cluster!.members) {
            const size = await withClient("etcd-backup", (c) => c.maintenance.status(), [endpointOf(m.name)]);
            assert.ok(Number(size.dbSize) < QUOTA, `${m.name}: ${size.dbSize} bytes after the run`);
        }
    });

    it("a fragmented cluster (thresholds from the next pulumi up): followers first, the leader last, no alarm involved", async function () {
        // The next `pulumi up` lowers the free-page floor; only the maintenance configuration changes.
        const next = await cluster!.renderNext({ quotaBackendBytes: QUOTA, defragmentationMinFragmentedBytes: MIB });
        for (const m of cluster!.members) {
            const config = next.nodeFiles[m.name].find((f) => f.path === MAINTENANCE_CONFIG_PATH)!;
            assert.match(config.content, /"minFragmentedBytes": 1048576/);
            cluster!.writeMemberFiles(m.name, [config]);
        }
        // About 3 MiB written, then deleted and compacted away: free pages, well below the quota.
        const value = crypto.randomBytes(16 * 1024).toString("base64");
        const revision = await withClient("etcd-backup", async (c) => {
            for (let i = 0; i < 140; i++) {
                await c.put(`/fragment/${i}`).value(value);
            }
            await c.delete().prefix("/fragment/");
            const r = await c.put("/fragment-done").value("x");
            return Number(r.header.revision);
        });
        await withClient("etcd-backup", (c) => c.kv.compact({ revision, physical: true }));
        // `physical` waits for the member that answered; the others apply the compaction on their own
        // time, and bbolt counts the pages a commit freed as free only after a later commit. Until
        // then a member's pages are still in use and the run rightly leaves it alone: write (every
        // member commits it) until each member reports its pages free.
        for (const m of cluster!.members) {
            const deadline = Date.now() + 120_000;
            for (;;) {
                await withClient("etcd-backup", (c) => c.put("/fragment-flush").value(String(Date.now())).exec());
                const status = await withClient("etcd-backup", (c) => c.maintenance.status(), [
                    `https://${m.ip}:2379`,
                ]).catch(() => undefined);
                if (status && Number(status.dbSizeInUse) < Number(status.dbSize) / 2) {
                    break;
                }
                assert.ok(
                    Date.now() < deadline,
                    `${m.name} did not free the compacted pages within two minutes: ${status ? `${status.dbSizeInUse} of ${status.dbSize} bytes in use` : "no status"}`,
                );
                await new Promise((resolve) => setTimeout(resolve, 500));
            }
        }
        const runs = await Promise.all(cluster!.members.map((m) => maintenance(m.name)));
        const acting = actingRun(runs);
        const lead = acting.member;
        assert.equal(acting.code, 0, acting.stderr + acting.stdout);
        const order = [
            ...acting.stdout.matchAll(/^secure-etcd maintenance: defragmenting (etcd-\d) \((\w+)\): (.*)$/gm),
        ];
        const followers = cluster!.members.map((m) => m.name).filter((n) => n !== lead);
        assert.deepEqual(
            order.map((m) => `${m[1]} ${m[2]}`),
            [...followers.map((f) => `${f} follower`), `${lead} leader`],
            acting.stdout,
        );
        for (const m of order) {
            assert.match(m[3], /% of its [\d.]+ MiB database is free pages \(threshold 50 %\)/);
        }
        assert.doesNotMatch(acting.stdout, /compacting|NOSPACE/);
        process.stdout.write(`${acting.stdout.trimEnd().replace(/^/gm, "      | ")}\n`);
        assert.deepEqual(await alarms(), []);
    });

    it("while a member is down the run does nothing and says which member", async function () {
        const lead = await leader();
        const down = cluster!.members.find((m) => m.name !== lead)!;
        await cluster!.stopMember(down);
        try {
            // Every member that runs: whichever leads by then refuses (a follower's run only says it does not lead).
            const runs = await Promise.all(cluster!.members.filter((m) => m !== down).map((m) => maintenance(m.name)));
            const r = actingRun(runs);
            assert.equal(r.code, 1, r.stdout);
            assert.match(
                r.stderr,
                new RegExp(
                    `the cluster is not healthy, not defragmenting: ${down.name} \\(https://${down.ip}:2379\\) does not answer`,
                ),
            );
            assert.doesNotMatch(r.stdout, /^secure-etcd maintenance: defragmenting/m);
            assert.equal(metric(r.member, "consecutive_failures"), 1);
        } finally {
            await cluster!.restartMember(down.name);
        }
    });
});
