// The serial reader the `certificates` output uses, against Node's X509Certificate (OpenSSL) on
// certificates the tls provider's stand-in issues and on edited ones (v1 without a version field,
// serials with the top bit set, one byte, twenty bytes); malformed DER is refused by name. And the
// private-key reader behind CRL signing: every key type the tls provider writes gives the key
// OpenSSL reads from the same PEM.
import "reflect-metadata";
import { strict as assert } from "assert";
import * as crypto from "crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, Version } from "@peculiar/asn1-x509";
import { KeyAlgorithm } from "../../src";
import { certificateSerial } from "../../src/pki/certificateSerial";
import { pemBody, pemOf, privateKeyOf, toArrayBuffer } from "../../src/pki/crl";
import { privateKeySpec } from "../../src/pki/keyAlgorithm";
import { emulatePrivateKey, emulateSelfSignedCert } from "../../testing/tlsEmulator";

const ALGORITHMS = [KeyAlgorithm.EcdsaP256, KeyAlgorithm.EcdsaP384, KeyAlgorithm.Rsa2048];

async function issued(algorithm: KeyAlgorithm): Promise<{ certPem: string; keyPem: string }> {
    const key = await emulatePrivateKey({ ...privateKeySpec(algorithm) });
    const cert = await emulateSelfSignedCert({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "serial-test" },
        isCaCertificate: true,
        setSubjectKeyId: true,
        allowedUses: ["cert_signing"],
        validityPeriodHours: 24,
    });
    return { certPem: cert.certPem as string, keyPem: key.privateKeyPem as string };
}

const pem = (der: ArrayBuffer) => pemOf("CERTIFICATE", new Uint8Array(der));

/** `certPem` with another serial (hex content octets, as DER writes them) and optionally as v1. */
function edited(certPem: string, serialOctets: string, version = Version.v3): string {
    const cert = AsnConvert.parse(pemBody(certPem), Certificate);
    cert.tbsCertificate.serialNumber = toArrayBuffer(Buffer.from(serialOctets, "hex"));
    cert.tbsCertificate.version = version;
    if (version === Version.v1) {
        cert.tbsCertificate.extensions = undefined;
    }
    return pem(AsnConvert.serialize(cert));
}

const openssl = (certPem: string) => BigInt(`0x${new crypto.X509Certificate(certPem).serialNumber}`).toString(16);

describe("certificateSerial", () => {
    for (const algorithm of ALGORITHMS) {
        it(`reads what OpenSSL reads from the stand-in's ${algorithm} certificates`, async () => {
            for (let i = 0; i < 5; i++) {
                const { certPem } = await issued(algorithm);
                assert.equal(certificateSerial(certPem), openssl(certPem));
            }
        });
    }

    it("reads v1 certificates (no version field) and serials of every length and sign bit", async () => {
        const { certPem } = await issued(KeyAlgorithm.EcdsaP256);
        const serials = ["01", "7f", "0080", "00ff" + "ab".repeat(18), "40" + "00".repeat(15), "7f" + "ff".repeat(19)];
        for (const octets of serials) {
            for (const version of [Version.v1, Version.v3]) {
                const cert = edited(certPem, octets, version);
                assert.equal(certificateSerial(cert), openssl(cert), `serial ${octets}, version ${version}`);
                assert.equal(certificateSerial(cert), BigInt(`0x${octets}`).toString(16));
            }
        }
    });

    it("refuses what is not a certificate's DER, saying what it found", async () => {
        const { certPem } = await issued(KeyAlgorithm.EcdsaP256);
        const der = pemBody(certPem);
        const asPem = (bytes: Buffer) => pem(toArrayBuffer(bytes));
        assert.throws(() => certificateSerial(asPem(der.subarray(0, 40))), /DER element longer than what holds it/);
        assert.throws(() => certificateSerial(asPem(Buffer.from([0x02, 0x01, 0x05]))), /expected Certificate/);
        assert.throws(() => certificateSerial(asPem(Buffer.from([0x30]))), /ends inside an element header/);
        assert.throws(() => certificateSerial(asPem(Buffer.from([0x30, 0x80, 0x00, 0x00]))), /bad length/);
        const noSerial = Buffer.from([0x30, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x02]);
        assert.throws(() => certificateSerial(asPem(noSerial)), /certificate: DER ends inside an element header/);
        const emptySerial = Buffer.from([0x30, 0x04, 0x30, 0x02, 0x02, 0x00]);
        assert.throws(() => certificateSerial(asPem(emptySerial)), /empty serial number/);
        const wrongTag = Buffer.from([0x30, 0x05, 0x30, 0x03, 0x04, 0x01, 0x05]);
        assert.throws(
            () => certificateSerial(asPem(wrongTag)),
            /expected the serial number \(tag 0x2\), found tag 0x4/,
        );
    });
});

describe("privateKeyOf", () => {
    const specs: [string, Record<string, unknown>][] = [
        ...ALGORITHMS.map((a): [string, Record<string, unknown>] => [a, { ...privateKeySpec(a) }]),
        ["ED25519", { algorithm: "ED25519" }],
    ];
    for (const [algorithm, spec] of specs) {
        it(`reads the tls provider's ${algorithm} PEM as OpenSSL does`, async () => {
            const key = await emulatePrivateKey(spec);
            const pemText = key.privateKeyPem as string;
            const expected = crypto.createPrivateKey(pemText).export({ type: "pkcs8", format: "der" });
            assert.deepEqual(privateKeyOf(pemText).export({ type: "pkcs8", format: "der" }), expected);
            const pkcs8 = key.privateKeyPemPkcs8 as string;
            assert.deepEqual(privateKeyOf(pkcs8).export({ type: "pkcs8", format: "der" }), expected);
        });
    }

    it("leaves PEM with headers (an encrypted key) or several blocks to OpenSSL, which reads it as it would alone", () => {
        const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
        const encrypted = privateKey.export({ type: "sec1", format: "pem", cipher: "aes-256-cbc", passphrase: "x" });
        assert.match(encrypted as string, /Proc-Type/);
        const openssl = (() => {
            try {
                crypto.createPrivateKey(encrypted);
            } catch (e) {
                return (e as Error).message;
            }
            assert.fail("OpenSSL read an encrypted key without its passphrase");
        })();
        assert.throws(() => privateKeyOf(encrypted as string), { message: openssl });
        // Two blocks (as `openssl ecparam -genkey` writes them): OpenSSL finds the key among them.
        const sec1 = privateKey.export({ type: "sec1", format: "pem" }) as string;
        const withParameters = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`;
        const keyFirst = `${sec1}-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n`;
        const expected = privateKey.export({ type: "pkcs8", format: "der" });
        for (const text of [withParameters, keyFirst]) {
            assert.deepEqual(privateKeyOf(text).export({ type: "pkcs8", format: "der" }), expected);
        }
    });
});
