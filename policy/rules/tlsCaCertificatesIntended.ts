// CA certificates exist only where intended: the two self-signed CAs an EtcdPki creates (the etcd CA
// and the separate peer CA, each with a second generation beside it during its rotation). Any other certificate that can sign certificates (an intermediate, or a
// stray self-signed CA) widens who can mint identities etcd trusts.
import { PolicyResource } from "@pulumi/policy";
import { stringListSetting } from "../lib/config";
import { ancestorOfType, labelOf, ofType, propsOf } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy, TYPES } from "../lib/types";
import { readBoolean } from "../lib/values";

/** The CA resources EtcdPki creates, by suffix on its own name (pki/etcdPki.ts: `${name}-etcd-ca`, `${name}-peer-ca`). */
export const INTENDED_CA_SUFFIXES = ["-etcd-ca", "-peer-ca"] as const;

/** A later generation of a CA (pki/caRotation.ts): the suffix, then `-g<N>`. */
const GENERATION = /^-g[1-9][0-9]*$/;

/** Whether a self-signed CA is one of a SecureEtcdCluster's two CAs. */
function isComponentCa(cert: PolicyResource): boolean {
    const pki = cert.parent;
    return (
        pki?.type === COMPONENT.pki &&
        ancestorOfType(pki, [COMPONENT.cluster]) !== undefined &&
        INTENDED_CA_SUFFIXES.some((suffix) => {
            const base = `${pki.name}${suffix}`;
            return cert.name === base || (cert.name.startsWith(base) && GENERATION.test(cert.name.slice(base.length)));
        })
    );
}

export const tlsCaCertificatesIntended: EtcdStackPolicy = {
    name: "tls-ca-certificates-intended",
    description:
        "Only the etcd CA and the peer CA that a SecureEtcdCluster's EtcdPki creates (with their next generation during a rotation) are CA certificates: no locally signed (intermediate) CA, no other self-signed CA unless listed in allowedCaCertificates.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Set isCaCertificate to false on the certificate, or list it in this policy's allowedCaCertificates (or suppress it with a reason) if it is a CA on purpose.",
    configSchema: {
        properties: {
            allowedCaCertificates: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "Self-signed CA certificates (URNs or resource names) that are CAs on purpose.",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const allowed = stringListSetting(args.getConfig(), "allowedCaCertificates", []);
        const certs = ofType(args.resources, [TYPES.selfSignedCert, TYPES.locallySignedCert]);
        if (certs.length === 0) {
            args.notApplicable("no tls certificate in this stack");
        }
        for (const cert of certs.filter((c) => readBoolean(propsOf(c).isCaCertificate) === true)) {
            if (cert.type === TYPES.locallySignedCert) {
                reportViolation(
                    `${labelOf(cert)} is a CA certificate signed by another CA (an intermediate CA), which could mint certificates etcd trusts; set isCaCertificate to false (etcd's PKI has exactly two self-signed CAs and no intermediates).`,
                    cert.urn,
                );
            } else if (!isComponentCa(cert) && !allowed.includes(cert.urn) && !allowed.includes(cert.name)) {
                reportViolation(
                    `${labelOf(cert)} is a self-signed CA certificate that is neither the etcd CA nor the peer CA of a SecureEtcdCluster; set isCaCertificate to false, or list it in this policy's allowedCaCertificates if it is a CA on purpose.`,
                    cert.urn,
                );
            }
        }
    },
};
