// Reading issued certificates in tests: Node's X509Certificate for chains, names and validity,
// @peculiar/x509 for the extensions Node does not expose (key usage bits, basic constraints).
import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as crypto from "crypto";
import * as x509 from "@peculiar/x509";

export interface CertFacts {
    cert: crypto.X509Certificate;
    subjectCn: string;
    dnsNames: string[];
    ipAddresses: string[];
    extKeyUsage: string[];
    keyUsage: string[];
    isCa: boolean;
    hours: number;
}

const EKU_NAMES: Record<string, string> = { "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth" };
const KU_NAMES: [x509.KeyUsageFlags, string][] = [
    [x509.KeyUsageFlags.digitalSignature, "digitalSignature"],
    [x509.KeyUsageFlags.keyEncipherment, "keyEncipherment"],
    [x509.KeyUsageFlags.keyCertSign, "keyCertSign"],
    [x509.KeyUsageFlags.cRLSign, "cRLSign"],
    [x509.KeyUsageFlags.keyAgreement, "keyAgreement"],
    [x509.KeyUsageFlags.nonRepudiation, "contentCommitment"],
    [x509.KeyUsageFlags.dataEncipherment, "dataEncipherment"],
];

export function certFacts(pem: string): CertFacts {
    const cert = new crypto.X509Certificate(pem);
    const parsed = new x509.X509Certificate(pem);
    const san = (cert.subjectAltName ?? "").split(", ").filter((s) => s !== "");
    const ku = parsed.getExtension(x509.KeyUsagesExtension);
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    return {
        cert,
        subjectCn: /CN=([^\n]*)/.exec(cert.subject)?.[1] ?? "",
        dnsNames: san.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4)),
        ipAddresses: san.filter((s) => s.startsWith("IP Address:")).map((s) => s.slice(11)),
        extKeyUsage: (cert.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid).sort(),
        keyUsage: KU_NAMES.filter(([flag]) => ku !== null && (ku.usages & flag) !== 0)
            .map(([, name]) => name)
            .sort(),
        isCa: bc?.ca === true,
        hours: (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 3_600_000,
    };
}

/** Whether `leafPem` was issued and signed by the CA in `caPem`. */
export function issuedBy(leafPem: string, caPem: string): boolean {
    const leaf = new crypto.X509Certificate(leafPem);
    const ca = new crypto.X509Certificate(caPem);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

/** Whether a private key PEM belongs to a certificate. */
export function keyMatches(keyPem: string, certPem: string): boolean {
    return new crypto.X509Certificate(certPem).checkPrivateKey(crypto.createPrivateKey(keyPem));
}
