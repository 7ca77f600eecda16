// The benchmarks' pure parts: the configurations the hardening tax compares (they must differ in
// their security settings only), and the statistics every table is made of.
import { strict as assert } from "assert";
import {
    fixedRates,
    HardeningConfig,
    HardeningMeasurement,
    HardeningOptions,
    kubeadmCommand,
    plaintextCommand,
} from "../../bench/hardeningBench";
import { quantile } from "../../bench/loadChild";
import { median, spread } from "../../bench/stats";
import { renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";

const members = [
    { name: "etcd-0", ip: "127.0.1.1" },
    { name: "etcd-1", ip: "127.0.1.2" },
    { name: "etcd-2", ip: "127.0.1.3" },
];

function rendered(version: string): string[] {
    const flags = renderEtcdFlags({
        member: members[0],
        members,
        clusterToken: "bench",
        version: parseEtcdVersion(version)!,
    });
    return ["etcd", ...flags];
}

const names = (command: string[]) => command.slice(1).map((f) => f.split("=")[0]);
const TLS_SETTINGS = ["--cipher-suites", "--tls-min-version", "--tls-max-version", "--auto-tls", "--peer-auto-tls"];

describe("benchmark configurations", function () {
    for (const version of ["3.4.23", "3.5.21", "3.6.4"]) {
        describe(`etcd ${version}`, () => {
            const hardened = rendered(version);
            const kubeadm = kubeadmCommand(hardened);
            const plaintext = plaintextCommand(hardened);

            it("kubeadm's configuration keeps mutual TLS and drops every TLS setting kubeadm does not make", () => {
                assert.equal(kubeadm[0], "etcd");
                for (const flag of ["--client-cert-auth=true", "--peer-client-cert-auth=true"]) {
                    assert.ok(kubeadm.includes(flag), flag);
                }
                assert.ok(
                    names(hardened).some((n) => TLS_SETTINGS.slice(0, 2).includes(n)),
                    "the package sets cipher suites or a TLS minimum",
                );
                for (const name of TLS_SETTINGS) {
                    assert.ok(!names(kubeadm).includes(name), name);
                }
                assert.ok(
                    kubeadm.every((f) => hardened.includes(f)),
                    "only drops flags, never changes one",
                );
            });

            it("all configurations share the flags that are not about security", () => {
                const security = /cert|crl|trusted-ca|key-file|cipher|tls|url|initial-cluster=/;
                const shared = hardened.slice(1).filter((f) => !security.test(f.split("=")[0] + "="));
                assert.ok(shared.length >= 8, shared.join(" "));
                for (const value of shared) {
                    assert.ok(kubeadm.includes(value), `kubeadm: ${value}`);
                    assert.ok(plaintext.includes(value), `plaintext: ${value}`);
                }
            });

            it("the plaintext configuration has no TLS at all: http URLs, no certificate flags", () => {
                assert.ok(plaintext.every((f) => !f.includes("https://")));
                assert.ok(plaintext.some((f) => f.startsWith("--listen-client-urls=http://127.0.1.1:2379")));
                assert.ok(plaintext.some((f) => f.startsWith("--initial-cluster=etcd-0=http://127.0.1.1:2380,")));
                for (const name of names(plaintext)) {
                    assert.doesNotMatch(name, /cert|trusted-ca|key-file|cipher|tls/, name);
                }
                assert.deepEqual(
                    names(plaintext),
                    names(kubeadm).filter((n) => !/cert|trusted-ca|key-file/.test(n)),
                );
            });
        });
    }
});

describe("benchmark statistics", function () {
    it("takes the nearest-rank quantile of ascending values", () => {
        const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
        assert.equal(quantile(values, 0.5), 50);
        assert.equal(quantile(values, 0.99), 99);
        assert.equal(quantile(values, 1), 100);
        assert.equal(quantile(Float64Array.of(7), 0.99), 7);
    });

    it("reports the median with the spread of all runs", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(spread([30.04, 10, 20]), "20.0 (10.0-30.0)");
        assert.equal(spread([1234.4, 1000, 1100], 0), "1100 (1000-1234)");
    });
});

describe("the hardening benchmark's fixed offered rate", function () {
    const options = (fixedRate: HardeningOptions["fixedRate"]): HardeningOptions => ({
        rounds: 3,
        ips: [],
        configs: [HardeningConfig.Plaintext, HardeningConfig.Hardened],
        load: { total: 1, warmup: 0, clients: 1, conns: 1, valueBytes: 1, keySpace: 1, prefix: "" },
        fixedRate,
    });
    const run = (config: HardeningConfig, op: "put" | "range", opsPerSecond: number) =>
        ({ config, op, opsPerSecond, shape: "saturation", round: 0 }) as HardeningMeasurement;
    const saturation = [
        run(HardeningConfig.Plaintext, "put", 3000),
        run(HardeningConfig.Plaintext, "put", 2000),
        run(HardeningConfig.Plaintext, "put", 2500),
        run(HardeningConfig.Hardened, "put", 100),
        run(HardeningConfig.Plaintext, "range", 4000),
    ];

    it("is a share of the slowest configuration's median saturation throughput, per operation", () => {
        // put: plaintext's median is 2500, hardened's 100; range: only plaintext was measured.
        assert.deepEqual(fixedRates(options({ total: 10, rateShareOfSlowest: 0.5 }), saturation), {
            put: 50,
            range: 2000,
        });
    });

    it("is the rate given, when one is", () => {
        assert.deepEqual(fixedRates(options({ total: 10, rate: 700, rateShareOfSlowest: 0.5 }), saturation), {
            put: 700,
            range: 700,
        });
    });

    it("needs saturation figures when no rate is given", () => {
        assert.throws(
            () => fixedRates(options({ total: 10, rateShareOfSlowest: 0.5 }), saturation.slice(4)),
            /saturation figures for put/,
        );
    });
});
