// Revocation: the CRL renderer (deterministic, signed by the CA for every key type, exactly the
// revoked serials), the rules for `revokedCertificates` and `generation`, the GHSA-3wh4-j44w-pg92
// rule, and the component under the mocks: CRL node files and flags on every member, serial numbers
// in `certificates`, and a second `pulumi up` with nothing changed that changes nothing.
import "reflect-metadata";
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { p256 } from "@noble/curves/p256";
import { p384 } from "@noble/curves/p384";
import * as x509 from "@peculiar/x509";
import { KeyAlgorithm, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { validateArgs } from "../../src/component/validate";
import { crlBypassAffected, crlBypassWarning, withoutCrlBypass } from "../../src/manifests/crlBypass";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { canonicalSerial, crlPem, renderCrl, signerFor } from "../../src/pki/crl";
import { privateKeySpec } from "../../src/pki/keyAlgorithm";
import { generationProblems, revocationProblems, revokedInUseWarnings } from "../../src/pki/revocation";
import { ProviderMocks } from "../../testing/mocks";
import { resolve, runProgram } from "../../testing/program";
import { emulatePrivateKey, emulateSelfSignedCert } from "../../testing/tlsEmulator";
import { buildCluster, capturedWarnings, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { onPath } from "../harness/onPath";

interface Ca {
    certPem: string;
    keyPem: string;
}

/** A CA as the tls provider (emulated) issues it. */
async function newCa(algorithm: KeyAlgorithm, commonName = "etcd-ca"): Promise<Ca> {
    const key = await emulatePrivateKey({ ...privateKeySpec(algorithm) });
    const cert = await emulateSelfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        validityPeriodHours: 87600,
    });
    return { certPem: cert.certPem as string, keyPem: key.privateKeyPem as string };
}

const REVOKED = [
    { serialNumber: "7F3A9C0D11E2B4C5D6E7F8091A2B3C4D", revokedAt: "2026-11-29T08:00:00Z" },
    { serialNumber: "00:ab:cd:ef:01", revokedAt: "2026-11-30T10:15:30+01:00" },
];

async function verifies(der: Buffer, ca: Ca): Promise<boolean> {
    const crl = new x509.X509Crl(new Uint8Array(der));
    return crl.verify({ publicKey: new x509.X509Certificate(ca.certPem) });
}

describe("CRL renderer", function () {
    this.timeout(120_000);
    const cas = new Map<KeyAlgorithm, Ca>();
    /** Another CA of each key type, with the same name. */
    const others = new Map<KeyAlgorithm, Ca>();
    before(async () => {
        for (const algorithm of Object.values(KeyAlgorithm)) {
            cas.set(algorithm, await newCa(algorithm));
            others.set(algorithm, await newCa(algorithm));
        }
    });

    for (const algorithm of Object.values(KeyAlgorithm)) {
        it(`${algorithm}: the same bytes every time, signed by the CA and no other`, async () => {
            const ca = cas.get(algorithm)!;
            const input = { caCertPem: ca.certPem, caKeyPem: ca.keyPem, revoked: REVOKED };
            const first = renderCrl(input);
            assert.deepEqual(renderCrl(input), first, "deterministic");
            assert.deepEqual(renderCrl({ ...input, revoked: [...REVOKED].reverse() }), first, "order-free");
            assert.ok(await verifies(first, ca), "verifies against its CA");
            assert.ok(!(await verifies(first, others.get(algorithm)!)), "does not verify against another CA");
            const empty = renderCrl({ ...input, revoked: [] });
            assert.deepEqual(renderCrl({ ...input, revoked: [] }), empty);
            assert.ok(await verifies(empty, ca));
        });
    }

    it("ECDSA signs with RFC 6979 nonces as noble's own HMAC derives them: Node's HMAC changes no signature", () => {
        const data = crypto.randomBytes(300);
        for (const [algorithm, curve, hash] of [
            [KeyAlgorithm.EcdsaP256, p256, "sha256"],
            [KeyAlgorithm.EcdsaP384, p384, "sha384"],
        ] as const) {
            const ca = cas.get(algorithm)!;
            const jwk = crypto.createPrivateKey(ca.keyPem).export({ format: "jwk" });
            const digest = crypto.createHash(hash).update(data).digest();
            const noble = curve.sign(digest, Buffer.from(jwk.d!, "base64url"), { prehash: false, extraEntropy: false });
            assert.deepEqual(signerFor(ca.keyPem).sign(data), Buffer.from(noble.toBytes("der")), algorithm);
        }
    });

    it("lists exactly the revoked serials with their dates; thisUpdate the latest, nextUpdate the CA's end", () => {
        const ca = cas.get(KeyAlgorithm.EcdsaP256)!;
        const crl = new x509.X509Crl(
            new Uint8Array(renderCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, revoked: REVOKED })),
        );
        const caCert = new x509.X509Certificate(ca.certPem);
        assert.deepEqual(
            crl.entries.map((e) => [e.serialNumber.toLowerCase(), e.revocationDate.toISOString()]),
            [
                ["abcdef01", "2026-11-30T09:15:30.000Z"],
                ["7f3a9c0d11e2b4c5d6e7f8091a2b3c4d", "2026-11-29T08:00:00.000Z"],
            ],
        );
        assert.equal(crl.thisUpdate.toISOString(), "2026-11-30T09:15:30.000Z");
        assert.equal(crl.nextUpdate?.toISOString(), caCert.notAfter.toISOString());
        assert.equal(crl.issuer, caCert.subject);
        const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension)!;
        const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension)!;
        assert.equal(aki.keyId, ski.keyId);
        const empty = new x509.X509Crl(
            new Uint8Array(renderCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, revoked: [] })),
        );
        assert.deepEqual(empty.entries, []);
        assert.equal(empty.thisUpdate.toISOString(), caCert.notBefore.toISOString());
    });

    it("a serial with its top bit set stays positive (a leading zero octet)", () => {
        const ca = cas.get(KeyAlgorithm.EcdsaP256)!;
        const revoked = [{ serialNumber: "ff00", revokedAt: "2026-01-01T00:00:00Z" }];
        const crl = new x509.X509Crl(
            new Uint8Array(renderCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, revoked })),
        );
        assert.equal(BigInt(`0x${crl.entries[0].serialNumber}`), 0xff00n);
        assert.equal(canonicalSerial("00:FF:00"), "ff00");
    });

    it("openssl verifies every CRL against its CA and reads the serials", function () {
        if (!onPath("openssl")) {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crl-"));
        try {
            for (const [algorithm, ca] of cas) {
                fs.writeFileSync(path.join(dir, "ca.crt"), ca.certPem);
                const der = renderCrl({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, revoked: REVOKED });
                fs.writeFileSync(path.join(dir, "crl.der"), der);
                fs.writeFileSync(path.join(dir, "crl.pem"), crlPem(der));
                const out = execFileSync(
                    "openssl",
                    ["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.crt", "-noout", "-verify", "-text"],
                    { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
                );
                assert.match(out, /Serial Number: ABCDEF01/, algorithm);
                assert.match(out, /Serial Number: 7F3A9C0D11E2B4C5D6E7F8091A2B3C4D/, algorithm);
                const pemOut = execFileSync("openssl", ["crl", "-in", "crl.pem", "-outform", "DER"], { cwd: dir });
                assert.deepEqual(pemOut, der, `${algorithm}: PEM and DER are the same CRL`);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("revocation rules", () => {
    it("accepts serials in any case, with or without colons, and RFC 3339 dates", () => {
        assert.deepEqual(revocationProblems(REVOKED), []);
        assert.deepEqual(revocationProblems([]), []);
    });

    it("names the argument and the fix for each malformed entry", () => {
        const problems = revocationProblems([
            { serialNumber: "xyz", revokedAt: "2026-11-30T10:00:00Z" },
            { serialNumber: "0", revokedAt: "yesterday" },
            { serialNumber: "ab", revokedAt: "2026-11-30" },
            { serialNumber: "AB", revokedAt: "2026-13-01T00:00:00Z" },
            { serialNumber: "f".repeat(41), revokedAt: "1949-12-31T23:59:59Z" },
            "ab",
        ]);
        assert.deepEqual(
            problems.map((p) => p.path),
            [
                "revokedCertificates[0].serialNumber",
                "revokedCertificates[1].serialNumber",
                "revokedCertificates[1].revokedAt",
                "revokedCertificates[2].revokedAt",
                "revokedCertificates[3].serialNumber",
                "revokedCertificates[3].revokedAt",
                "revokedCertificates[4].serialNumber",
                "revokedCertificates[4].revokedAt",
                "revokedCertificates[5]",
            ],
        );
        assert.match(
            problems[0].reason,
            /not a serial number; give it in hex as the `certificates` output's serialNumber/,
        );
        assert.match(problems[2].reason, /not an RFC 3339 date-time; give when the certificate was revoked/);
        assert.match(problems[4].reason, /already revoked by revokedCertificates\[2\]; list each certificate once/);
        assert.match(problems[6].reason, /at most 20 bytes/);
        assert.match(problems[7].reason, /outside the years 1950 to 9999/);
        assert.match(revocationProblems("ab")[0].reason, /is not a list/);
    });

    it("generations are whole numbers from 1", () => {
        assert.deepEqual(generationProblems([{ generation: 1 }, { generation: 7 }]), []);
        assert.deepEqual(
            generationProblems([{ generation: 0 }, { generation: 1.5 }, { generation: "2" }]).map((p) => p.path),
            ["clients[0].generation", "clients[1].generation", "clients[2].generation"],
        );
    });

    it("refuses bad arguments before anything is created, with their paths", () => {
        const problems = validateArgs({
            members: THREE_MEMBERS,
            vpcId: TEST_VPC_ID,
            clients: [{ name: "prometheus", generation: 0 }],
            revokedCertificates: [{ serialNumber: "nope", revokedAt: "2026-11-30T10:00:00Z" }],
        });
        assert.deepEqual(problems.map((p) => p.path).sort(), [
            "clients[0].generation",
            "revokedCertificates[0].serialNumber",
        ]);
    });

    it("warns when a revoked serial is still a current certificate, with the fix", () => {
        const warnings = revokedInUseWarnings(
            [{ serialNumber: "0A:BC" }, { serialNumber: "ff" }, { serialNumber: "12" }],
            [
                { id: "client/prometheus", serialNumber: "abc" },
                { id: "member/etcd-0/peer", serialNumber: "ff" },
            ],
        );
        assert.equal(warnings.length, 2);
        assert.match(
            warnings[0],
            /0A:BC is the current certificate of client\/prometheus.*raise clients\[\]\.generation of prometheus/,
        );
        assert.match(warnings[1], /member\/etcd-0\/peer/);
    });
});

describe("GHSA-3wh4-j44w-pg92: CRLs and --listen-client-http-urls", () => {
    const v = (text: string) => parseEtcdVersion(text)!;
    const flags = [
        "--listen-client-urls=https://10.0.1.10:2379",
        "--listen-client-http-urls=https://10.0.1.10:2381",
        "--client-crl-file=/etc/kubernetes/pki/etcd/ca.crl",
    ];

    it("knows the affected releases: all of 3.4, 3.5 before 3.5.32, 3.6 before 3.6.13", () => {
        const affected = ["3.4.0", "3.4.23", "3.4.45", "3.5.0", "3.5.31", "3.6.0", "3.6.12"];
        const fixed = ["3.5.32", "3.5.33", "3.6.13", "3.6.14", "3.7.0", "3.7.1"];
        affected.forEach((t) => assert.equal(crlBypassAffected(v(t)), true, t));
        fixed.forEach((t) => assert.equal(crlBypassAffected(v(t)), false, t));
    });

    it("never renders the HTTP listener beside a CRL on an affected release; leaves fixed ones alone", () => {
        assert.deepEqual(withoutCrlBypass(flags, v("3.5.31")), [flags[0], flags[2]]);
        assert.deepEqual(withoutCrlBypass(flags, v("3.4.23")), [flags[0], flags[2]]);
        assert.deepEqual(withoutCrlBypass(flags, v("3.5.32")), flags);
        assert.deepEqual(withoutCrlBypass(flags.slice(0, 2), v("3.5.31")), flags.slice(0, 2), "no CRL, no change");
    });

    it("warns about revocations on an affected release, naming the advisory and the fixed releases", () => {
        const warning = crlBypassWarning(v("3.6.12"), 1)!;
        assert.match(warning, /GHSA-3wh4-j44w-pg92/);
        assert.match(warning, /3\.5\.32, 3\.6\.13, 3\.7\.0/);
        assert.equal(crlBypassWarning(v("3.6.12"), 0), undefined, "nothing revoked");
        assert.equal(crlBypassWarning(v("3.6.13"), 1), undefined, "fixed");
    });
});

const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";

describe("SecureEtcdCluster: revocation", function () {
    this.timeout(120_000);

    function parsedCrl(content: string): x509.X509Crl {
        return new x509.X509Crl(new Uint8Array(Buffer.from(content, "base64")));
    }

    it("gives every member both CRLs (public, binary, base64) and renders both flags", async () => {
        const built = await buildCluster({ members: THREE_MEMBERS, revokedCertificates: REVOKED });
        const { caCertPem, peerCaCertPem, nodeFiles, etcdManifests } = built.outputs;
        for (const m of THREE_MEMBERS) {
            const files = nodeFiles.value[m.name];
            const crls = [
                { path: NODE_PATHS.clientCrl, ca: caCertPem.value },
                { path: NODE_PATHS.peerCrl, ca: peerCaCertPem.value },
            ];
            for (const { path: at, ca } of crls) {
                const f = files.find((x) => x.path === at)!;
                assert.ok(f, `${m.name}: ${at}`);
                assert.deepEqual([f.mode, f.owner, f.encoding, f.directory], ["0644", "0:0", "base64", false]);
                const crl = parsedCrl(f.content);
                assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(ca) }), `${at} signed by its CA`);
                assert.deepEqual(crl.entries.map((e) => e.serialNumber.toLowerCase()).sort(), [
                    "7f3a9c0d11e2b4c5d6e7f8091a2b3c4d",
                    "abcdef01",
                ]);
            }
            const manifest = etcdManifests.value[m.name];
            assert.ok(manifest.includes(`--client-crl-file=${NODE_PATHS.clientCrl}`), m.name);
            assert.ok(manifest.includes(`--peer-crl-file=${NODE_PATHS.peerCrl}`), m.name);
            // Before the manifest: etcd never starts without the files its flags name.
            const at = (p: string) => files.findIndex((x) => x.path === p);
            assert.ok(at(NODE_PATHS.clientCrl) < at(NODE_PATHS.manifest));
        }
    });

    it("publishes each certificate's serial number, as revokedCertificates takes it", async () => {
        const built = await buildCluster({ members: THREE_MEMBERS, clients: [{ name: "prometheus" }] });
        const { certificates, memberCertificates, clientCredentials, caCertPem } = built.outputs;
        assert.equal(certificates.secret, false);
        const pemOf: Record<string, string> = {
            "etcd-ca": caCertPem.value,
            "client/prometheus": clientCredentials.value.prometheus.certPem,
            "member/etcd-1/peer": memberCertificates.value["etcd-1"].peerCertPem,
        };
        for (const [id, pem] of Object.entries(pemOf)) {
            const info = certificates.value.find((c) => c.id === id)!;
            assert.match(info.serialNumber, /^[0-9a-f]+$/);
            assert.equal(BigInt(`0x${info.serialNumber}`), BigInt(`0x${new crypto.X509Certificate(pem).serialNumber}`));
        }
        assert.equal(new Set(certificates.value.map((c) => c.serialNumber)).size, certificates.value.length);
    });

    const args = (extra: Partial<SecureEtcdClusterArgs> = {}): SecureEtcdClusterArgs => ({
        members: THREE_MEMBERS,
        vpcId: TEST_VPC_ID,
        clients: [{ name: "prometheus" }, { name: "grafana" }],
        revokedCertificates: REVOKED,
        ...extra,
    });

    async function up(a: SecureEtcdClusterArgs, previous?: ProviderMocks) {
        const { result, mocks } = await runProgram(() => new SecureEtcdCluster("prod", a), { previous });
        return { mocks, nodeFiles: (await resolve(result.nodeFiles)).value, cluster: result };
    }

    it("a second `pulumi up` with nothing changed registers no change, CRLs included", async () => {
        const first = await up(args());
        const second = await up(args(), first.mocks);
        const changed = second.mocks.registrations.filter((r) => r.custom && r.change !== "same");
        assert.deepEqual(
            changed.map((r) => r.name),
            [],
        );
        assert.ok(second.mocks.registrations.some((r) => r.type === SECRET_VERSION && r.change === "same"));
        for (const m of THREE_MEMBERS) {
            const crlOf = (files: typeof first.nodeFiles) =>
                files[m.name].filter((f) => f.path.endsWith(".crl")).map((f) => f.content);
            assert.deepEqual(crlOf(second.nodeFiles), crlOf(first.nodeFiles));
        }
    });

    it("revoking a client and raising its generation re-issues that client only and changes the CRLs", async () => {
        const first = await up(args({ revokedCertificates: [] }));
        const certs = await resolve(first.cluster.certificates);
        const old = certs.value.find((c) => c.id === "client/prometheus")!;
        const revoked = [{ serialNumber: old.serialNumber, revokedAt: "2026-11-30T11:00:00Z" }];
        const next = args({
            clients: [{ name: "prometheus", generation: 2 }, { name: "grafana" }],
            revokedCertificates: revoked,
        });
        const second = await up(next, first.mocks);
        const changedCustom = second.mocks.registrations.filter((r) => r.custom && r.change !== "same");
        const tls = changedCustom.filter((r) => r.type.startsWith("tls:")).map((r) => `${r.name} ${r.change}`);
        assert.deepEqual(tls.sort(), [
            "prod-pki-client-prometheus.g2 create",
            "prod-pki-client-prometheus.g2-csr create",
            "prod-pki-client-prometheus.g2-key create",
        ]);
        // Only the member bundles carry the CRLs; the old client's resources are deleted.
        assert.deepEqual(
            second.mocks
                .deleted()
                .map((r) => r.name)
                .sort(),
            ["prod-pki-client-prometheus", "prod-pki-client-prometheus-csr", "prod-pki-client-prometheus-key"],
        );
        for (const m of THREE_MEMBERS) {
            const crl = parsedCrl(second.nodeFiles[m.name].find((f) => f.path === NODE_PATHS.clientCrl)!.content);
            assert.deepEqual(
                crl.entries.map((e) => canonicalSerial(e.serialNumber)),
                [old.serialNumber],
            );
        }
        const now = await resolve(second.cluster.certificates);
        assert.notEqual(now.value.find((c) => c.id === "client/prometheus")!.serialNumber, old.serialNumber);
    });

    it("warns when a revoked certificate is still current, and about the bypass on an affected release", async () => {
        const first = await up(args({ revokedCertificates: [] }));
        const certs = await resolve(first.cluster.certificates);
        const current = certs.value.find((c) => c.id === "client/grafana")!;
        const warnings = await capturedWarnings(() =>
            up(
                args({
                    etcdVersion: "3.5.31",
                    revokedCertificates: [{ serialNumber: current.serialNumber, revokedAt: "2026-11-30T11:00:00Z" }],
                }),
                first.mocks,
            ),
        );
        assert.ok(
            warnings.some((w) => /is the current certificate of client\/grafana.*generation of grafana/.test(w)),
            warnings.join("\n"),
        );
        assert.ok(
            warnings.some((w) => /GHSA-3wh4-j44w-pg92/.test(w)),
            warnings.join("\n"),
        );
    });
});
