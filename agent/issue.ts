// Issues throwaway certificates for negative probes (another CA, an expired certificate, a peer
// certificate for the wrong address), with @peculiar/x509 and Node's crypto.
import "reflect-metadata";
import * as crypto from "crypto";
import { webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";

// Node's WebCrypto, typed by @types/node rather than the DOM library the package does not build with.
x509.cryptoProvider.set(crypto.webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

export interface Issued {
    certPem: string;
    keyPem: string;
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
    const der = crypto.createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
    return crypto.webcrypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"]);
}

export async function newCa(commonName: string): Promise<Issued> {
    const keys = await crypto.webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        name: `CN=${commonName}`,
        keys,
        signingAlgorithm: ALG,
        notBefore: new Date(Date.now() - 3600_000),
        notAfter: new Date(Date.now() + 24 * 3600_000),
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    const pkcs8 = await crypto.webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
    return { certPem: cert.toString("pem"), keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

export interface LeafOptions {
    ca: Issued;
    commonName: string;
    ipAddresses?: string[];
    dnsNames?: string[];
    serverAuth?: boolean;
    notBefore?: Date;
    notAfter?: Date;
    /** Reuse this key instead of a new one (a renewal). */
    keyPem?: string;
}

export async function issueLeaf(o: LeafOptions): Promise<Issued> {
    let keyPem = o.keyPem;
    if (!keyPem) {
        const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
        keyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    }
    const publicDer = crypto.createPublicKey(keyPem).export({ type: "spki", format: "der" });
    const publicKey = await crypto.webcrypto.subtle.importKey("spki", publicDer, ALG, true, ["verify"]);
    const caCert = new x509.X509Certificate(o.ca.certPem);
    const sans = [
        ...(o.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
        ...(o.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
    ];
    const usages = ["1.3.6.1.5.5.7.3.2", ...(o.serverAuth ? ["1.3.6.1.5.5.7.3.1"] : [])];
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: crypto
            .randomBytes(8)
            .toString("hex")
            .replace(/^[89a-f]/, "1"),
        subject: `CN=${o.commonName}`,
        issuer: caCert.subject,
        notBefore: o.notBefore ?? new Date(Date.now() - 3600_000),
        notAfter: o.notAfter ?? new Date(Date.now() + 24 * 3600_000),
        signingAlgorithm: ALG,
        publicKey,
        signingKey: await importKeyPem(o.ca.keyPem),
        extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
            new x509.ExtendedKeyUsageExtension(usages),
            ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
        ],
    });
    return { certPem: cert.toString("pem"), keyPem };
}
