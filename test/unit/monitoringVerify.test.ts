// The parts of `secure-etcd verify` that need no etcd: chains through intermediates and CA bundles,
// the hand-written protobuf, the served-certificate checks against a local TLS server, and the
// table. The whole command runs against real etcd in test/e2e/verify.test.ts.
import "reflect-metadata";
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as https from "https";
import { AddressInfo } from "net";
import * as x509 from "@peculiar/x509";
import { issueLeaf, Issued, newCa } from "../../agent/issue";
import { decodeFields, decodeMemberList, stringField } from "../../agent/verify/etcdGrpc";
import { chainTo, CheckStatus, parseCertificates, renderTable, verifyCluster } from "../../agent/verify/verify";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

/** An intermediate CA signed by `root`. */
async function intermediate(root: Issued, commonName: string): Promise<Issued> {
    x509.cryptoProvider.set(crypto.webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);
    const keys = await crypto.webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const rootDer = crypto.createPrivateKey(root.keyPem).export({ type: "pkcs8", format: "der" });
    const signingKey = await crypto.webcrypto.subtle.importKey("pkcs8", rootDer, ALG, false, ["sign"]);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: "0a1b2c",
        subject: `CN=${commonName}`,
        issuer: new x509.X509Certificate(root.certPem).subject,
        notBefore: new Date(Date.now() - 3600_000),
        notAfter: new Date(Date.now() + 24 * 3600_000),
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey,
        extensions: [
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        ],
    });
    const pkcs8 = await crypto.webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
    return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

function varint(n: bigint): Buffer {
    const bytes: number[] = [];
    while (n >= 0x80n) {
        bytes.push(Number(n & 0x7fn) | 0x80);
        n >>= 7n;
    }
    bytes.push(Number(n));
    return Buffer.from(bytes);
}
const message = (field: number, body: Buffer) =>
    Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(body.length)), body]);
const number = (field: number, n: bigint) => Buffer.concat([varint(BigInt(field << 3)), varint(n)]);

describe("verify: without etcd", function () {
    this.timeout(30_000);

    it("follows a chain through a served intermediate, and accepts a CA bundle during a rotation", async () => {
        const root = await newCa("etcd-ca");
        const inter = await intermediate(root, "etcd-intermediate");
        const leaf = await issueLeaf({ ca: inter, commonName: "etcd-0", serverAuth: true });
        const [leafCert] = parseCertificates(leaf.certPem);
        const [interCert] = parseCertificates(inter.certPem);
        const [rootCert] = parseCertificates(root.certPem);
        assert.deepEqual(
            chainTo(leafCert, [interCert], [rootCert])?.map((c) => c.subject),
            ["CN=etcd-0", "CN=etcd-intermediate", "CN=etcd-ca"],
        );
        assert.equal(chainTo(leafCert, [], [rootCert]), undefined, "not without the intermediate");
        const other = await newCa("etcd-ca");
        assert.equal(
            chainTo(leafCert, [interCert], parseCertificates(other.certPem)),
            undefined,
            "same name, other key",
        );
        const bundle = parseCertificates(`${other.certPem}\n${root.certPem}`);
        assert.equal(bundle.length, 2);
        assert.equal(chainTo(leafCert, [interCert], bundle)?.length, 3);
    });

    it("decodes etcd's MemberListResponse, 64-bit ids intact", () => {
        const header = message(1, Buffer.concat([number(1, 1050949576294223900n), number(2, 11280220655377431978n)]));
        const member = (id: bigint, name: string, url: string) =>
            message(
                2,
                Buffer.concat([
                    number(1, id),
                    stringField(2, name),
                    stringField(3, url.replace(":2379", ":2380")),
                    stringField(4, url),
                ]),
            );
        const body = Buffer.concat([
            header,
            member(96443678877753750n, "etcd-2", "https://10.0.1.12:2379"),
            member(11280220655377431978n, "etcd-0", "https://10.0.1.10:2379"),
        ]);
        assert.deepEqual(decodeMemberList(body), {
            memberId: "11280220655377431978",
            members: [
                { id: "96443678877753750", name: "etcd-2", clientURLs: ["https://10.0.1.12:2379"] },
                { id: "11280220655377431978", name: "etcd-0", clientURLs: ["https://10.0.1.10:2379"] },
            ],
        });
        assert.deepEqual(decodeFields(Buffer.concat([stringField(1, "name"), stringField(2, "pw")])), [
            { field: 1, value: Buffer.from("name") },
            { field: 2, value: Buffer.from("pw") },
        ]);
        assert.throws(() => decodeFields(Buffer.from([0x08, 0x80])), /truncated/);
    });

    it("against a TLS server that is not etcd: a certificate for another address, near expiry, fails", async () => {
        const ca = await newCa("etcd-ca");
        const server = await issueLeaf({
            ca,
            commonName: "etcd-0",
            ipAddresses: ["10.9.9.9"],
            serverAuth: true,
            notAfter: new Date(Date.now() + 10 * 86400_000),
        });
        const client = await issueLeaf({ ca, commonName: "kube-etcd-healthcheck-client" });
        const listener = https.createServer(
            { cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
            (_, res) => res.end('{"etcdserver":"0.0.0"}'),
        );
        await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
        try {
            const port = (listener.address() as AddressInfo).port;
            const report = await verifyCluster({
                endpoints: [`https://127.0.0.1:${port}`],
                caPem: ca.certPem,
                certPem: client.certPem,
                keyPem: client.keyPem,
                // The stand-in CA and client live a day.
                warnDays: 0,
            });
            const row = (check: string) => report.checks.find((c) => c.check === check)!;
            assert.equal(report.ok, false);
            assert.equal(row("server certificate").status, CheckStatus.Fail);
            assert.match(
                row("server certificate").detail,
                /does not name 127\.0\.0\.1, the address it was reached at \(SAN: IP Address:10\.9\.9\.9\)/,
            );
            assert.match(row("server certificate").detail, /chains to "etcd-ca", (9|10) days left/);
            // Node's server speaks no etcd gRPC.
            assert.equal(row("reachable").status, CheckStatus.Fail);
            assert.match(row("reachable").detail, /^etcd 0\.0\.0, but the member list \(gRPC\) failed/);
            for (const check of [
                "TLS version",
                "TLS 1.0/1.1 refused",
                "no-certificate client refused",
                "plaintext refused",
            ]) {
                assert.equal(row(check).status, CheckStatus.Pass, `${check}: ${row(check).detail}`);
            }
            const strict = await verifyCluster({
                endpoints: [`https://127.0.0.1:${port}`],
                caPem: ca.certPem,
                certPem: client.certPem,
                keyPem: client.keyPem,
                warnDays: 30,
            });
            const expiry = strict.checks.find((c) => c.check === "server certificate")!;
            assert.match(
                expiry.detail,
                /certificate (9|10) days left \(until \d{4}-\d\d-\d\d\), within --warn-days 30/,
            );
        } finally {
            listener.close();
        }
    });

    it("renders a table with a summary line", () => {
        const table = renderTable({
            ok: false,
            checks: [
                { check: "reachable", target: "https://a:2379", status: CheckStatus.Pass, detail: "etcd 3.6.14" },
                {
                    check: "TLS 1.0/1.1 refused",
                    target: "https://a:2379",
                    status: CheckStatus.Skip,
                    detail: "cannot offer",
                },
                { check: "auth enabled", target: "cluster", status: CheckStatus.Fail, detail: "auth is not enabled" },
            ],
        });
        assert.equal(
            table,
            [
                "CHECK                TARGET          RESULT  DETAIL",
                "reachable            https://a:2379  PASS    etcd 3.6.14",
                "TLS 1.0/1.1 refused  https://a:2379  SKIP    cannot offer",
                "auth enabled         cluster         FAIL    auth is not enabled",
                "",
                "1 passed, 1 failed, 1 skipped: FAILED",
                "",
            ].join("\n"),
        );
    });
});
