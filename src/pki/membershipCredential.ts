// The membership credential: a client certificate for the etcd user that may change membership,
// issued by the etcd CA inside the program (no resource), for one pending change and a few hours.
// Derived from the CA key and the change's id, and signed deterministically, so every `pulumi up`
// while the change is pending renders the same bytes (no diff in the member's secret), and a new
// change gets a new key and certificate. It exists nowhere but in the bundles of the members that
// carry the change out; node sync holds it in memory only.
import * as crypto from "crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
    AlgorithmIdentifier,
    AttributeTypeAndValue,
    AttributeValue,
    AuthorityKeyIdentifier,
    BasicConstraints,
    Certificate,
    ExtendedKeyUsage,
    Extension,
    Extensions,
    id_ce_authorityKeyIdentifier,
    id_ce_basicConstraints,
    id_ce_extKeyUsage,
    id_ce_keyUsage,
    id_ce_subjectKeyIdentifier,
    id_kp_clientAuth,
    KeyIdentifier,
    KeyUsage,
    KeyUsageFlags,
    Name,
    RelativeDistinguishedName,
    SubjectKeyIdentifier,
    SubjectPublicKeyInfo,
    TBSCertificate,
    Validity,
    Version,
} from "@peculiar/asn1-x509";
import { pemBody, pemOf, privateKeyOf, SIGNATURE, signerFor, toArrayBuffer } from "./crl";

export interface MembershipCredentialInput {
    caCertPem: string;
    caKeyPem: string;
    /** The etcd user (the certificate's CN). */
    commonName: string;
    /** The change the credential is for: a new change, a new key. */
    changeId: string;
    /** Valid from (five minutes earlier, for clocks a little behind) ... */
    notBefore: Date;
    /** ... for this many hours. */
    validityHours: number;
}

export interface MembershipCredential {
    certPem: string;
    keyPem: string;
}

const P256_ORDER = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const OID_COMMON_NAME = "2.5.4.3";

/** A P-256 key derived from the CA key and the change: secret as long as the CA key is. */
function derivedKey(caKeyPem: string, changeId: string): crypto.KeyObject {
    const caKey = privateKeyOf(caKeyPem).export({ type: "pkcs8", format: "der" });
    const okm = Buffer.from(crypto.hkdfSync("sha256", caKey, "secure-etcd membership credential", changeId, 48));
    // Reduced into [1, n-1]: 48 bytes keep the bias below 2^-128.
    const scalar = (BigInt(`0x${okm.toString("hex")}`) % (P256_ORDER - 1n)) + 1n;
    const d = Buffer.from(scalar.toString(16).padStart(64, "0"), "hex");
    const ecdh = crypto.createECDH("prime256v1");
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey();
    return crypto.createPrivateKey({
        key: {
            kty: "EC",
            crv: "P-256",
            d: d.toString("base64url"),
            x: point.subarray(1, 33).toString("base64url"),
            y: point.subarray(33, 65).toString("base64url"),
        },
        format: "jwk",
    });
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
    return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** The credential for `input.changeId`: the same input, the same bytes. */
export function issueMembershipCredential(input: MembershipCredentialInput): MembershipCredential {
    const ca = AsnConvert.parse(pemBody(input.caCertPem), Certificate);
    const key = derivedKey(input.caKeyPem, input.changeId);
    const spkiDer = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
    const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
    const signer = signerFor(input.caKeyPem);
    const algorithm = new AlgorithmIdentifier({
        algorithm: signer.algorithm,
        parameters: signer.algorithm === SIGNATURE.rsaSha256 ? null : undefined,
    });
    // A positive 128-bit serial from the change and the CA: unique per change, never 0.
    const serial = crypto.createHash("sha256").update(input.changeId).update(input.caCertPem).digest().subarray(0, 16);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    const notBefore = new Date(input.notBefore.getTime() - 5 * 60_000);
    const notAfter = new Date(input.notBefore.getTime() + input.validityHours * 3600_000);
    const caKeyId = ca.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
    const keyId = crypto.createHash("sha1").update(Buffer.from(spki.subjectPublicKey)).digest();
    const tbs = new TBSCertificate({
        version: Version.v3,
        serialNumber: toArrayBuffer(serial),
        signature: algorithm,
        issuer: ca.tbsCertificate.subject,
        validity: new Validity({ notBefore, notAfter }),
        subject: new Name([
            new RelativeDistinguishedName([
                new AttributeTypeAndValue({
                    type: OID_COMMON_NAME,
                    value: new AttributeValue({ utf8String: input.commonName }),
                }),
            ]),
        ]),
        subjectPublicKeyInfo: spki,
        extensions: new Extensions([
            extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
            extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_clientAuth])),
            extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
            extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(toArrayBuffer(keyId))),
            ...(caKeyId
                ? [
                      extension(
                          id_ce_authorityKeyIdentifier,
                          false,
                          new AuthorityKeyIdentifier({
                              keyIdentifier: new KeyIdentifier(
                                  AsnConvert.parse(caKeyId.extnValue, SubjectKeyIdentifier).buffer,
                              ),
                          }),
                      ),
                  ]
                : []),
        ]),
    });
    const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
    const cert = new Certificate({
        tbsCertificate: tbs,
        signatureAlgorithm: algorithm,
        signatureValue: toArrayBuffer(signer.sign(tbsDer)),
    });
    return {
        certPem: pemOf("CERTIFICATE", Buffer.from(AsnConvert.serialize(cert))),
        keyPem: key.export({ type: "pkcs8", format: "pem" }) as string,
    };
}
