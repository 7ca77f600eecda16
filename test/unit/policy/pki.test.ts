// PKI policies: key strength, leaf lifetimes, and CA certificates only where the component puts them.
// The key rule is the pure predicate the component's own key table is checked against here.
import { strict as assert } from "assert";
import { DEFAULTS, KeyAlgorithm } from "../../../src";
import { privateKeySpec } from "../../../src/pki/keyAlgorithm";
import { leafValidityProblems } from "../../../src/rules/certificateValidity";
import { privateKeyProblem } from "../../../src/rules/keyStrength";
import { COMPONENT, EtcdPolicy, TYPES } from "../../../policy/lib/types";
import { tlsCaCertificatesIntended } from "../../../policy/rules/tlsCaCertificatesIntended";
import { tlsLeafCertificateValidity } from "../../../policy/rules/tlsLeafCertificateValidity";
import { tlsPrivateKeyStrength } from "../../../policy/rules/tlsPrivateKeyStrength";
import { compliantCluster, patched } from "./fixtures";
import { Fixture, runResourcePolicy, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

async function resourceMessages(policy: EtcdPolicy, type: string, props: Record<string, unknown>, config?: object) {
    const outcome = await runResourcePolicy(policy, { type, props }, config);
    assert.equal(outcome.unknownValueError, undefined);
    return outcome.violations.map((v) => v.message);
}

describe("policy tls-private-key-strength", () => {
    const policy = tlsPrivateKeyStrength;
    const key = (props: Record<string, unknown>, config?: object) =>
        resourceMessages(policy, TYPES.privateKey, props, config);

    it("passes every key type the component can be configured with (one rule for both)", async () => {
        for (const algorithm of Object.values(KeyAlgorithm)) {
            const spec = privateKeySpec(algorithm);
            assert.equal(privateKeyProblem(spec), undefined, algorithm);
            assert.deepEqual(await key({ ...spec }), [], algorithm);
        }
        assert.deepEqual(await key({ algorithm: "ED25519" }), []);
        assert.deepEqual(await key({ algorithm: "RSA" }), [], "the provider's default, 2048 bits");
    });

    it("fails RSA below 2048 bits", async () => {
        assert.deepEqual(await key({ algorithm: "RSA", rsaBits: 1024 }), [
            "Private key: RSA with 1024 bits is below the minimum of 2048; set rsaBits to 2048 or more, or use ECDSA P256 (the component's default keyAlgorithm).",
        ]);
    });

    it("fails ECDSA on P224, including when the curve is left to the provider", async () => {
        assert.deepEqual(await key({ algorithm: "ECDSA" }), [
            "Private key: ECDSA on P224 (the tls provider's default when ecdsaCurve is omitted) is not an accepted curve; set ecdsaCurve to one of P256, P384, P521.",
        ]);
        assert.deepEqual(await key({ algorithm: "ECDSA", ecdsaCurve: "P224" }), [
            "Private key: ECDSA on P224 is not an accepted curve; set ecdsaCurve to one of P256, P384, P521.",
        ]);
    });

    it("is configurable upwards, never below 2048 bits", async () => {
        assert.deepEqual(await key({ algorithm: "RSA", rsaBits: 2048 }, { minRsaBits: 3072 }), [
            "Private key: RSA with 2048 bits is below the minimum of 3072; set rsaBits to 3072 or more, or use ECDSA P256 (the component's default keyAlgorithm).",
        ]);
        assert.equal((await key({ algorithm: "RSA", rsaBits: 1024 }, { minRsaBits: 1024 })).length, 1);
        assert.equal((await key({ algorithm: "ECDSA", ecdsaCurve: "P256" }, { ecdsaCurves: ["P384"] })).length, 1);
    });

    it("reports nothing for an algorithm, size or curve not known yet (preview)", async () => {
        assert.deepEqual(await key({ algorithm: UNKNOWN.string }), []);
        assert.deepEqual(await key({ algorithm: "RSA", rsaBits: UNKNOWN.number }), []);
        assert.deepEqual(await key({ algorithm: "ECDSA", ecdsaCurve: UNKNOWN.string }), []);
    });
});

describe("policy tls-leaf-certificate-validity", () => {
    const policy = tlsLeafCertificateValidity;
    const cert = (props: Record<string, unknown>, config?: object, type: string = TYPES.locallySignedCert) =>
        resourceMessages(policy, type, props, config);

    it("passes the component's defaults (a year, renewed 30 days early)", async () => {
        const defaults = {
            validityPeriodHours: DEFAULTS.certificateValidityHours,
            earlyRenewalHours: DEFAULTS.certificateRenewalHours,
        };
        assert.deepEqual(leafValidityProblems(defaults), []);
        assert.deepEqual(await cert(defaults), []);
    });

    it("fails a leaf valid for more than 398 days", async () => {
        assert.deepEqual(await cert({ validityPeriodHours: 17520, earlyRenewalHours: 720 }), [
            "Leaf certificate: it is valid for 17520 hours (730 days), more than 398 days; set validityPeriodHours (the component's certificateValidityHours) to 9552 or less and let early renewal re-issue it.",
        ]);
    });

    it("fails a leaf without an early-renewal window (self-signed leaves too)", async () => {
        assert.deepEqual(await cert({ validityPeriodHours: 720 }, undefined, TYPES.selfSignedCert), [
            "Leaf certificate: its early-renewal window is 0 hours, so nothing re-issues it before it expires; set earlyRenewalHours (the component's certificateRenewalHours, 720 by default) to at least 1.",
        ]);
    });

    it("is configurable, and leaves CA certificates to the CA policy", async () => {
        assert.equal(
            (await cert({ validityPeriodHours: 8760, earlyRenewalHours: 720 }, { maxValidityDays: 90 })).length,
            1,
        );
        assert.deepEqual(await cert({ validityPeriodHours: 87600, earlyRenewalHours: 0, isCaCertificate: true }), []);
    });

    it("judges only what is known (preview)", async () => {
        assert.deepEqual(await cert({ validityPeriodHours: UNKNOWN.number, earlyRenewalHours: UNKNOWN.number }), []);
        assert.deepEqual(
            await cert({ validityPeriodHours: 87600, earlyRenewalHours: 0, isCaCertificate: UNKNOWN.boolean }),
            [],
        );
        assert.equal((await cert({ validityPeriodHours: 17520, earlyRenewalHours: UNKNOWN.number })).length, 1);
    });
});

describe("policy tls-ca-certificates-intended", () => {
    const policy = tlsCaCertificatesIntended;
    const messages = async (fixtures: Fixture[], config?: object) => {
        const outcome = await runStackPolicy(policy, stackOf(fixtures), config);
        assert.equal(outcome.unknownValueError, undefined);
        return outcome.violations.map((v) => v.message);
    };
    const selfSignedCa = (name: string, parent?: string): Fixture => ({
        type: TYPES.selfSignedCert,
        name,
        parent,
        props: { isCaCertificate: true, validityPeriodHours: 87600 },
    });

    it("passes the etcd CA and the peer CA of the component's PKI", async () => {
        assert.deepEqual(await messages(compliantCluster()), []);
    });

    it("fails a locally signed CA (an intermediate)", async () => {
        const fixtures = patched(compliantCluster(), "prod-pki-member-etcd-0-server", { isCaCertificate: true });
        assert.deepEqual(await messages(fixtures), [
            'LocallySignedCert "prod-pki-member-etcd-0-server" is a CA certificate signed by another CA (an intermediate CA), which could mint certificates etcd trusts; set isCaCertificate to false (etcd\'s PKI has exactly two self-signed CAs and no intermediates).',
        ]);
    });

    it("fails a self-signed CA elsewhere, or one in the PKI under another name", async () => {
        const fixtures = [
            ...compliantCluster(),
            selfSignedCa("stray-ca"),
            selfSignedCa("prod-pki-extra-ca", "prod-pki"),
        ];
        assert.deepEqual(await messages(fixtures), [
            'SelfSignedCert "stray-ca" is a self-signed CA certificate that is neither the etcd CA nor the peer CA of a SecureEtcdCluster; set isCaCertificate to false, or list it in this policy\'s allowedCaCertificates if it is a CA on purpose.',
            'SelfSignedCert "prod-pki-extra-ca" is a self-signed CA certificate that is neither the etcd CA nor the peer CA of a SecureEtcdCluster; set isCaCertificate to false, or list it in this policy\'s allowedCaCertificates if it is a CA on purpose.',
        ]);
        assert.deepEqual(await messages(fixtures, { allowedCaCertificates: ["stray-ca", "prod-pki-extra-ca"] }), []);
    });

    it("passes a CA's next generation during its rotation, and nothing that merely starts like one", async () => {
        const fixtures = [
            ...compliantCluster(),
            selfSignedCa("prod-pki-etcd-ca-g2", "prod-pki"),
            selfSignedCa("prod-pki-peer-ca-g13", "prod-pki"),
        ];
        assert.deepEqual(await messages(fixtures), []);
        const lookalikes = [
            ...compliantCluster(),
            selfSignedCa("prod-pki-etcd-ca-g0", "prod-pki"),
            selfSignedCa("prod-pki-etcd-ca-extra", "prod-pki"),
            selfSignedCa("prod-pki-peer-ca-g2-x", "prod-pki"),
        ];
        assert.equal((await messages(lookalikes)).length, 3);
    });

    it("needs the PKI to be a SecureEtcdCluster's", async () => {
        const orphanPki: Fixture[] = [
            { type: COMPONENT.pki, name: "lab-pki" },
            selfSignedCa("lab-pki-etcd-ca", "lab-pki"),
        ];
        assert.equal((await messages(orphanPki)).length, 1);
    });

    it("reports nothing for an isCaCertificate not known yet (preview)", async () => {
        const fixtures = patched(compliantCluster(), "prod-pki-member-etcd-0-server", {
            isCaCertificate: UNKNOWN.boolean,
        });
        assert.deepEqual(await messages(fixtures), []);
    });
});
