// The mock harness must behave like the real providers, or every other test proves too little.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import * as x509 from "@peculiar/x509";
import { runProgram, resolve } from "../../testing/program";
import { ProviderMocks } from "../../testing/mocks";

describe("test harness: fidelity to the real providers", function () {
    it("issues tls keys in the provider's PEM formats, with P-224 as the unset ECDSA curve", async () => {
        const { result } = await runProgram(() => ({
            ec: new tls.PrivateKey("ec", { algorithm: "ECDSA" }),
            rsa: new tls.PrivateKey("rsa", { algorithm: "RSA" }),
        }));
        const ec = await resolve(result.ec.privateKeyPem);
        assert.match(ec.value, /^-----BEGIN EC PRIVATE KEY-----/);
        assert.equal(crypto.createPrivateKey(ec.value).asymmetricKeyDetails?.namedCurve, "secp224r1");
        assert.equal((await resolve(result.ec.ecdsaCurve)).value, "P224");
        const rsa = await resolve(result.rsa.privateKeyPem);
        assert.match(rsa.value, /^-----BEGIN RSA PRIVATE KEY-----/);
        assert.equal(crypto.createPrivateKey(rsa.value).asymmetricKeyDetails?.modulusLength, 2048);
    });

    it("returns provider-declared secret outputs as secrets, and the rest in the clear", async () => {
        const { result } = await runProgram(() => ({
            key: new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" }),
            bytes: new random.RandomBytes("b", { length: 32 }),
            version: new aws.secretsmanager.SecretVersion("v", { secretId: "arn:x", secretString: "hunter2" }),
        }));
        assert.equal((await resolve(result.key.privateKeyPem)).secret, true);
        assert.equal((await resolve(result.key.privateKeyPemPkcs8)).secret, true);
        assert.equal((await resolve(result.key.publicKeyPem)).secret, false);
        const b64 = await resolve(result.bytes.base64);
        assert.equal(b64.secret, true);
        assert.equal(Buffer.from(b64.value, "base64").length, 32);
        assert.equal((await resolve(result.bytes.hex)).secret, true);
        assert.equal((await resolve(result.version.secretString)).secret, true);
    });

    it("draws real random bytes", async () => {
        const { result } = await runProgram(() => [1, 2].map((i) => new random.RandomBytes(`r${i}`, { length: 32 })));
        const [a, b] = await Promise.all(result.map(async (r) => (await resolve(r.hex)).value));
        assert.notEqual(a, b);
        assert.equal(a.length, 64);
    });

    it("rejects camelCase allowed uses, as the real provider does at preview", async () => {
        await assert.rejects(
            runProgram(() => {
                const key = new tls.PrivateKey("k", { algorithm: "ECDSA", ecdsaCurve: "P256" });
                return new tls.SelfSignedCert("c", {
                    privateKeyPem: key.privateKeyPem,
                    subject: { commonName: "x" },
                    allowedUses: ["digitalSignature"],
                    validityPeriodHours: 1,
                });
            }),
            /allowed_uses\["digitalSignature"\] value must be one of: .*digital_signature/,
        );
    });

    it("refuses to sign with a CA key that does not belong to the CA certificate", async () => {
        await assert.rejects(
            runProgram(() => {
                const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
                const otherKey = new tls.PrivateKey("other-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
                const ca = new tls.SelfSignedCert("ca", {
                    privateKeyPem: caKey.privateKeyPem,
                    subject: { commonName: "ca" },
                    isCaCertificate: true,
                    allowedUses: ["cert_signing"],
                    validityPeriodHours: 10,
                });
                const csr = new tls.CertRequest("csr", {
                    privateKeyPem: otherKey.privateKeyPem,
                    subject: { commonName: "leaf" },
                });
                return new tls.LocallySignedCert("leaf", {
                    certRequestPem: csr.certRequestPem,
                    caCertPem: ca.certPem,
                    caPrivateKeyPem: otherKey.privateKeyPem,
                    allowedUses: ["client_auth"],
                    validityPeriodHours: 1,
                });
            }),
            /provided PrivateKey doesn't match parent's PublicKey/,
        );
    });

    it("builds certificates as Go's x509 does for the provider: SKI on CAs, AKI on leaves, critical basic constraints, serial as id", async () => {
        const { result } = await runProgram(() => {
            const caKey = new tls.PrivateKey("ca-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const ca = new tls.SelfSignedCert("ca", {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: "ca", organization: "org" },
                isCaCertificate: true,
                allowedUses: ["cert_signing"],
                validityPeriodHours: 10,
            });
            const leafKey = new tls.PrivateKey("leaf-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
            const csr = new tls.CertRequest("csr", {
                privateKeyPem: leafKey.privateKeyPem,
                subject: { commonName: "leaf" },
                dnsNames: ["leaf.example"],
                ipAddresses: ["10.1.2.3"],
            });
            const leaf = new tls.LocallySignedCert("leaf", {
                certRequestPem: csr.certRequestPem,
                caCertPem: ca.certPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                allowedUses: ["server_auth"],
                validityPeriodHours: 2,
            });
            return { ca, leaf };
        });
        const caPem = (await resolve(result.ca.certPem)).value;
        const leafPem = (await resolve(result.leaf.certPem)).value;
        const ca = new x509.X509Certificate(caPem);
        const leaf = new x509.X509Certificate(leafPem);
        assert.equal(ca.subject, "O=org, CN=ca");
        const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
        assert.equal(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, ski);
        assert.equal(ca.getExtension(x509.AuthorityKeyIdentifierExtension), null, "self-signed: no AKI");
        const bc = leaf.getExtension(x509.BasicConstraintsExtension)!;
        assert.equal(bc.critical, true);
        assert.equal(bc.ca, false);
        assert.equal(leaf.getExtension(x509.KeyUsagesExtension), null, "no key usage bits were asked for");
        assert.equal(leaf.issuer, "O=org, CN=ca");
        assert.equal((await resolve(result.leaf.id)).value, BigInt(`0x${leaf.serialNumber}`).toString(10));
        const notAfter = (await resolve(result.leaf.validityEndTime)).value;
        assert.equal(
            Date.parse(notAfter) - Date.parse((await resolve(result.leaf.validityStartTime)).value),
            2 * 3600 * 1000,
        );
        assert.equal((await resolve(result.leaf.readyForRenewal)).value, false);
    });

    it("gives AWS resources computed ids and ARNs in the provider's formats", async () => {
        const { result } = await runProgram(() => new aws.kms.Key("k", { description: "d" }));
        const arn = (await resolve(result.arn)).value;
        const keyId = (await resolve(result.keyId)).value;
        assert.match(keyId, /^[0-9a-f-]{36}$/);
        assert.equal(arn, `arn:aws:kms:us-east-1:123456789012:key/${keyId}`);
        assert.equal((await resolve(result.id)).value, keyId);
    });

    it("fails loudly on an invoke nobody mocked", async () => {
        const mocks = new ProviderMocks();
        await pulumi.runtime.setMocks(mocks);
        await assert.rejects(aws.ec2.getAmi({ owners: ["amazon"], mostRecent: true }));
        // The SDK drops the message on its way back; the harness keeps it for runProgram to rethrow.
        assert.match(mocks.errors[0]?.message ?? "", /unmocked invoke aws:ec2\/getAmi:getAmi/);
    });
});
