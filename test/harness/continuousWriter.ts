// A client that writes continuously while a day-2 change happens underneath, as kube-apiserver
// would: one put after another across every member's endpoint, with the etcd client's own fault
// handling (it retries a recoverable error on another member) and, like kube-apiserver's etcd
// client, further tries of the same write while a member restarts or a leader is elected (an
// attempt refused then says "leader changed" or "circuit breaker is open"). A write is failed when
// no try is acknowledged within WRITE_DEADLINE_MS; every try that did not succeed is counted. A
// test can then say "zero failed requests, zero lost acknowledged writes" from what it saw.
import { Etcd3 } from "etcd3";

export interface ClientCredentials {
    certPem: string;
    keyPem: string;
    caCertPem: string;
}

export interface WriteFailure {
    key: string;
    at: string;
    error: string;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How long one write may take, retries included, before it counts as failed. */
export const WRITE_DEADLINE_MS = 15_000;

function clientFor(endpoints: string[], credentials: ClientCredentials): Etcd3 {
    return new Etcd3({
        hosts: endpoints,
        credentials: {
            rootCertificate: Buffer.from(credentials.caCertPem),
            certChain: Buffer.from(credentials.certPem),
            privateKey: Buffer.from(credentials.keyPem),
        },
        dialTimeout: 5000,
    });
}

export class ContinuousWriter {
    /** Every write the cluster acknowledged: key to value. */
    readonly acknowledged = new Map<string, string>();
    readonly failures: WriteFailure[] = [];
    /** Tries that were not acknowledged but a later try of the same write was. */
    retriedAttempts = 0;
    private client: Etcd3;
    private retired: Etcd3[] = [];
    private running?: Promise<void>;
    private stopping = false;

    constructor(
        private readonly endpoints: string[],
        credentials: ClientCredentials,
        private readonly prefix = "/registry/secure-etcd-e2e/writer/",
    ) {
        this.client = clientFor(endpoints, credentials);
    }

    /** Starts writing; resolves once the first write was acknowledged (the writer works). */
    async start(): Promise<void> {
        this.running = this.loop();
        while (this.acknowledged.size === 0) {
            if (this.failures.length > 0) {
                throw new Error(`the writer's first write failed: ${this.failures[0].error}`);
            }
            await delay(100);
        }
    }

    /**
     * Later writes use these credentials (a client restarted with its renewed certificate); the
     * old client is closed when the writer stops.
     */
    useCredentials(credentials: ClientCredentials): void {
        this.retired.push(this.client);
        this.client = clientFor(this.endpoints, credentials);
    }

    private async loop(): Promise<void> {
        for (let n = 0; !this.stopping; n++) {
            const key = `${this.prefix}${String(n).padStart(8, "0")}`;
            const value = `value-${n}`;
            const deadline = Date.now() + WRITE_DEADLINE_MS;
            for (;;) {
                try {
                    await this.client.put(key).value(value);
                    this.acknowledged.set(key, value);
                    break;
                } catch (e) {
                    if (Date.now() > deadline || this.stopping) {
                        this.failures.push({ key, at: new Date().toISOString(), error: (e as Error).message });
                        break;
                    }
                    this.retriedAttempts++;
                    await delay(250);
                }
            }
            await delay(20);
        }
    }

    /** Stops writing, reads every acknowledged write back with `reader`, and closes its clients. */
    async stop(reader?: ClientCredentials): Promise<{ lost: string[] }> {
        this.stopping = true;
        await this.running;
        const lost: string[] = [];
        if (reader) {
            const check = clientFor(this.endpoints, reader);
            try {
                const stored = await check.getAll().prefix(this.prefix).strings();
                for (const [key, value] of this.acknowledged) {
                    if (stored[key] !== value) {
                        lost.push(key);
                    }
                }
            } finally {
                check.close();
            }
        }
        for (const c of [this.client, ...this.retired]) {
            c.close();
        }
        return { lost };
    }
}
