// A single-member etcd on loopback: restore-verify starts one on a restored data dir to prove the
// backup serves its keys (the benchmark, on an empty one). Its CA is made for this run only and its
// client certificate says CN=root: a restored cluster keeps its RBAC, and root is the one user
// every auth-enabled etcd has.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { Etcd3 } from "etcd3";
import { issueLeaf, newCa } from "../issue";

export interface ThrowawayEtcd {
    client: Etcd3;
    /** `https://127.0.0.1:<port>`. */
    clientUrl: string;
    /** The CA and the root client's certificate and key, as root-only files under `workDir/pki`. */
    files: { cacert: string; cert: string; key: string };
    stop(): Promise<void>;
}

export interface ThrowawayEtcdOptions {
    dataDir: string;
    name: string;
    /** Its (plaintext, loopback) peer URL; a restored data dir must be started with the one it was restored for. */
    peerUrl: string;
    /** Where the certificates and the log go. */
    workDir: string;
    /** More etcd flags, e.g. a larger `--quota-backend-bytes`. */
    extraFlags?: string[];
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen({ host: "127.0.0.1", port: 0 }, () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

export async function startThrowawayEtcd(options: ThrowawayEtcdOptions): Promise<ThrowawayEtcd> {
    const { dataDir, name, peerUrl, workDir } = options;
    const ca = await newCa("secure-etcd restore-verify CA");
    const server = await issueLeaf({ ca, commonName: name, ipAddresses: ["127.0.0.1"], serverAuth: true });
    const root = await issueLeaf({ ca, commonName: "root" });
    const pki = path.join(workDir, "pki");
    fs.mkdirSync(pki, { mode: 0o700, recursive: true });
    const write = (file: string, content: string) => {
        fs.writeFileSync(path.join(pki, file), content, { mode: 0o600 });
        return path.join(pki, file);
    };
    const files = {
        cacert: write("ca.crt", ca.certPem),
        cert: write("root.crt", root.certPem),
        key: write("root.key", root.keyPem),
    };
    const clientPort = await freePort();
    const clientUrl = `https://127.0.0.1:${clientPort}`;
    const log = fs.openSync(path.join(workDir, "etcd.log"), "a", 0o600);
    const child: ChildProcess = spawn(
        "etcd",
        [
            `--name=${name}`,
            `--data-dir=${dataDir}`,
            `--listen-client-urls=${clientUrl}`,
            `--advertise-client-urls=${clientUrl}`,
            `--listen-peer-urls=${peerUrl}`,
            `--initial-advertise-peer-urls=${peerUrl}`,
            `--initial-cluster=${name}=${peerUrl}`,
            "--client-cert-auth=true",
            `--trusted-ca-file=${files.cacert}`,
            `--cert-file=${write("server.crt", server.certPem)}`,
            `--key-file=${write("server.key", server.keyPem)}`,
            ...(options.extraFlags ?? []),
        ],
        { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const client = new Etcd3({
        hosts: [clientUrl],
        credentials: {
            rootCertificate: Buffer.from(ca.certPem),
            certChain: Buffer.from(root.certPem),
            privateKey: Buffer.from(root.keyPem),
        },
        dialTimeout: 2000,
    });
    const stop = async () => {
        client.close();
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(timer);
        }
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
        try {
            await client.maintenance.status();
            return { client, clientUrl, files, stop };
        } catch (e) {
            if (child.exitCode !== null || Date.now() > deadline) {
                await stop();
                const tail = fs.readFileSync(path.join(workDir, "etcd.log"), "utf8").split("\n").slice(-5).join("\n");
                throw new Error(`the restored etcd did not start: ${(e as Error).message}\n${tail}`);
            }
            await new Promise((r) => setTimeout(r, 200));
        }
    }
}
