// Restarting etcd on one member without ever taking two down: a lock held in etcd itself (a key
// created only if absent, bound to a lease that ends if the holder dies), a health check of every
// other member before anything is written, and a wait until the restarted member reports healthy
// again before the lock is let go.
import * as fs from "fs";
import { EtcdAccess, etcdClient, withTimeout } from "../etcdClient";
import * as http from "http";
import * as https from "https";

export type { EtcdAccess };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ClusterHealth {
    /** Why the cluster is not healthy enough to restart a member; empty when it is. */
    problems: string[];
}

/**
 * Whether every voting member except `except` (this member's endpoint: restarting it is what is
 * being decided) is healthy by its own `/health` on the client port: it reaches a leader, serves a
 * linearizable read (etcd counts a permission refusal of that read as healthy) and has no alarm
 * raised (NOSPACE, CORRUPT). `/health` needs no role on any release; the maintenance Status call
 * needs the root role from 3.5 on, which node sync's identity does not have.
 */
export async function clusterHealth(access: EtcdAccess, except?: string): Promise<ClusterHealth> {
    const problems: string[] = [];
    for (const endpoint of (await voterEndpoints(access, problems)).filter((e) => e !== except)) {
        const answer = await httpsHealth(access, endpoint);
        if (answer !== true) {
            problems.push(`${endpoint} ${answer}`);
        }
    }
    return { problems };
}

/** GET `<endpoint>/health` with this member's client certificate: true, or why not ("does not answer ...", "is not healthy ..."). */
export function httpsHealth(access: EtcdAccess, endpoint: string): Promise<true | string> {
    return new Promise((resolve) => {
        const req = https.get(
            `${endpoint}/health`,
            {
                ca: fs.readFileSync(access.cacert),
                cert: fs.readFileSync(access.cert),
                key: fs.readFileSync(access.key),
                agent: false,
                timeout: 10_000,
            },
            (res) => {
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () => {
                    let health: { health?: string; reason?: string } = {};
                    try {
                        health = JSON.parse(body) as { health?: string; reason?: string };
                    } catch {
                        // reported below
                    }
                    resolve(health.health === "true" ? true : `is not healthy: ${res.statusCode} ${body.trim()}`);
                });
                res.on("error", (e) => resolve(`does not answer: ${e.message}`));
            },
        );
        req.on("error", (e) => resolve(`does not answer: ${e.message}`));
        req.on("timeout", () => req.destroy(new Error("no answer in 10 s")));
    });
}

/**
 * The client URLs of etcd's voting members: learners and members that join count toward no quorum,
 * so their state never holds back a restart. A voter that has not started is a problem. When no
 * member answers a member list, every configured endpoint (each then reported as not answering).
 */
async function voterEndpoints(access: EtcdAccess, problems: string[]): Promise<string[]> {
    for (const endpoint of access.endpoints) {
        const c = etcdClient(access, [endpoint]);
        try {
            const { members } = await withTimeout(c.cluster.memberList({ linearizable: true }), 10_000, endpoint);
            const voters = members.filter((m) => !m.isLearner);
            for (const m of voters.filter((v) => v.clientURLs.length === 0)) {
                problems.push(`voting member ${m.peerURLs.join(",")} has not started`);
            }
            return voters.flatMap((m) => m.clientURLs.slice(0, 1));
        } catch {
            // The next endpoint.
        } finally {
            c.close();
        }
    }
    return access.endpoints;
}

export interface HeldLock {
    release(): Promise<void>;
}

/**
 * Takes the restart lock: creates `key` (holding `holder`) only if no one holds it, bound to a
 * lease kept alive while held. Waits up to `waitSeconds` for a holder to let go.
 */
export async function acquireRestartLock(
    access: EtcdAccess,
    key: string,
    holder: string,
    ttlSeconds: number,
    waitSeconds: number,
    log: (line: string) => void,
): Promise<HeldLock> {
    const c = etcdClient(access, access.endpoints);
    const deadline = Date.now() + waitSeconds * 1000;
    try {
        for (;;) {
            const lease = c.lease(ttlSeconds);
            const leaseId = await lease.grant();
            const result = await c
                .if(key, "Create", "==", 0)
                .then(c.put(key).value(holder).lease(leaseId))
                .else(c.get(key))
                .commit();
            if (result.succeeded) {
                return {
                    release: async () => {
                        try {
                            await lease.revoke();
                        } finally {
                            c.close();
                        }
                    },
                };
            }
            await lease.revoke();
            const held = result.responses[0]?.response_range?.kvs[0]?.value.toString() ?? "another member";
            if (Date.now() > deadline) {
                throw new Error(`the restart lock ${key} is held by ${held} for longer than ${waitSeconds} s`);
            }
            log(`waiting for the restart lock ${key}, held by ${held}`);
            await delay(2000);
        }
    } catch (e) {
        c.close();
        throw e;
    }
}

/** Plain HTTP GET on the loopback metrics listener; undefined when nothing answers. */
export function httpGet(url: string): Promise<string | undefined> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve(res.statusCode === 200 ? body : undefined));
            res.on("error", () => resolve(undefined));
        });
        req.on("error", () => resolve(undefined));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

/** The local etcd process's start time, from its metrics; undefined when it does not answer. */
export async function memberStartTime(metricsUrl: string): Promise<number | undefined> {
    const text = await httpGet(`${metricsUrl}/metrics`);
    const m = text && /^process_start_time_seconds\s+(\S+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
}

export async function memberHealthy(metricsUrl: string): Promise<boolean> {
    return ((await httpGet(`${metricsUrl}/health`)) ?? "").includes('"health":"true"');
}

/**
 * Waits until the local etcd runs as a new process (the kubelet restarted it after the manifest
 * changed) and reports healthy.
 */
export async function waitForRestart(metricsUrl: string, startedBefore: number | undefined, timeoutSeconds: number) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
        const started = await memberStartTime(metricsUrl);
        if (started !== undefined && started !== startedBefore && (await memberHealthy(metricsUrl))) {
            return;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `etcd did not come back healthy as a new process within ${timeoutSeconds} s of its manifest changing (is the kubelet running?)`,
            );
        }
        await delay(1000);
    }
}
