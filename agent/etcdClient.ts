// The node agent's etcd clients: mutual TLS from the member's files (or, for membership changes, a
// credential held in memory), and a deadline for calls the client would otherwise wait on forever.
import { Etcd3 } from "etcd3";
import * as fs from "fs";
import { onHost } from "./sync/files";

/** Where a member's etcd client finds its endpoints and its TLS files. */
export interface EtcdAccess {
    endpoints: string[];
    cacert: string;
    cert: string;
    key: string;
}

/** A client certificate and key held in memory (never written to the node). */
export interface InMemoryCredential {
    certPem: string;
    keyPem: string;
}

/** A client on `endpoints`, as the member's own identity, or as `credential` when one is given. */
export function etcdClient(access: EtcdAccess, endpoints: string[], credential?: InMemoryCredential): Etcd3 {
    return new Etcd3({
        hosts: endpoints,
        credentials: {
            rootCertificate: fs.readFileSync(access.cacert),
            certChain: credential ? Buffer.from(credential.certPem) : fs.readFileSync(access.cert),
            privateKey: credential ? Buffer.from(credential.keyPem) : fs.readFileSync(access.key),
        },
        dialTimeout: 5000,
    });
}

/** `promise`, or an error naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
        return await Promise.race([
            promise,
            new Promise<T>(
                (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
            ),
        ]);
    } finally {
        clearTimeout(timer);
    }
}

/** A rendered configuration's endpoints and TLS files, the files found under `root` (a node's "/"). */
export function accessUnder(config: EtcdAccess, root: string): EtcdAccess {
    return {
        endpoints: config.endpoints,
        cacert: onHost(root, config.cacert),
        cert: onHost(root, config.cert),
        key: onHost(root, config.key),
    };
}
