// Emulates the tls provider (terraform-provider-tls behind @pulumi/tls v5) by issuing real keys and
// X.509 certificates. It follows the provider's Go code: allowed_uses in snake_case (anything else is
// rejected, as the provider's validator does), BasicConstraints always present and critical, a
// subject key id on CA certificates, the authority key id taken from the issuer, notBefore = now
// (no backdating), a random 128-bit serial that is also the resource id, and subject and SANs of a
// locally signed certificate copied from the CSR.
import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as crypto from "crypto";
import { webcrypto } from "crypto";
import * as x509 from "@peculiar/x509";
import { promisify } from "util";

// Node's WebCrypto, typed by @types/node rather than the DOM library the package does not build with.
x509.cryptoProvider.set(crypto.webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

type State = Record<string, unknown>;

const KEY_USAGES: Record<string, x509.KeyUsageFlags> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};

const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: "1.3.6.1.5.5.7.3.1",
    client_auth: "1.3.6.1.5.5.7.3.2",
    code_signing: "1.3.6.1.5.5.7.3.3",
    email_protection: "1.3.6.1.5.5.7.3.4",
    ipsec_end_system: "1.3.6.1.5.5.7.3.5",
    ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
    ipsec_user: "1.3.6.1.5.5.7.3.7",
    timestamping: "1.3.6.1.5.5.7.3.8",
    ocsp_signing: "1.3.6.1.5.5.7.3.9",
    microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
    netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
    microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
    microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

const CURVES: Record<string, { node: string; web: string; hash: string }> = {
    P224: { node: "secp224r1", web: "P-224", hash: "SHA-256" },
    P256: { node: "prime256v1", web: "P-256", hash: "SHA-256" },
    P384: { node: "secp384r1", web: "P-384", hash: "SHA-384" },
    P521: { node: "secp521r1", web: "P-521", hash: "SHA-512" },
};

const CURVE_BY_NODE_NAME: Record<string, string> = Object.fromEntries(
    Object.entries(CURVES).map(([name, c]) => [c.node, name]),
);

export class TlsProviderError extends Error {}

/**
 * How long an "hour" of `validity_period_hours` and `early_renewal_hours` lasts, in milliseconds.
 * Real time unless a day-2 test compresses it (certificates valid for minutes, to watch a renewal
 * reach running members); only the stand-in's clock changes, never the component's arguments.
 */
let emulatedHourMs = 3_600_000;

export function setEmulatedHourMs(ms: number): void {
    emulatedHourMs = ms;
}

export function emulatedHoursMs(hours: number): number {
    return hours * emulatedHourMs;
}

/**
 * Whether the provider would re-issue a certificate at the next `pulumi up`: like the tls
 * provider's plan, once `early_renewal_hours` before its end has been reached (its
 * `ready_for_renewal`), which replaces the certificate (a new serial and validity, same key).
 */
export function readyForRenewal(state: State, now = Date.now()): boolean {
    const end = typeof state.validityEndTime === "string" ? Date.parse(state.validityEndTime) : NaN;
    const early = Number(state.earlyRenewalHours ?? 0);
    return !Number.isNaN(end) && now >= end - emulatedHoursMs(early);
}

// ---------------------------------------------------------------- keys

const generateKeyPair = promisify(crypto.generateKeyPair);

export async function emulatePrivateKey(inputs: State): Promise<State> {
    const algorithm = inputs.algorithm as string;
    const rsaBits = (inputs.rsaBits as number | undefined) ?? 2048;
    const ecdsaCurve = (inputs.ecdsaCurve as string | undefined) ?? "P224";
    let privateKey: crypto.KeyObject;
    let privateKeyPem: string;
    switch (algorithm) {
        case "RSA": {
            privateKey = (await generateKeyPair("rsa", { modulusLength: rsaBits })).privateKey;
            privateKeyPem = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
            break;
        }
        case "ECDSA": {
            const curve = CURVES[ecdsaCurve];
            if (!curve) {
                throw new TlsProviderError(`tls: invalid ecdsa_curve ${JSON.stringify(ecdsaCurve)}`);
            }
            privateKey = (await generateKeyPair("ec", { namedCurve: curve.node })).privateKey;
            privateKeyPem = privateKey.export({ type: "sec1", format: "pem" }) as string;
            break;
        }
        case "ED25519": {
            privateKey = (await generateKeyPair("ed25519")).privateKey;
            privateKeyPem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
            break;
        }
        default:
            throw new TlsProviderError(
                `tls: attribute algorithm value must be one of ["RSA" "ECDSA" "ED25519"], got ${JSON.stringify(algorithm)}`,
            );
    }
    const publicKeyPem = crypto.createPublicKey(privateKey).export({ type: "spki", format: "pem" }) as string;
    const spkiDer = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" });
    return {
        algorithm,
        rsaBits,
        ecdsaCurve,
        privateKeyPem,
        privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }),
        publicKeyPem,
        // The OpenSSH encodings are not emulated: nothing in this package reads them.
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(spkiDer).digest("base64")}`,
        id: crypto.createHash("sha1").update(publicKeyPem).digest("hex"),
    };
}

interface LoadedKey {
    algorithm: "RSA" | "ECDSA" | "ED25519";
    privateKey: crypto.KeyObject;
    signingAlgorithm: webcrypto.Algorithm | webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;
    importAlgorithm: webcrypto.Algorithm | webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
}

function loadPrivateKey(pem: string, label: string): LoadedKey {
    let privateKey: crypto.KeyObject;
    try {
        privateKey = crypto.createPrivateKey(pem);
    } catch (e) {
        throw new TlsProviderError(`tls: failed to parse ${label}: ${(e as Error).message}`);
    }
    switch (privateKey.asymmetricKeyType) {
        case "rsa":
            return {
                algorithm: "RSA",
                privateKey,
                signingAlgorithm: { name: "RSASSA-PKCS1-v1_5" },
                importAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
            };
        case "ec": {
            const curveName = CURVE_BY_NODE_NAME[privateKey.asymmetricKeyDetails?.namedCurve ?? ""];
            const curve = CURVES[curveName];
            if (!curve || curveName === "P224") {
                // WebCrypto cannot sign with P-224; the component never asks for it.
                throw new TlsProviderError(`tls emulation: cannot sign with curve ${curveName ?? "unknown"}`);
            }
            return {
                algorithm: "ECDSA",
                privateKey,
                signingAlgorithm: { name: "ECDSA", hash: curve.hash },
                importAlgorithm: { name: "ECDSA", namedCurve: curve.web },
            };
        }
        case "ed25519":
            return {
                algorithm: "ED25519",
                privateKey,
                signingAlgorithm: { name: "Ed25519" },
                importAlgorithm: { name: "Ed25519" },
            };
        default:
            throw new TlsProviderError(`tls: unsupported key type ${privateKey.asymmetricKeyType}`);
    }
}

async function webKeys(key: LoadedKey): Promise<webcrypto.CryptoKeyPair> {
    const subtle = crypto.webcrypto.subtle;
    const pkcs8 = key.privateKey.export({ type: "pkcs8", format: "der" });
    const spki = crypto.createPublicKey(key.privateKey).export({ type: "spki", format: "der" });
    return {
        privateKey: await subtle.importKey("pkcs8", pkcs8, key.importAlgorithm, false, ["sign"]),
        publicKey: await subtle.importKey("spki", spki, key.importAlgorithm, true, ["verify"]),
    };
}

// ---------------------------------------------------------------- names and uses

interface Subject {
    commonName?: string;
    organization?: string;
    organizationalUnit?: string;
    streetAddresses?: string[];
    locality?: string;
    province?: string;
    country?: string;
    postalCode?: string;
    serialNumber?: string;
}

/** pkix.Name.ToRDNSequence order: C, ST, L, street, postalCode, O, OU, CN, serialNumber. */
function subjectName(subject: Subject | undefined): x509.JsonName {
    const s = subject ?? {};
    const rdns: x509.JsonName = [];
    const add = (type: string, values: (string | undefined)[] | undefined) => {
        for (const value of values ?? []) {
            if (value !== undefined && value !== "") {
                rdns.push({ [type]: [value] });
            }
        }
    };
    add("C", [s.country]);
    add("ST", [s.province]);
    add("L", [s.locality]);
    add("2.5.4.9", s.streetAddresses);
    add("2.5.4.17", [s.postalCode]);
    add("O", [s.organization]);
    add("OU", [s.organizationalUnit]);
    add("CN", [s.commonName]);
    add("2.5.4.5", [s.serialNumber]);
    return rdns;
}

function parseUses(allowedUses: unknown): { keyUsage: number; extKeyUsage: string[] } {
    let keyUsage = 0;
    const extKeyUsage: string[] = [];
    for (const use of (allowedUses as string[] | undefined) ?? []) {
        if (use in KEY_USAGES) {
            keyUsage |= KEY_USAGES[use];
        } else if (use in EXTENDED_KEY_USAGES) {
            extKeyUsage.push(EXTENDED_KEY_USAGES[use]);
        } else {
            const valid = [...Object.keys(KEY_USAGES), ...Object.keys(EXTENDED_KEY_USAGES)].sort();
            throw new TlsProviderError(
                `tls: attribute allowed_uses[${JSON.stringify(use)}] value must be one of: ${valid.join(", ")}`,
            );
        }
    }
    return { keyUsage, extKeyUsage };
}

function sanEntries(dnsNames: string[], ipAddresses: string[], uris: string[]): x509.JsonGeneralName[] {
    return [
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
        ...uris.map((value) => ({ type: "url" as const, value })),
    ];
}

function randomSerialHex(): string {
    // A positive 128-bit serial, as the provider draws it (rand.Int below 2^128).
    const bytes = crypto.randomBytes(16);
    bytes[0] &= 0x7f;
    return bytes.toString("hex").replace(/^0+(?=.)/, "") || "1";
}

// ---------------------------------------------------------------- certificates

interface Template {
    subject: x509.JsonName;
    sans: x509.JsonGeneralName[];
    inputs: State;
    publicKey: webcrypto.CryptoKey;
}

interface Issuer {
    name: x509.Name | x509.JsonName;
    subjectKeyId?: string;
    key: LoadedKey;
    keys: webcrypto.CryptoKeyPair;
}

async function createCertificate(template: Template, issuer: Issuer): Promise<State> {
    const inputs = template.inputs;
    const validityPeriodHours = inputs.validityPeriodHours as number;
    if (typeof validityPeriodHours !== "number" || validityPeriodHours < 0) {
        throw new TlsProviderError("tls: validity_period_hours is required and must be at least 0");
    }
    const isCa = inputs.isCaCertificate === true;
    const { keyUsage, extKeyUsage } = parseUses(inputs.allowedUses);
    if (isCa && template.subject.length === 0) {
        throw new TlsProviderError(
            "tls: Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)",
        );
    }

    const extensions: x509.Extension[] = [];
    if (keyUsage !== 0) {
        extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
    }
    if (extKeyUsage.length > 0) {
        extensions.push(new x509.ExtendedKeyUsageExtension(extKeyUsage, false));
    }
    const maxPathLength = (inputs.maxPathLength as number | undefined) ?? 0;
    extensions.push(
        new x509.BasicConstraintsExtension(isCa, isCa && maxPathLength > 0 ? maxPathLength : undefined, true),
    );
    if (isCa || inputs.setSubjectKeyId === true) {
        extensions.push(await x509.SubjectKeyIdentifierExtension.create(template.publicKey));
    }
    if (issuer.subjectKeyId) {
        extensions.push(new x509.AuthorityKeyIdentifierExtension(issuer.subjectKeyId));
    }
    if (template.sans.length > 0) {
        extensions.push(new x509.SubjectAlternativeNameExtension(template.sans, template.subject.length === 0));
    }

    const notBefore = new Date();
    const notAfter = new Date(notBefore.getTime() + emulatedHoursMs(validityPeriodHours));
    const serialNumber = randomSerialHex();
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: template.subject,
        issuer: issuer.name,
        notBefore,
        notAfter,
        signingAlgorithm: issuer.key.signingAlgorithm,
        publicKey: template.publicKey,
        signingKey: issuer.keys.privateKey,
        extensions,
    });
    return {
        ...inputs,
        allowedUses: inputs.allowedUses ?? [],
        isCaCertificate: isCa,
        earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
        setSubjectKeyId: inputs.setSubjectKeyId ?? false,
        maxPathLength,
        certPem: cert.toString("pem") + "\n",
        validityStartTime: notBefore.toISOString(),
        validityEndTime: notAfter.toISOString(),
        readyForRenewal: false,
        id: BigInt(`0x${serialNumber}`).toString(10),
    };
}

export async function emulateSelfSignedCert(inputs: State): Promise<State> {
    const key = loadPrivateKey(inputs.privateKeyPem as string, "private_key_pem");
    const keys = await webKeys(key);
    const subject = subjectName(inputs.subject as Subject);
    const sans = sanEntries(
        (inputs.dnsNames as string[]) ?? [],
        (inputs.ipAddresses as string[]) ?? [],
        (inputs.uris as string[]) ?? [],
    );
    // Self-signed: the issuer is the subject, and Go adds no authority key id of its own.
    const state = await createCertificate(
        { subject, sans, inputs, publicKey: keys.publicKey },
        { name: subject, key, keys, subjectKeyId: undefined },
    );
    return { ...state, keyAlgorithm: key.algorithm };
}

export async function emulateCertRequest(inputs: State): Promise<State> {
    const key = loadPrivateKey(inputs.privateKeyPem as string, "private_key_pem");
    const keys = await webKeys(key);
    const sans = sanEntries(
        (inputs.dnsNames as string[]) ?? [],
        (inputs.ipAddresses as string[]) ?? [],
        (inputs.uris as string[]) ?? [],
    );
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: subjectName(inputs.subject as Subject),
        keys,
        signingAlgorithm: key.signingAlgorithm,
        extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
    });
    const certRequestPem = csr.toString("pem") + "\n";
    return {
        ...inputs,
        certRequestPem,
        keyAlgorithm: key.algorithm,
        id: crypto.createHash("sha1").update(certRequestPem).digest("hex"),
    };
}

export async function emulateLocallySignedCert(inputs: State): Promise<State> {
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem as string);
    if (!(await csr.verify())) {
        throw new TlsProviderError("tls: failed to parse certificate request PEM: signature invalid");
    }
    const caKey = loadPrivateKey(inputs.caPrivateKeyPem as string, "ca_private_key_pem");
    const caKeys = await webKeys(caKey);
    const caCert = new x509.X509Certificate(inputs.caCertPem as string);
    // Go's x509.CreateCertificate refuses a signer that does not match the parent's public key.
    const caSpki = Buffer.from(caCert.publicKey.rawData).toString("hex");
    const keySpki = crypto.createPublicKey(caKey.privateKey).export({ type: "spki", format: "der" }).toString("hex");
    if (caSpki !== keySpki) {
        throw new TlsProviderError(
            "tls: Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey",
        );
    }
    const sanExtension = csr.getExtension("2.5.29.17");
    const sans = sanExtension ? new x509.SubjectAlternativeNameExtension(sanExtension.rawData).names.toJSON() : [];
    const subject = csr.subjectName.toJSON();
    const publicKey = await csr.publicKey.export();
    const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const state = await createCertificate(
        { subject, sans, inputs, publicKey },
        { name: caCert.subjectName, key: caKey, keys: caKeys, subjectKeyId: caSki },
    );
    return { ...state, caKeyAlgorithm: caKey.algorithm };
}
