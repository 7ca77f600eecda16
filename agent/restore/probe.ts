// What a restoring member asks etcd: does any member of the cluster answer (then a restore would
// overwrite a running cluster), and, on its own loopback listener during the quarantine, has the
// whole cluster come up (a leader, and every member started: each published its client URLs
// through raft, which a member does only once it runs and has joined).
import { Etcd3 } from "etcd3";
import * as fs from "fs";

export interface EtcdAccess {
    endpoints: string[];
    cacert: string;
    cert: string;
    key: string;
}

function client(access: EtcdAccess, endpoint: string): Etcd3 {
    return new Etcd3({
        hosts: [endpoint],
        credentials: {
            rootCertificate: fs.readFileSync(access.cacert),
            certChain: fs.readFileSync(access.cert),
            privateKey: fs.readFileSync(access.key),
        },
        dialTimeout: 5000,
    });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            promise,
            new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))),
        ]);
    } finally {
        clearTimeout(timer);
    }
}

/** The endpoints where an etcd member answers a status request. */
export async function answers(access: EtcdAccess): Promise<string[]> {
    const answered = await Promise.all(
        access.endpoints.map(async (endpoint) => {
            const c = client(access, endpoint);
            try {
                await withTimeout(c.maintenance.status(), 8000);
                return endpoint;
            } catch {
                return undefined;
            } finally {
                c.close();
            }
        }),
    );
    return answered.filter((e): e is string => e !== undefined);
}

/** What the cluster still lacks to be whole, as seen from `access.endpoints[0]`; undefined when nothing. */
export async function clusterStarted(access: EtcdAccess, memberCount: number): Promise<string | undefined> {
    const c = client(access, access.endpoints[0]);
    try {
        const status = await withTimeout(c.maintenance.status(), 8000);
        if (String(status.leader) === "0") {
            return "a leader";
        }
        const { members } = await withTimeout(c.cluster.memberList({}), 8000);
        const started = members.filter((m) => m.name !== "" && (m.clientURLs ?? []).length > 0);
        if (members.length !== memberCount || started.length !== memberCount) {
            return `every member started (${started.length} of ${memberCount})`;
        }
        return undefined;
    } catch (e) {
        return `this member to answer on ${access.endpoints[0]} (${(e as Error).message})`;
    } finally {
        c.close();
    }
}
