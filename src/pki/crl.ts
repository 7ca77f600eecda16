// Certificate revocation lists for the etcd CA and the peer CA, rendered purely from the CA's
// certificate and key: the same inputs give the same bytes, so a `pulumi up` with nothing changed
// changes nothing. DER, not PEM: etcd 3.6 and later read the file with Go's
// x509.ParseRevocationList, which takes DER only (3.4 and 3.5 use x509.ParseCRL, which takes both).
import * as crypto from "crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
    AlgorithmIdentifier,
    AuthorityKeyIdentifier,
    Certificate,
    CertificateList,
    CRLNumber,
    Extension,
    id_ce_authorityKeyIdentifier,
    id_ce_cRLNumber,
    id_ce_subjectKeyIdentifier,
    KeyIdentifier,
    RevokedCertificate,
    SubjectKeyIdentifier,
    TBSCertList,
    Time,
    Version,
} from "@peculiar/asn1-x509";
import { ecdsa } from "@noble/curves/abstract/weierstrass";
import { p256 } from "@noble/curves/p256";
import { p384 } from "@noble/curves/p384";
import { sha256, sha384 } from "@noble/hashes/sha2";

/** One revoked certificate, as the CRL lists it. */
export interface CrlEntry {
    /** The certificate's serial number in hex (any case, optional `:` separators). */
    serialNumber: string;
    /** RFC 3339 date-time of the revocation. */
    revokedAt: string;
}

export interface CrlInput {
    caCertPem: string;
    /** The CA's private key (PEM): the one that signed `caCertPem`. */
    caKeyPem: string;
    revoked: readonly CrlEntry[];
}

/** OIDs of the signature algorithms, chosen as Go's x509 chooses them for each key. */
export const SIGNATURE = {
    ecdsaSha256: "1.2.840.10045.4.3.2",
    ecdsaSha384: "1.2.840.10045.4.3.3",
    rsaSha256: "1.2.840.113549.1.1.11",
} as const;

/** The serial in its canonical form: lowercase hex without leading zeros (as Go's `%x` prints it). */
export function canonicalSerial(serial: string): string {
    return BigInt(`0x${serial.replace(/:/g, "")}`).toString(16);
}

/** The serial as the content octets of a DER INTEGER (a leading zero when the top bit is set). */
function serialOctets(serial: string): ArrayBuffer {
    let hex = canonicalSerial(serial);
    hex = hex.length % 2 === 1 ? `0${hex}` : hex;
    if (parseInt(hex.slice(0, 2), 16) >= 0x80) {
        hex = `00${hex}`;
    }
    return toArrayBuffer(Buffer.from(hex, "hex"));
}

export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** DER as PEM under `label` (`CERTIFICATE`, `X509 CRL`): base64 in 64-character lines. */
export function pemOf(label: string, der: Uint8Array): string {
    const lines =
        Buffer.from(der)
            .toString("base64")
            .match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export function pemBody(pem: string): Buffer {
    return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
}

export interface Signer {
    algorithm: string;
    sign(data: Buffer): Buffer;
}

// The generator's multiples precomputed in 4-bit windows rather than noble's default 8: the first
// signature of a run then costs about 16 ms instead of 60 (a cluster signs two CRLs), and each
// later one about 0.2 ms more. Lazy: nothing is computed until the first signature.
p256.Point.BASE.precompute(4);
p384.Point.BASE.precompute(4);

/** Node's HMAC in noble's shape: `hmac(key, ...messages)`. */
function nodeHmac(hash: "sha256" | "sha384"): (key: Uint8Array, ...messages: Uint8Array[]) => Uint8Array {
    return (key, ...messages) => {
        const mac = crypto.createHmac(hash, key);
        messages.forEach((m) => mac.update(m));
        return new Uint8Array(mac.digest());
    };
}

// RFC 6979's nonce comes from an HMAC-DRBG: run on Node's HMAC rather than noble's JavaScript one,
// the same nonce and so the same signature (test/unit/crl.test.ts compares them), about 7 ms less for
// a process's first two signatures and 0.2 ms less for each after. lowS as noble's NIST curves sign.
const ECDSA_P256 = ecdsa(p256.Point, sha256, { hmac: nodeHmac("sha256"), lowS: false });
const ECDSA_P384 = ecdsa(p384.Point, sha384, { hmac: nodeHmac("sha384"), lowS: false });

const DER_KEY_TYPES: Record<string, "sec1" | "pkcs8" | "pkcs1"> = {
    "EC PRIVATE KEY": "sec1",
    "PRIVATE KEY": "pkcs8",
    "RSA PRIVATE KEY": "pkcs1",
};

/**
 * A PEM private key (as the tls provider writes them: SEC1 for ECDSA, PKCS#1 for RSA), handed to
 * OpenSSL as DER of the type its label names: from PEM, OpenSSL tries its decoders in turn, which
 * triples the time for a SEC1 key (0.33 ms against 0.11).
 */
export function privateKeyOf(pem: string): crypto.KeyObject {
    // One block, no headers (an encrypted key has them): anything else is OpenSSL's to read.
    const single = pem.split("-----BEGIN ").length === 2;
    const label = single ? /^-----BEGIN ([A-Z ]+)-----\r?\n(?!Proc-Type)/.exec(pem.trimStart())?.[1] : undefined;
    const type = label === undefined ? undefined : DER_KEY_TYPES[label];
    return type ? crypto.createPrivateKey({ key: pemBody(pem), format: "der", type }) : crypto.createPrivateKey(pem);
}

/**
 * A deterministic signer for the CA's key. RSA PKCS#1 v1.5 is deterministic by construction; ECDSA
 * from Node's crypto draws a random nonce, so ECDSA signs with RFC 6979 nonces (@noble/curves).
 */
export function signerFor(caKeyPem: string): Signer {
    const key = privateKeyOf(caKeyPem);
    if (key.asymmetricKeyType === "rsa") {
        return { algorithm: SIGNATURE.rsaSha256, sign: (data) => crypto.sign("sha256", data, key) };
    }
    if (key.asymmetricKeyType === "ec") {
        const jwk = key.export({ format: "jwk" });
        const secret = Buffer.from(jwk.d as string, "base64url");
        const curves = {
            "P-256": { curve: ECDSA_P256, hash: "sha256", algorithm: SIGNATURE.ecdsaSha256 },
            "P-384": { curve: ECDSA_P384, hash: "sha384", algorithm: SIGNATURE.ecdsaSha384 },
        } as const;
        const chosen = curves[jwk.crv as keyof typeof curves];
        if (chosen) {
            return {
                algorithm: chosen.algorithm,
                sign: (data) => {
                    const digest = crypto.createHash(chosen.hash).update(data).digest();
                    const signature = chosen.curve.sign(digest, secret, { prehash: false, extraEntropy: false });
                    return Buffer.from(signature.toBytes("der"));
                },
            };
        }
        throw new Error(`CRL: the CA key is ECDSA on ${String(jwk.crv)}; only P-256 and P-384 are supported`);
    }
    throw new Error(`CRL: the CA key is ${String(key.asymmetricKeyType)}; only ECDSA and RSA are supported`);
}

/**
 * The CRL's times, fixed by its inputs: thisUpdate is the latest revocation (the CA's notBefore when
 * none is revoked), nextUpdate the CA's notAfter. etcd reads neither (its checkCRL only collects the
 * serials, and checks no signature or date), but RFC 5280 §5.1.2.5 requires nextUpdate, and other
 * readers (`openssl verify -crl_check`) refuse a CRL past it: one that lasts as long as its CA never
 * goes stale between two `pulumi up`s, and a new revocation publishes a new one anyway.
 */
function crlTimes(ca: Certificate, revoked: readonly CrlEntry[]): { thisUpdate: Date; nextUpdate: Date } {
    const validity = ca.tbsCertificate.validity;
    const notBefore = validity.notBefore.getTime();
    const latest = Math.max(...revoked.map((r) => Date.parse(r.revokedAt)));
    return {
        thisUpdate: revoked.length > 0 ? new Date(latest) : notBefore,
        nextUpdate: validity.notAfter.getTime(),
    };
}

function extensionValue<T>(ca: Certificate, oid: string, type: new () => T): T | undefined {
    const ext = ca.tbsCertificate.extensions?.find((e) => e.extnID === oid);
    return ext ? AsnConvert.parse(ext.extnValue, type) : undefined;
}

/** The CRL's extensions: the CA's key id (when the CA has one) and a CRL number, the count of entries. */
function crlExtensions(ca: Certificate, count: number): Extension[] {
    const extensions: Extension[] = [];
    const keyId = extensionValue(ca, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier);
    if (keyId) {
        const aki = new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyId.buffer) });
        extensions.push(
            new Extension({
                extnID: id_ce_authorityKeyIdentifier,
                critical: false,
                extnValue: new OctetString(AsnConvert.serialize(aki)),
            }),
        );
    }
    extensions.push(
        new Extension({
            extnID: id_ce_cRLNumber,
            critical: false,
            extnValue: new OctetString(AsnConvert.serialize(new CRLNumber(count))),
        }),
    );
    return extensions;
}

/**
 * The CA's CRL (DER) listing `revoked`, sorted by serial and each serial once (the first date
 * given). Inputs are validated beforehand (revocation.ts); this throws on anything it cannot sign.
 */
export function renderCrl(input: CrlInput): Buffer {
    const ca = AsnConvert.parse(pemBody(input.caCertPem), Certificate);
    const bySerial = new Map<string, CrlEntry>();
    for (const r of input.revoked) {
        const serial = canonicalSerial(r.serialNumber);
        if (!bySerial.has(serial)) {
            bySerial.set(serial, { serialNumber: serial, revokedAt: r.revokedAt });
        }
    }
    const entries = [...bySerial.values()].sort((a, b) => {
        const [x, y] = [BigInt(`0x${a.serialNumber}`), BigInt(`0x${b.serialNumber}`)];
        return x < y ? -1 : x > y ? 1 : 0;
    });
    const signer = signerFor(input.caKeyPem);
    // RSA's AlgorithmIdentifier carries an explicit NULL parameter; ECDSA's carries none (RFC 5758).
    const algorithm = new AlgorithmIdentifier({
        algorithm: signer.algorithm,
        parameters: signer.algorithm === SIGNATURE.rsaSha256 ? null : undefined,
    });
    const { thisUpdate, nextUpdate } = crlTimes(ca, entries);
    const tbs = new TBSCertList({
        version: Version.v2,
        signature: algorithm,
        issuer: ca.tbsCertificate.subject,
        thisUpdate: new Time(thisUpdate),
        nextUpdate: new Time(nextUpdate),
        // Absent rather than empty when nothing is revoked (RFC 5280 §5.1.2.6).
        revokedCertificates:
            entries.length > 0
                ? entries.map(
                      (e) =>
                          new RevokedCertificate({
                              userCertificate: serialOctets(e.serialNumber),
                              revocationDate: new Time(new Date(Date.parse(e.revokedAt))),
                          }),
                  )
                : undefined,
        crlExtensions: crlExtensions(ca, entries.length),
    });
    const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
    const crl = new CertificateList({
        tbsCertList: tbs,
        signatureAlgorithm: algorithm,
        signature: toArrayBuffer(signer.sign(tbsDer)),
    });
    return Buffer.from(AsnConvert.serialize(crl));
}

/** PEM of a DER CRL, for people and tools (openssl); etcd's file is the DER. */
export function crlPem(der: Buffer): string {
    return pemOf("X509 CRL", der);
}
