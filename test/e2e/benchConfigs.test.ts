// The hardening benchmark compares four configurations of one cluster; this checks, against real
// etcd, that each one is what the benchmark's table says it is, and that the load generator runs
// against each (a few requests, not a measurement).
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as tls from "tls";
import { Etcd3 } from "etcd3";
import { HardeningConfig, RunningConfig, startConfig } from "../../bench/hardeningBench";
import { LoadResult, LoadSpec } from "../../bench/loadChild";
import { runChild } from "../../bench/stats";

const IPS = ["127.0.2.1", "127.0.2.2", "127.0.2.3"];

function clientOf(running: RunningConfig, endpoint = running.endpoints[0]): Etcd3 {
    return new Etcd3({
        hosts: [endpoint],
        credentials: running.tls && {
            rootCertificate: Buffer.from(running.tls.ca),
            certChain: Buffer.from(running.tls.cert),
            privateKey: Buffer.from(running.tls.key),
        },
        dialTimeout: 3000,
    });
}

/** The key type of the certificate a member serves. */
function servedKeyType(ip: string, creds: NonNullable<RunningConfig["tls"]>): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: ip, port: 2379, ca: creds.ca, cert: creds.cert, key: creds.key }, () => {
            const cert = socket.getPeerX509Certificate();
            socket.destroy();
            resolve(cert?.publicKey.asymmetricKeyType);
        });
        socket.once("error", reject);
    });
}

describe("benchmark configurations on real etcd", function () {
    this.timeout(120_000);
    let running: RunningConfig | undefined;
    afterEach(async () => {
        await running?.cluster.stop();
        running = undefined;
    });

    async function load(r: RunningConfig, rate?: number): Promise<LoadResult> {
        const spec: LoadSpec = {
            rate,
            endpoints: r.endpoints,
            tls: r.tls,
            op: "put",
            total: 64,
            warmup: 8,
            clients: 8,
            conns: 2,
            valueBytes: 256,
            keySpace: 100,
            prefix: "/registry/bench/",
            serverPids: r.cluster.members.map((m) => m.process.pid!),
        };
        return runChild<LoadResult>("loadChild", spec);
    }

    it("plaintext: plain HTTP, no certificates, no auth", async () => {
        running = await startConfig(HardeningConfig.Plaintext, IPS, []);
        assert.deepEqual(
            running.endpoints,
            IPS.map((ip) => `http://${ip}:2379`),
        );
        assert.equal(running.tls, undefined);
        const result = await load(running);
        assert.equal(result.requests, 64);
        assert.ok(result.opsPerSecond > 0 && result.p99Ms >= result.p50Ms);
        assert.ok(result.serverCpuMicrosPerOp > 0, "the members' CPU time is read");
        // At a fixed rate the requests follow the schedule: 64 requests at 200/s cannot finish in
        // less than the 63 intervals between them, however fast the cluster answers.
        const paced = await load(running, 200);
        assert.equal(paced.requests, 64);
        assert.equal(paced.offeredRate, 200);
        assert.ok(paced.seconds >= 63 / 200, `64 requests at 200/s took ${paced.seconds} s`);
    });

    it("kubeadm: mutual TLS with RSA-2048 certificates, a client without a certificate refused, no auth", async () => {
        running = await startConfig(HardeningConfig.Kubeadm, IPS, []);
        assert.equal(await servedKeyType(IPS[0], running.tls!), "rsa");
        const stranger = new Etcd3({
            hosts: [running.endpoints[0]],
            credentials: { rootCertificate: Buffer.from(running.tls!.ca) },
            dialTimeout: 3000,
        });
        try {
            await assert.rejects(stranger.put("/registry/x").value("v").exec());
        } finally {
            stranger.close();
        }
        const client = clientOf(running);
        try {
            await client.put("/outside-registry").value("v").exec();
        } finally {
            client.close();
        }
        assert.equal((await load(running)).requests, 64);
    });

    for (const [config, authOn] of [
        [HardeningConfig.PackageTlsOnly, false],
        [HardeningConfig.Hardened, true],
    ] as const) {
        it(`${config}: the package's ECDSA certificates, auth ${authOn ? "on (RBAC)" : "off"}`, async () => {
            running = await startConfig(config, IPS, []);
            assert.equal(await servedKeyType(IPS[0], running.tls!), "ec");
            const client = clientOf(running);
            try {
                const outside = client.put(`/outside-registry/${crypto.randomUUID()}`).value("v").exec();
                if (authOn) {
                    await assert.rejects(outside, /permission denied/);
                } else {
                    await outside;
                }
            } finally {
                client.close();
            }
            assert.equal((await load(running)).requests, 64);
        });
    }
});
