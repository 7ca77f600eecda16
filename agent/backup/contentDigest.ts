// One SHA-256 over every key and value of an etcd, in key order, read in pages: two clusters with
// the same digest hold the same keys with the same values.
import { createHash } from "crypto";
import { Etcd3 } from "etcd3";

export interface ContentDigest {
    keys: number;
    sha256: string;
}

const PAGE = 500;

export async function contentDigest(client: Etcd3, revision?: number): Promise<ContentDigest> {
    const hash = createHash("sha256");
    const length = Buffer.alloc(4);
    let keys = 0;
    let start = Buffer.from([0]);
    for (;;) {
        const page = await client.kv.range({
            key: start,
            range_end: Buffer.from([0]),
            limit: PAGE,
            ...(revision ? { revision } : {}),
        });
        for (const kv of page.kvs) {
            for (const part of [kv.key, kv.value]) {
                length.writeUInt32BE(part.length);
                hash.update(length);
                hash.update(part);
            }
            keys += 1;
        }
        if (!page.more || page.kvs.length === 0) {
            break;
        }
        // The next page starts just after the last key.
        start = Buffer.concat([page.kvs[page.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { keys, sha256: hash.digest("hex") };
}
