// One load-generator run against an etcd cluster, in a process of its own so that nothing else shares
// its heap or event loop. The load generator is the `etcd3` client (Debian ships neither etcd's
// `benchmark` tool nor its source): `clients` workers over `conns` client instances, each worker
// with one request in flight at a time, like etcd's own `benchmark --conns --clients`. Without a
// rate the workers go as fast as the cluster answers (saturation); with one, request n is due at
// n / rate seconds and its latency counts from then, not from when a worker was free to send it, so
// a stall is measured in full rather than hidden by fewer requests sent (as wrk2 does).
// Reads a LoadSpec as JSON on stdin (it may carry a client key), prints a LoadResult as JSON.
import { Etcd3 } from "etcd3";
import { childMain, processCpuSeconds } from "./stats";

export interface LoadSpec {
    endpoints: string[];
    /** PEM: the CA to trust, and the client's certificate and key; none for plaintext. */
    tls?: { ca: string; cert: string; key: string };
    op: "put" | "range";
    /** Requests timed. */
    total: number;
    /** Requests issued first and not timed (connections, leader forwarding, JIT). */
    warmup: number;
    clients: number;
    conns: number;
    valueBytes: number;
    /** Keys are `${prefix}${n}` for n below keySpace; puts write them in turn, ranges read them at random. */
    keySpace: number;
    prefix: string;
    /** Processes whose CPU time over the timed requests is reported (the members). */
    serverPids: number[];
    /** Requests per second offered on a fixed schedule; none: as fast as the cluster answers. */
    rate?: number;
}

export interface LoadResult {
    op: "put" | "range";
    /** The fixed rate offered, if any. */
    offeredRate?: number;
    requests: number;
    seconds: number;
    opsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    /** CPU time the load generator spent per request (user + system), in microseconds. */
    clientCpuMicrosPerOp: number;
    /** CPU time the server processes spent per request, all members together, in microseconds. */
    serverCpuMicrosPerOp: number;
}

/** The q-quantile (nearest rank) of ascending values. */
export function quantile(sorted: Float64Array, q: number): number {
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

async function run(spec: LoadSpec): Promise<LoadResult> {
    const clients = Array.from(
        { length: spec.conns },
        () =>
            new Etcd3({
                hosts: spec.endpoints,
                credentials: spec.tls && {
                    rootCertificate: Buffer.from(spec.tls.ca),
                    certChain: Buffer.from(spec.tls.cert),
                    privateKey: Buffer.from(spec.tls.key),
                },
            }),
    );
    const value = Buffer.alloc(spec.valueBytes, "v");
    let next = 0;
    const request = (client: Etcd3, n: number): Promise<unknown> => {
        const key = spec.prefix + (spec.op === "put" ? n % spec.keySpace : Math.floor(Math.random() * spec.keySpace));
        return spec.op === "put" ? client.put(key).value(value).exec() : client.get(key).exec();
    };
    const drive = async (limit: number, latencies?: Float64Array, rate?: number): Promise<void> => {
        next = 0;
        const origin = process.hrtime.bigint();
        // When request n is due, in nanoseconds from the origin: now for a saturation run.
        const due = (n: number) => (rate ? origin + BigInt(Math.round((n * 1e9) / rate)) : process.hrtime.bigint());
        await Promise.all(
            Array.from({ length: spec.clients }, async (_, worker) => {
                const client = clients[worker % clients.length];
                for (let n = next++; n < limit; n = next++) {
                    const scheduled = due(n);
                    const wait = Number(scheduled - process.hrtime.bigint()) / 1e6;
                    if (wait > 0) {
                        await new Promise((resolve) => setTimeout(resolve, wait));
                    }
                    await request(client, n);
                    if (latencies) {
                        latencies[n] = Number(process.hrtime.bigint() - scheduled) / 1e6;
                    }
                }
            }),
        );
    };
    try {
        await drive(spec.warmup);
        const latencies = new Float64Array(spec.total);
        const serverCpu = () => spec.serverPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
        const serverBefore = serverCpu();
        const clientBefore = process.cpuUsage();
        const started = process.hrtime.bigint();
        await drive(spec.total, latencies, spec.rate);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const client = process.cpuUsage(clientBefore);
        const serverSeconds = serverCpu() - serverBefore;
        latencies.sort();
        return {
            op: spec.op,
            offeredRate: spec.rate,
            requests: spec.total,
            seconds,
            opsPerSecond: spec.total / seconds,
            p50Ms: quantile(latencies, 0.5),
            p99Ms: quantile(latencies, 0.99),
            clientCpuMicrosPerOp: (client.user + client.system) / spec.total,
            serverCpuMicrosPerOp: (serverSeconds * 1e6) / spec.total,
        };
    } finally {
        for (const c of clients) {
            c.close();
        }
    }
}

if (require.main === module) {
    childMain(run);
}
