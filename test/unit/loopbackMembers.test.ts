// Members on loopback addresses (a local cluster on one host, as the demo runs): the member's own
// address is its loopback listener, so three members on 127.0.0.1-3 do not collide on 127.0.0.1.
import { strict as assert } from "assert";
import { renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { flagKnown } from "../../src/manifests/etcdFlagTable";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";
import { isLoopbackIp } from "../../src/manifests/nodeLayout";
import { metricsHost, renderEtcdPod } from "../../src/manifests/staticPod";

const loopback = [
    { name: "etcd-0", ip: "127.0.0.1" },
    { name: "etcd-1", ip: "127.0.0.2" },
    { name: "etcd-2", ip: "127.0.0.3" },
];
const VERSIONS = ["3.4.23", "3.4.25", "3.5.11", "3.5.33", "3.6.14", "3.7.1"];

function render(members: { name: string; ip: string }[], index: number, versionText = "3.6.14") {
    const version = parseEtcdVersion(versionText)!;
    const flags = renderEtcdFlags({ member: members[index], members, clusterToken: "demo", version });
    const pod = renderEtcdPod({ flags, version, imageRepository: "registry.k8s.io/etcd", uid: 2379, gid: 2379 });
    return { flags, pod: pod as unknown as RenderedPod };
}

interface HttpGet {
    httpGet: { host: string; port: number; path: string };
}
interface RenderedPod {
    spec: { containers: { livenessProbe: HttpGet; readinessProbe: HttpGet; startupProbe: HttpGet }[] };
}

const flagValue = (flags: string[], name: string) =>
    flags.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);
const urlsOf = (flags: string[], name: string) => (flagValue(flags, name) ?? "").split(",");

describe("members on loopback addresses", function () {
    it("recognizes loopback addresses, IPv4 and IPv6, and nothing else", () => {
        for (const ip of ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1"]) {
            assert.equal(isLoopbackIp(ip), true, ip);
        }
        for (const ip of ["10.0.1.10", "0.0.0.0", "::", "fd00::12", "169.254.0.1", "::ffff:127.0.0.1", "localhost"]) {
            assert.equal(isLoopbackIp(ip), false, ip);
        }
    });

    it("listen for clients on the member's own address only, with no second listener on 127.0.0.1", () => {
        loopback.forEach((m, i) => {
            const { flags } = render(loopback, i);
            assert.deepEqual(urlsOf(flags, "--listen-client-urls"), [`https://${m.ip}:2379`]);
            assert.deepEqual(urlsOf(flags, "--advertise-client-urls"), [`https://${m.ip}:2379`]);
            assert.deepEqual(urlsOf(flags, "--listen-peer-urls"), [`https://${m.ip}:2380`]);
            assert.deepEqual(urlsOf(flags, "--initial-advertise-peer-urls"), [`https://${m.ip}:2380`]);
            assert.equal(
                flagValue(flags, "--initial-cluster"),
                "etcd-0=https://127.0.0.1:2380,etcd-1=https://127.0.0.2:2380,etcd-2=https://127.0.0.3:2380",
            );
        });
        // etcd-1 and etcd-2 never bind 127.0.0.1, where etcd-0 listens.
        for (const i of [1, 2]) {
            const binds = ["--listen-client-urls", "--listen-peer-urls", "--listen-metrics-urls"].flatMap((f) =>
                urlsOf(render(loopback, i).flags, f),
            );
            assert.ok(
                binds.every((u) => !u.includes("127.0.0.1")),
                binds.join(","),
            );
        }
    });

    it("serve metrics on the member's own loopback address only, and probe it there", () => {
        loopback.forEach((m, i) => {
            const { flags, pod } = render(loopback, i);
            const metrics = urlsOf(flags, "--listen-metrics-urls");
            assert.deepEqual(metrics, [`http://${m.ip}:2381`]);
            assert.ok(
                metrics.every((u) => isLoopbackIp(new URL(u).hostname)),
                "metrics stay on loopback",
            );
            const c = pod.spec.containers[0];
            for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
                assert.equal(probe.httpGet.host, m.ip);
                assert.equal(probe.httpGet.port, 2381);
            }
        });
    });

    it("keep the hardening: mTLS on both ports, the peer CA on the peer side, no plaintext listener", () => {
        const { flags } = render(loopback, 1);
        for (const f of [
            "--client-cert-auth=true",
            "--peer-client-cert-auth=true",
            "--auto-tls=false",
            "--peer-auto-tls=false",
            "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
            "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/peer-ca.crt",
        ]) {
            assert.ok(flags.includes(f), f);
        }
        const listeners = ["--listen-client-urls", "--listen-peer-urls"].flatMap((f) => urlsOf(flags, f));
        assert.ok(listeners.every((u) => u.startsWith("https://")));
        assert.ok(flags.every((f) => !f.includes("0.0.0.0")));
    });

    for (const v of VERSIONS) {
        it(`${v}: every flag rendered for a loopback member is one etcd ${v} knows`, () => {
            const version = parseEtcdVersion(v)!;
            loopback.forEach((_, i) => {
                const unknown = render(loopback, i, v).flags.filter((f) => !flagKnown(f, version));
                assert.deepEqual(unknown, []);
            });
        });
    }

    it("bracket ::1 in URLs and give the probes the bare address", () => {
        const members = [{ name: "etcd-0", ip: "::1" }];
        const { flags, pod } = render(members, 0);
        assert.deepEqual(urlsOf(flags, "--listen-client-urls"), ["https://[::1]:2379"]);
        assert.deepEqual(urlsOf(flags, "--listen-metrics-urls"), ["http://[::1]:2381"]);
        assert.equal(metricsHost(flags), "::1");
        assert.equal(pod.spec.containers[0].livenessProbe.httpGet.host, "::1");
    });

    it("leave members on routable addresses as they were, even beside a loopback member", () => {
        const mixed = [loopback[0], { name: "etcd-1", ip: "10.0.1.11" }, { name: "etcd-2", ip: "fd00::12" }];
        const routable = render(mixed, 1);
        assert.deepEqual(urlsOf(routable.flags, "--listen-client-urls"), [
            "https://127.0.0.1:2379",
            "https://10.0.1.11:2379",
        ]);
        assert.deepEqual(urlsOf(routable.flags, "--listen-metrics-urls"), ["http://127.0.0.1:2381"]);
        assert.equal(routable.pod.spec.containers[0].readinessProbe.httpGet.host, "127.0.0.1");
        const v6 = render(mixed, 2);
        assert.deepEqual(urlsOf(v6.flags, "--listen-client-urls"), [
            "https://127.0.0.1:2379",
            "https://[fd00::12]:2379",
        ]);
        assert.deepEqual(urlsOf(v6.flags, "--listen-metrics-urls"), ["http://127.0.0.1:2381"]);
    });

    it("still render a valid Kubernetes Pod", async () => {
        const { Pod } = await import("kubernetes-models/v1");
        for (const v of ["3.4.23", "3.6.14"]) {
            new Pod(render(loopback, 2, v).pod as unknown as Record<string, unknown>).validate();
        }
    });
});
