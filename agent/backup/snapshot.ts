// Reading a snapshot from etcd as a byte stream, with the facts a backup records about it.
import * as fs from "fs";
import { Etcd3 } from "etcd3";
import { Readable, Transform, TransformCallback } from "stream";
import { createHash, Hash } from "crypto";

export interface EtcdConnection {
    endpoints: string[];
    cacert: string;
    cert: string;
    key: string;
}

/** A client for one endpoint, authenticated by the backup certificate (etcd maps its CN to a user). */
export function connect(connection: EtcdConnection, endpoint: string): Etcd3 {
    const read = (what: string, file: string) => {
        try {
            return fs.readFileSync(file);
        } catch (e) {
            throw new Error(`${what} ${file}: ${(e as Error).message}`);
        }
    };
    return new Etcd3({
        hosts: [endpoint],
        credentials: {
            rootCertificate: read("--cacert", connection.cacert),
            certChain: read("--cert", connection.cert),
            privateKey: read("--key", connection.key),
        },
        dialTimeout: 5000,
    });
}

export interface MemberStatus {
    memberId: string;
    leaderId: string;
    revision: number;
    version: string;
    dbSize: number;
}

export async function memberStatus(client: Etcd3): Promise<MemberStatus> {
    const status = await client.maintenance.status();
    return {
        memberId: String(status.header.member_id),
        leaderId: String(status.leader),
        revision: Number(status.header.revision),
        version: status.version,
        dbSize: Number(status.dbSize),
    };
}

/** etcd's snapshot stream as bytes; `revision` and `totalBytes` are known after the first message. */
export class SnapshotBytes extends Transform {
    revision = 0;
    totalBytes = 0;
    private first = true;

    constructor() {
        super({ writableObjectMode: true, readableObjectMode: false });
    }

    override _transform(
        message: { blob: Buffer; remaining_bytes: string | number; header?: { revision?: string | number } },
        _encoding: BufferEncoding,
        done: TransformCallback,
    ): void {
        if (this.first) {
            this.first = false;
            this.revision = Number(message.header?.revision ?? 0);
            // remaining_bytes counts the database only; etcd's SHA-256 trailer follows it.
            this.totalBytes = message.blob.length + Number(message.remaining_bytes) + 32;
            this.emit("started", { revision: this.revision, totalBytes: this.totalBytes });
        }
        done(null, message.blob);
    }
}

/** Opens the snapshot stream of the member behind `client`. */
export async function snapshotStream(client: Etcd3): Promise<Readable> {
    // etcd3 returns gRPC's readable stream; its type only declares the events.
    return (await client.maintenance.snapshot()) as unknown as Readable;
}

/**
 * Passes the snapshot through while measuring it: its size, the SHA-256 of every byte (what
 * `sha256sum` of the saved file prints), and etcd's own integrity check — a snapshot from the
 * Maintenance API ends with the SHA-256 of the bytes before it. A stream that ends early or was
 * altered fails here, before the upload is completed, so it never becomes a backup.
 */
export class SnapshotIntegrity extends Transform {
    bytes = 0;
    sha256 = "";
    /** Hashes everything but the last 32 bytes seen; the trailer is added at the end. */
    private readonly body: Hash = createHash("sha256");
    /** The last 32 bytes seen: the trailer, once the stream ends. */
    private tail: Buffer = Buffer.alloc(0);

    constructor(private readonly expectedBytes: () => number) {
        super();
    }

    override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
        this.bytes += chunk.length;
        if (chunk.length >= 32) {
            this.body.update(this.tail);
            this.body.update(chunk.subarray(0, chunk.length - 32));
            this.tail = Buffer.from(chunk.subarray(chunk.length - 32));
        } else {
            const joined = Buffer.concat([this.tail, chunk]);
            const cut = Math.max(0, joined.length - 32);
            this.body.update(joined.subarray(0, cut));
            this.tail = joined.subarray(cut);
        }
        done(null, chunk);
    }

    override _flush(done: TransformCallback): void {
        const expected = this.expectedBytes();
        if (expected > 0 && this.bytes !== expected) {
            done(new Error(`snapshot stream ended after ${this.bytes} of ${expected} bytes`));
            return;
        }
        // One pass over the data: the body's digest from a copy of the running hash, then the
        // whole file's by adding the trailer to it.
        if (this.tail.length < 32 || !this.body.copy().digest().equals(this.tail)) {
            done(new Error("snapshot failed etcd's integrity check (its trailing SHA-256 does not match its content)"));
            return;
        }
        this.sha256 = this.body.update(this.tail).digest("hex");
        done();
    }
}

/**
 * Regroups a stream into chunks of `size` bytes (the last may be shorter). etcd sends 32 KiB
 * messages; every later stage costs per chunk, and the encryption frame is 1 MiB.
 */
export class Rechunk extends Transform {
    private parts: Buffer[] = [];
    private held = 0;

    constructor(private readonly size: number) {
        super();
    }

    override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
        this.parts.push(chunk);
        this.held += chunk.length;
        if (this.held >= this.size) {
            const all = Buffer.concat(this.parts, this.held);
            let offset = 0;
            for (; all.length - offset >= this.size; offset += this.size) {
                this.push(all.subarray(offset, offset + this.size));
            }
            this.parts = offset < all.length ? [all.subarray(offset)] : [];
            this.held = all.length - offset;
        }
        done();
    }

    override _flush(done: TransformCallback): void {
        if (this.held > 0) {
            this.push(Buffer.concat(this.parts, this.held));
        }
        done();
    }
}
