import { strict as assert } from "assert";
import { KeyAlgorithm } from "../../src";
import { buildCluster, BuiltCluster, THREE_MEMBERS } from "../harness/cluster";
import { certFacts, issuedBy, keyMatches } from "../harness/certs";
import * as crypto from "crypto";

describe("PKI: the certificates SecureEtcdCluster issues", function () {
    let built: BuiltCluster;
    before(async () => {
        built = await buildCluster();
    });

    it("issues two distinct CAs, 10 years, CA:TRUE, certificate signing", () => {
        const ca = certFacts(built.outputs.caCertPem.value);
        const peerCa = certFacts(built.outputs.peerCaCertPem.value);
        assert.equal(ca.subjectCn, "etcd-ca");
        assert.equal(peerCa.subjectCn, "etcd-peer-ca");
        for (const c of [ca, peerCa]) {
            assert.equal(c.isCa, true);
            assert.equal(c.hours, 87600);
            assert.deepEqual(c.keyUsage, ["cRLSign", "digitalSignature", "keyCertSign", "keyEncipherment"]);
            assert.ok(c.cert.verify(c.cert.publicKey), "self-signed");
        }
        assert.notEqual(ca.cert.fingerprint256, peerCa.cert.fingerprint256);
        assert.notEqual(
            ca.cert.publicKey.export({ type: "spki", format: "pem" }),
            peerCa.cert.publicKey.export({ type: "spki", format: "pem" }),
        );
    });

    it("signs server certificates with the etcd CA only, and peer certificates with the peer CA only", () => {
        const { caCertPem, peerCaCertPem, memberCertificates } = built.outputs;
        for (const m of THREE_MEMBERS) {
            const certs = memberCertificates.value[m.name];
            assert.ok(issuedBy(certs.serverCertPem, caCertPem.value), `${m.name} server by etcd CA`);
            assert.ok(!issuedBy(certs.serverCertPem, peerCaCertPem.value), `${m.name} server not by peer CA`);
            assert.ok(issuedBy(certs.peerCertPem, peerCaCertPem.value), `${m.name} peer by peer CA`);
            assert.ok(!issuedBy(certs.peerCertPem, caCertPem.value), `${m.name} peer not by etcd CA`);
        }
    });

    it("gives member certificates exactly the member's names and addresses", () => {
        const expectedDns: Record<string, string[]> = {
            "etcd-0": ["etcd-0", "localhost"],
            "etcd-1": ["etcd-1", "localhost", "etcd-1.internal"],
            "etcd-2": ["etcd-2", "localhost"],
        };
        for (const m of THREE_MEMBERS) {
            const certs = built.outputs.memberCertificates.value[m.name];
            for (const pem of [certs.serverCertPem, certs.peerCertPem]) {
                const f = certFacts(pem);
                assert.equal(f.subjectCn, m.name);
                assert.deepEqual(f.dnsNames, expectedDns[m.name]);
                assert.deepEqual(f.ipAddresses, [m.ip, "127.0.0.1", "0:0:0:0:0:0:0:1"]);
                assert.deepEqual(f.extKeyUsage, ["clientAuth", "serverAuth"]);
                assert.deepEqual(f.keyUsage, ["digitalSignature", "keyEncipherment"]);
                assert.equal(f.isCa, false);
                assert.equal(f.hours, 8760);
            }
        }
    });

    it("gives every member certificate its own key, matching the certificate", () => {
        const creds = built.outputs.memberCredentials.value;
        const keys = new Set<string>();
        for (const m of THREE_MEMBERS) {
            const c = creds[m.name];
            assert.ok(keyMatches(c.serverKeyPem, c.serverCertPem));
            assert.ok(keyMatches(c.peerKeyPem, c.peerCertPem));
            keys.add(c.serverKeyPem).add(c.peerKeyPem);
        }
        assert.equal(keys.size, 6);
    });

    it("issues the built-in client certificates: clientAuth only, no SANs, from the etcd CA", () => {
        const clients = built.outputs.clientCredentials.value;
        assert.deepEqual(Object.keys(clients).sort(), [
            "etcd-backup",
            "kube-apiserver-etcd-client",
            "kube-etcd-healthcheck-client",
        ]);
        for (const [name, c] of Object.entries(clients)) {
            const f = certFacts(c.certPem);
            assert.equal(f.subjectCn, name);
            assert.deepEqual(f.dnsNames, []);
            assert.deepEqual(f.ipAddresses, []);
            assert.equal(f.cert.subjectAltName, undefined, "no SAN extension at all");
            assert.deepEqual(f.extKeyUsage, ["clientAuth"]);
            assert.deepEqual(f.keyUsage, ["digitalSignature", "keyEncipherment"]);
            assert.equal(f.isCa, false);
            assert.equal(c.caCertPem, built.outputs.caCertPem.value);
            assert.ok(issuedBy(c.certPem, c.caCertPem));
            assert.ok(!issuedBy(c.certPem, built.outputs.peerCaCertPem.value));
            assert.ok(keyMatches(c.keyPem, c.certPem));
        }
    });

    it("uses ECDSA P-256 keys by default", () => {
        const key = crypto.createPrivateKey(built.outputs.clientCredentials.value["etcd-backup"].keyPem);
        assert.equal(key.asymmetricKeyType, "ec");
        assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    });

    it("reports every certificate's expiry", () => {
        const certs = built.outputs.certificates.value;
        assert.equal(certs.length, 2 + 2 * 3 + 3);
        assert.equal(built.outputs.certificates.secret, false);
        const serverOf0 = certs.find((c) => c.id === "member/etcd-0/server")!;
        assert.equal(serverOf0.issuer, "etcd-ca");
        assert.equal(serverOf0.commonName, "etcd-0");
        const pem = built.outputs.memberCertificates.value["etcd-0"].serverCertPem;
        assert.equal(
            Date.parse(serverOf0.notAfter) - (Date.parse(serverOf0.notAfter) % 1000),
            Date.parse(certFacts(pem).cert.validTo),
        );
        assert.equal(certs.find((c) => c.id === "member/etcd-0/peer")!.issuer, "etcd-peer-ca");
        assert.deepEqual(
            certs.map((c) => c.id),
            [
                "etcd-ca",
                "etcd-peer-ca",
                "member/etcd-0/server",
                "member/etcd-0/peer",
                "member/etcd-1/server",
                "member/etcd-1/peer",
                "member/etcd-2/server",
                "member/etcd-2/peer",
                "client/kube-apiserver-etcd-client",
                "client/kube-etcd-healthcheck-client",
                "client/etcd-backup",
            ],
        );
    });
});

describe("PKI: configuration", function () {
    it("honours validity and the renewal window", async () => {
        const built = await buildCluster({
            members: [{ name: "solo", ip: "10.0.0.5" }],
            caValidityHours: 1000,
            certificateValidityHours: 100,
            certificateRenewalHours: 10,
        });
        assert.equal(certFacts(built.outputs.caCertPem.value).hours, 1000);
        assert.equal(certFacts(built.outputs.memberCertificates.value.solo.serverCertPem).hours, 100);
        const leaves = built.mocks.ofType("tls:index/locallySignedCert:LocallySignedCert");
        assert.equal(leaves.length, 2 + 3);
        for (const leaf of leaves) {
            assert.equal(leaf.inputs.earlyRenewalHours, 10);
        }
        for (const ca of built.mocks.ofType("tls:index/selfSignedCert:SelfSignedCert")) {
            assert.equal(ca.inputs.earlyRenewalHours, 0, "CAs are not renewed behind the operator's back");
        }
    });

    it("defaults to a 30-day renewal window", async () => {
        const built = await buildCluster({ members: [{ name: "solo", ip: "10.0.0.5" }] });
        for (const leaf of built.mocks.ofType("tls:index/locallySignedCert:LocallySignedCert")) {
            assert.equal(leaf.inputs.earlyRenewalHours, 720);
        }
    });

    const algorithms: [KeyAlgorithm, string, Record<string, unknown>][] = [
        [KeyAlgorithm.EcdsaP384, "ec", { namedCurve: "secp384r1" }],
        [KeyAlgorithm.Rsa2048, "rsa", { modulusLength: 2048 }],
        [KeyAlgorithm.Rsa3072, "rsa", { modulusLength: 3072 }],
        [KeyAlgorithm.Rsa4096, "rsa", { modulusLength: 4096 }],
    ];
    for (const [algorithm, type, details] of algorithms) {
        it(`issues ${algorithm} keys when asked`, async () => {
            const built = await buildCluster({ members: [{ name: "solo", ip: "10.0.0.5" }], keyAlgorithm: algorithm });
            const keys = [
                built.outputs.memberCredentials.value.solo.serverKeyPem,
                built.outputs.clientCredentials.value["etcd-backup"].keyPem,
            ];
            for (const pem of keys) {
                const key = crypto.createPrivateKey(pem);
                assert.equal(key.asymmetricKeyType, type);
                for (const [k, v] of Object.entries(details)) {
                    assert.equal((key.asymmetricKeyDetails as Record<string, unknown>)[k], v);
                }
            }
            assert.ok(
                issuedBy(built.outputs.memberCertificates.value.solo.peerCertPem, built.outputs.peerCaCertPem.value),
            );
        });
    }

    it("adds extra clients with their own CN", async () => {
        const built = await buildCluster({
            members: [{ name: "solo", ip: "10.0.0.5" }],
            clients: [{ name: "prometheus", commonName: "etcd-metrics-reader" }, { name: "flannel" }],
        });
        const clients = built.outputs.clientCredentials.value;
        assert.equal(certFacts(clients.prometheus.certPem).subjectCn, "etcd-metrics-reader");
        assert.equal(certFacts(clients.flannel.certPem).subjectCn, "flannel");
        assert.deepEqual(certFacts(clients.flannel.certPem).extKeyUsage, ["clientAuth"]);
        assert.equal(Object.keys(clients).length, 5);
    });

    it("accepts IPv6 members and member IPs that are outputs", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const built = await buildCluster({
            members: [
                { name: "v6", ip: "fd00::10" },
                { name: "late", ip: pulumi.output("10.0.0.7"), dnsNames: pulumi.output(["late.example.internal"]) },
                { name: "third", ip: Promise.resolve("10.0.0.8") },
            ],
        });
        assert.deepEqual(certFacts(built.outputs.memberCertificates.value.v6.serverCertPem).ipAddresses, [
            "FD00:0:0:0:0:0:0:10",
            "127.0.0.1",
            "0:0:0:0:0:0:0:1",
        ]);
        const late = certFacts(built.outputs.memberCertificates.value.late.peerCertPem);
        assert.deepEqual(late.ipAddresses, ["10.0.0.7", "127.0.0.1", "0:0:0:0:0:0:0:1"]);
        assert.deepEqual(late.dnsNames, ["late", "localhost", "late.example.internal"]);
    });
});
