import { strict as assert } from "assert";
import * as YAML from "yaml";
import { renderEtcdFlags, tls12CipherSuites } from "../../src/manifests/etcdFlags";
import { ETCD_FLAGS, flagKnown } from "../../src/manifests/etcdFlagTable";
import {
    DEFAULT_ETCD_VERSION,
    ETCD_LINES,
    etcdVersionProblem,
    etcdVersionWarning,
    parseEtcdVersion,
    SECURITY_FLOOR,
} from "../../src/manifests/etcdVersion";
import { renderEtcdPod } from "../../src/manifests/staticPod";
import { buildCluster, capturedWarnings } from "../harness/cluster";

const members = [
    { name: "etcd-0", ip: "10.0.1.10" },
    { name: "etcd-1", ip: "10.0.1.11" },
    { name: "etcd-2", ip: "fd00::12" },
];
const flagsFor = (versionText: string) =>
    renderEtcdFlags({ member: members[0], members, clusterToken: "prod", version: parseEtcdVersion(versionText)! });
const has = (flags: string[], prefix: string) => flags.some((f) => f === prefix || f.startsWith(`${prefix}=`));

describe("etcd flags per version", function () {
    const versions = [
        "3.4.0",
        "3.4.10",
        "3.4.23",
        "3.4.25",
        "3.5.0",
        "3.5.7",
        "3.5.8",
        "3.5.11",
        "3.5.33",
        "3.6.0",
        "3.6.14",
        "3.7.0",
        "3.7.1",
    ];
    for (const v of versions) {
        it(`${v}: every rendered flag is one etcd ${v} knows`, () => {
            const version = parseEtcdVersion(v)!;
            const unknown = flagsFor(v).filter((f) => !flagKnown(f, version));
            assert.deepEqual(unknown, []);
        });
    }

    it("uses a TLS 1.3 minimum where supported and a suite list otherwise, never both", () => {
        for (const v of versions) {
            const flags = flagsFor(v);
            const min = has(flags, "--tls-min-version");
            const suites = has(flags, "--cipher-suites");
            assert.ok(min !== suites, v);
            const expectMin = ["3.4.25", "3.5.8", "3.5.11", "3.5.33", "3.6.0", "3.6.14", "3.7.0", "3.7.1"].includes(v);
            assert.equal(min, expectMin, v);
        }
        assert.ok(
            flagsFor("3.4.23").includes(`--cipher-suites=${tls12CipherSuites(parseEtcdVersion("3.4.23")!).join(",")}`),
        );
        assert.ok(
            tls12CipherSuites(parseEtcdVersion("3.4.23")!).every(
                (s) => s.startsWith("TLS_ECDHE_") && /GCM|CHACHA/.test(s),
            ),
        );
    });

    it("renders the corrupt check and watch progress in the form each version wants", () => {
        assert.ok(flagsFor("3.6.14").includes("--feature-gates=InitialCorruptCheck=true"));
        assert.ok(flagsFor("3.6.14").includes("--watch-progress-notify-interval=5s"));
        assert.ok(flagsFor("3.5.33").includes("--experimental-initial-corrupt-check=true"));
        assert.ok(flagsFor("3.5.33").includes("--experimental-watch-progress-notify-interval=5s"));
        assert.ok(!has(flagsFor("3.4.10"), "--experimental-watch-progress-notify-interval"));
        // 3.7 removed the --experimental-* forms 3.6 deprecated: the same flags as 3.6, none of them.
        assert.deepEqual(flagsFor("3.7.1"), flagsFor("3.6.14"));
        assert.ok(!flagsFor("3.7.0").some((f) => f.startsWith("--experimental-")));
    });

    it("pins peer certificates to the members' names where etcd takes a list (3.5.15, 3.6, 3.7)", () => {
        const pinned = `--peer-cert-allowed-cn=${members.map((m) => m.name).join(",")}`;
        for (const v of ["3.5.15", "3.5.33", "3.6.0", "3.6.14", "3.7.1"]) {
            assert.ok(flagsFor(v).includes(pinned), v);
        }
        // One CN only before 3.5.15: no member set can be named, the peer CA alone decides.
        for (const v of ["3.4.23", "3.5.14"]) {
            assert.ok(!has(flagsFor(v), "--peer-cert-allowed-cn"), v);
        }
    });

    it("hardens both ports: mTLS, peer CA on the peer side, no auto-TLS, metrics on loopback", () => {
        const flags = flagsFor("3.6.14");
        for (const f of [
            "--client-cert-auth=true",
            "--peer-client-cert-auth=true",
            "--auto-tls=false",
            "--peer-auto-tls=false",
            "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
            "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/peer-ca.crt",
            "--client-crl-file=/etc/kubernetes/pki/etcd/ca.crl",
            "--peer-crl-file=/etc/kubernetes/pki/etcd/peer-ca.crl",
            "--listen-metrics-urls=http://127.0.0.1:2381",
            "--listen-client-urls=https://127.0.0.1:2379,https://10.0.1.10:2379",
            "--initial-cluster=etcd-0=https://10.0.1.10:2380,etcd-1=https://10.0.1.11:2380,etcd-2=https://[fd00::12]:2380",
        ]) {
            assert.ok(flags.includes(f), f);
        }
        assert.ok(flags.every((f) => !f.startsWith("http://") && !f.includes("0.0.0.0")));
    });

    it("knows which versions it cannot render, and names every line it can", () => {
        for (const v of ["3.4.23", "3.5.33", "3.6.14", "3.7.0", "3.7.1", "v3.7.1"]) {
            assert.equal(etcdVersionProblem(v), undefined, v);
        }
        for (const v of ["3.3.25", "3.8.0", "4.0.0", "2.3.8"]) {
            const problem = etcdVersionProblem(v)!;
            assert.match(problem, /not a release line this package knows/, v);
            for (const line of ETCD_LINES) {
                assert.ok(problem.includes(line), `${v}: the message names ${line}`);
            }
        }
        assert.deepEqual([...ETCD_LINES].sort(), ["3.4", "3.5", "3.6", "3.7"]);
        assert.match(etcdVersionProblem("latest")!, /MAJOR.MINOR.PATCH/);
        assert.ok(Object.keys(ETCD_FLAGS).length > 20);
    });

    it("warns below each line's security floor (3.5.33, 3.6.14, 3.7.1) and about 3.4", () => {
        const warning = (v: string) => etcdVersionWarning(parseEtcdVersion(v)!);
        assert.deepEqual(SECURITY_FLOOR, { "3.5": 33, "3.6": 14, "3.7": 1 });
        for (const v of ["3.5.33", "3.6.14", "3.7.1", "3.7.2"]) {
            assert.equal(warning(v), undefined, v);
        }
        assert.match(warning("3.7.0")!, /predates 3\.7\.1/);
        assert.match(warning("3.6.13")!, /predates 3\.6\.14/);
        assert.match(warning("3.5.32")!, /predates 3\.5\.33/);
        assert.match(warning("3.4.45")!, /end-of-life/);
        // Every line the package renders but 3.4 (end-of-life) has a floor.
        assert.deepEqual(
            ETCD_LINES.filter((l) => l !== "3.4" && !(l in SECURITY_FLOOR)),
            [],
        );
    });

    it("defaults to the 3.6 line at its security floor", () => {
        const v = parseEtcdVersion(DEFAULT_ETCD_VERSION)!;
        assert.equal(`${v.major}.${v.minor}`, "3.6");
        assert.equal(v.patch, SECURITY_FLOOR["3.6"]);
        assert.equal(etcdVersionWarning(v), undefined);
    });
});

interface RenderedPod {
    spec: {
        hostNetwork: boolean;
        priorityClassName: string;
        securityContext: { seccompProfile: unknown };
        containers: {
            image: string;
            securityContext: unknown;
            volumeMounts: unknown;
            resources: unknown;
            livenessProbe: { httpGet: { path: string; host: string } };
            readinessProbe: { httpGet: { path: string } };
        }[];
    };
}

describe("etcd static pod", function () {
    const render = (v: string) =>
        renderEtcdPod({
            flags: flagsFor(v),
            version: parseEtcdVersion(v)!,
            imageRepository: "registry.k8s.io/etcd",
            uid: 2379,
            gid: 2379,
        });

    it("is a valid Kubernetes Pod", async () => {
        const { Pod } = await import("kubernetes-models/v1");
        for (const v of ["3.4.23", "3.5.33", "3.6.14", "3.7.1"]) {
            new Pod(render(v)).validate();
        }
    });

    it("runs hardened: non-root, no privilege escalation, no capabilities, read-only root, seccomp", () => {
        const spec = (render("3.6.14") as unknown as RenderedPod).spec;
        assert.equal(spec.hostNetwork, true);
        assert.equal(spec.priorityClassName, "system-node-critical");
        assert.deepEqual(spec.securityContext.seccompProfile, { type: "RuntimeDefault" });
        const c = spec.containers[0];
        assert.equal(c.image, "registry.k8s.io/etcd:3.6.14-0");
        assert.deepEqual(c.securityContext, {
            runAsNonRoot: true,
            runAsUser: 2379,
            runAsGroup: 2379,
            allowPrivilegeEscalation: false,
            privileged: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        assert.deepEqual(c.volumeMounts, [
            { name: "etcd-data", mountPath: "/var/lib/etcd" },
            { name: "etcd-certs", mountPath: "/etc/kubernetes/pki/etcd", readOnly: true },
        ]);
        assert.equal(c.livenessProbe.httpGet.path, "/livez");
        assert.equal(c.readinessProbe.httpGet.path, "/readyz");
        assert.equal(c.livenessProbe.httpGet.host, "127.0.0.1");
        assert.deepEqual(c.resources, { requests: { cpu: "100m", memory: "100Mi" } });
    });

    it("probes /health before 3.5.11", () => {
        const pod = render("3.5.10") as { spec: { containers: { livenessProbe: { httpGet: { path: string } } }[] } };
        assert.equal(pod.spec.containers[0].livenessProbe.httpGet.path, "/health");
    });
});

describe("SecureEtcdCluster: node files and manifests", function () {
    it("gives each member its manifest, certificates and keys with the right modes and owners", async () => {
        const built = await buildCluster({
            members: members.slice(0, 2).concat([{ name: "etcd-2", ip: "10.0.1.12" }]),
            etcdUid: 4001,
            etcdGid: 4002,
        });
        assert.equal(built.outputs.nodeFiles.secret, true);
        assert.equal(built.outputs.etcdManifests.secret, false);
        assert.equal(built.outputs.etcdVersion.value, "3.6.14");
        const files = built.outputs.nodeFiles.value["etcd-1"];
        const table = Object.fromEntries(files.map((f) => [f.path, `${f.directory ? "d" : "f"} ${f.mode} ${f.owner}`]));
        assert.deepEqual(table, {
            "/etc/kubernetes/pki/etcd": "d 0755 0:0",
            "/etc/kubernetes/pki/etcd/ca.crt": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/peer-ca.crt": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/server.crt": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/ca.crl": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/peer-ca.crl": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/peer.crt": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/server.key": "f 0600 4001:4002",
            "/etc/kubernetes/pki/etcd/peer.key": "f 0600 4001:4002",
            "/var/lib/etcd": "d 0700 4001:4002",
            "/etc/secure-etcd": "d 0755 0:0",
            "/etc/secure-etcd/firewall.nft": "f 0600 0:0",
            "/etc/systemd/system/secure-etcd-firewall.service": "f 0644 0:0",
            "/etc/kubernetes/pki/etcd/backup-client.crt": "f 0600 0:0",
            "/etc/kubernetes/pki/etcd/backup-client.key": "f 0600 0:0",
            "/etc/secure-etcd/backup.json": "f 0600 0:0",
            "/etc/systemd/system/secure-etcd-backup.service": "f 0644 0:0",
            "/etc/systemd/system/secure-etcd-backup.timer": "f 0644 0:0",
            "/etc/secure-etcd/node-sync.json": "f 0644 0:0",
            "/etc/systemd/system/secure-etcd-node-sync.service": "f 0644 0:0",
            "/etc/systemd/system/secure-etcd-node-sync.timer": "f 0644 0:0",
            "/etc/secure-etcd/maintenance.json": "f 0644 0:0",
            "/etc/systemd/system/secure-etcd-maintenance.service": "f 0644 0:0",
            "/etc/systemd/system/secure-etcd-maintenance.timer": "f 0644 0:0",
            "/etc/kubernetes/manifests": "d 0755 0:0",
            "/etc/kubernetes/manifests/etcd.yaml": "f 0600 0:0",
        });
        // The firewall is written and loaded before the manifest lets the kubelet start etcd.
        const order = files.map((f) => f.path);
        assert.ok(
            order.indexOf("/etc/secure-etcd/firewall.nft") < order.indexOf("/etc/kubernetes/manifests/etcd.yaml"),
        );
        const firewall = files.find((f) => f.path === "/etc/secure-etcd/firewall.nft")!;
        assert.deepEqual(firewall.apply, ["nft", "-f", "{path}"]);
        assert.match(firewall.content, /ip saddr \{ 10\.0\.1\.10, 10\.0\.1\.12 \} tcp dport 2380 accept/);
        const byPath = Object.fromEntries(files.map((f) => [f.path, f.content]));
        assert.equal(
            byPath["/etc/kubernetes/pki/etcd/server.crt"],
            built.outputs.memberCertificates.value["etcd-1"].serverCertPem,
        );
        assert.equal(
            byPath["/etc/kubernetes/pki/etcd/peer.key"],
            built.outputs.memberCredentials.value["etcd-1"].peerKeyPem,
        );
        const manifest = byPath["/etc/kubernetes/manifests/etcd.yaml"];
        assert.equal(manifest, built.outputs.etcdManifests.value["etcd-1"]);
        assert.ok(!manifest.includes("PRIVATE KEY"));
        const command = (YAML.parse(manifest) as { spec: { containers: { command: string[] }[] } }).spec.containers[0]
            .command;
        assert.ok(command.includes("--name=etcd-1"));
        assert.ok(command.includes("--initial-cluster-token=prod"));
        assert.ok(command.includes("--advertise-client-urls=https://10.0.1.11:2379"));
    });

    it("renders etcd 3.7: its image, the feature gate instead of the removed --experimental-* flags", async () => {
        const built = await buildCluster({ members, etcdVersion: "3.7.1" });
        assert.equal(built.outputs.etcdVersion.value, "3.7.1");
        const pod = YAML.parse(built.outputs.etcdManifests.value["etcd-0"]) as {
            spec: { containers: { image: string; command: string[] }[] };
        };
        const [c] = pod.spec.containers;
        assert.equal(c.image, "registry.k8s.io/etcd:3.7.1-0");
        assert.ok(c.command.includes("--feature-gates=InitialCorruptCheck=true"));
        assert.ok(c.command.includes("--watch-progress-notify-interval=5s"));
        assert.deepEqual(
            c.command.filter((f) => f.startsWith("--experimental-")),
            [],
        );
        const warnings = await capturedWarnings(() => buildCluster({ members, etcdVersion: "3.7.0" }));
        assert.ok(
            warnings.some((w) => w.includes("predates 3.7.1")),
            warnings.join("\n"),
        );
    });
});
