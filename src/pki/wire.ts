// Wires the PKI: both CAs, every member's and client's certificates, and the outputs that publish them.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeploymentRecords } from "../core/deploymentRecord";
import { allOf } from "../core/outputs";
import { CaRotationStage, KeyAlgorithm, RevokedCertificateArgs } from "./args";
import { CaRotationRecord } from "./caRotation";
import { caRotationGuard, recordCaRotation } from "./caRotationGuard";
import { certificateSerial } from "./certificateSerial";
import { renderCrl } from "./crl";
import { EtcdPki, IssuedCertificate } from "./etcdPki";
import { CertificateInfo, ClientCredentials, MemberCertificates, MemberCredentials } from "./outputs";
import { BUILT_IN_CLIENTS } from "./profiles";
import { crlEntries, revokedInUseWarnings } from "./revocation";

export interface PkiInputs {
    members: { name: string; ip: pulumi.Input<string>; dnsNames: pulumi.Input<pulumi.Input<string>[]> }[];
    clients: { name: string; commonName: string; generation: number }[];
    revokedCertificates: RevokedCertificateArgs[];
    keyAlgorithm: pulumi.Input<KeyAlgorithm>;
    caValidityHours: pulumi.Input<number>;
    certificateValidityHours: pulumi.Input<number>;
    certificateRenewalHours: pulumi.Input<number>;
    etcdCaGeneration: number;
    etcdCaRotationStage: CaRotationStage;
    peerCaGeneration: number;
    peerCaRotationStage: CaRotationStage;
}

export interface PkiOutputs {
    caCertPem: pulumi.Output<string>;
    peerCaCertPem: pulumi.Output<string>;
    memberCertificates: pulumi.Output<Record<string, MemberCertificates>>;
    memberCredentials: pulumi.Output<Record<string, MemberCredentials>>;
    clientCredentials: pulumi.Output<Record<string, ClientCredentials>>;
    certificates: pulumi.Output<CertificateInfo[]>;
}

/** The CRL of each CA (DER, base64): public, rendered from the CA's key and `revokedCertificates`. */
export interface PkiCrls {
    /** The etcd CA's CRL: etcd's `--client-crl-file`. */
    etcdCaCrlBase64: string;
    /** The peer CA's CRL: etcd's `--peer-crl-file`. */
    peerCaCrlBase64: string;
}

export interface PkiWiring {
    pki: EtcdPki;
    /** The cluster's deployment records, listed once: every guard reads the same listing. */
    records: DeploymentRecords;
    outputs: PkiOutputs;
    crls: pulumi.Output<PkiCrls>;
    /**
     * Records the CA rotation stages in the program as deployed, once every PKI resource and
     * everything in `after` (where the bundles are stored) is.
     */
    recordRotation(after: pulumi.Resource[]): aws.ssm.Parameter;
}

/** The PKI behind the CA rotation guard: no PKI resource registers before the guard accepts the stages. */
export function wirePki(parent: pulumi.Resource, name: string, args: PkiInputs, records: DeploymentRecords): PkiWiring {
    const stages: CaRotationRecord = {
        etcdCa: { generation: args.etcdCaGeneration, stage: args.etcdCaRotationStage },
        peerCa: { generation: args.peerCaGeneration, stage: args.peerCaRotationStage },
    };
    const guard = caRotationGuard(parent, name, records, stages);
    const pki = new EtcdPki(
        `${name}-pki`,
        {
            members: args.members.map((m) => ({ name: m.name, ip: m.ip, dnsNames: m.dnsNames })),
            clients: [
                ...BUILT_IN_CLIENTS.map((c) => ({ name: c.name, commonName: c.commonName })),
                ...args.clients.map((c) => ({ name: c.name, commonName: c.commonName, generation: c.generation })),
            ],
            keyAlgorithm: args.keyAlgorithm,
            caValidityHours: args.caValidityHours,
            certificateValidityHours: args.certificateValidityHours,
            certificateRenewalHours: args.certificateRenewalHours,
            etcdCaRotation: stages.etcdCa,
            peerCaRotation: stages.peerCa,
            afterRotationCheck: guard.afterCheck,
        },
        { parent },
    );
    const outputs = pkiOutputs(pki);
    const revoked = crlEntries(args.revokedCertificates);
    if (revoked.length > 0) {
        outputs.certificates.apply((current) =>
            revokedInUseWarnings(revoked, current).forEach((warning) => void pulumi.log.warn(warning, parent)),
        );
    }
    return {
        pki,
        records,
        outputs,
        crls: pkiCrls(pki, revoked),
        recordRotation: (after) => recordCaRotation(pki, name, guard, stages, after),
    };
}

/**
 * Both CRLs in one Output step. Each lists every revoked serial: etcd matches serials only (its
 * checkCRL reads no issuer), and serials are random 128-bit numbers, so a serial of one CA's
 * certificate names none of the other's; the operator need not say which CA issued it.
 */
function pkiCrls(pki: EtcdPki, revoked: ReturnType<typeof crlEntries>): pulumi.Output<PkiCrls> {
    // Signed by the oldest CA each bundle trusts: it stays until a rotation's last stage, so issuing
    // from the new CA (stage 2) leaves the CRLs, and the static pod that carries their digest, as they
    // were. etcd checks no CRL signature; the signer matters only to tools such as openssl.
    const [etcdSigner, peerSigner] = [pki.etcdCas[0], pki.peerCas[0]];
    const crls = allOf([etcdSigner.certPem, etcdSigner.keyPem, peerSigner.certPem, peerSigner.keyPem]).apply(
        ([etcdCert, etcdKey, peerCert, peerKey]): PkiCrls => ({
            etcdCaCrlBase64: renderCrl({ caCertPem: etcdCert, caKeyPem: etcdKey, revoked }).toString("base64"),
            peerCaCrlBase64: renderCrl({ caCertPem: peerCert, caKeyPem: peerKey, revoked }).toString("base64"),
        }),
    );
    // Declassified on purpose: a CRL is public (signed with the key, it reveals nothing of it).
    return pulumi.unsecret(crls);
}

/** Every certificate, key and expiry in one Output step, then each output picked from it. */
function pkiOutputs(pki: EtcdPki): PkiOutputs {
    const members = Object.entries(pki.members);
    const clients = Object.entries(pki.clients);
    const certificates = pki.allCertificates();
    const pem = (c: IssuedCertificate) => [c.certPem, c.keyPem];
    const flat = allOf([
        pki.etcdCaBundle,
        ...members.flatMap(([, m]) => [...pem(m.server), ...pem(m.peer)]),
        ...clients.flatMap(([, c]) => pem(c)),
        ...certificates.map((c) => c.notAfter),
        ...certificates.map((c) => c.certPem),
    ]);
    const material = flat.apply(([caCertPem, ...rest]) => {
        const take = (n: number) => rest.splice(0, n);
        const memberPems = members.map(([name]): [string, MemberCredentials] => {
            const [serverCertPem, serverKeyPem, peerCertPem, peerKeyPem] = take(4);
            return [name, { serverCertPem, serverKeyPem, peerCertPem, peerKeyPem }];
        });
        const clientPems = clients.map(([name]): [string, ClientCredentials] => {
            const [certPem, keyPem] = take(2);
            return [name, { certPem, keyPem, caCertPem }];
        });
        return {
            memberCredentials: Object.fromEntries(memberPems),
            memberCertificates: Object.fromEntries(
                memberPems.map(([name, m]): [string, MemberCertificates] => [
                    name,
                    { serverCertPem: m.serverCertPem, peerCertPem: m.peerCertPem },
                ]),
            ),
            clientCredentials: Object.fromEntries(clientPems),
            certificates: certificates.map((c, i): CertificateInfo => ({
                id: c.id,
                commonName: c.commonName,
                issuer: c.issuer,
                serialNumber: certificateSerial(rest[certificates.length + i]),
                notAfter: rest[i],
            })),
        };
    });
    return {
        // Trust bundles: both CAs' certificates while a rotation is under way, else the one CA's.
        caCertPem: pki.etcdCaBundle,
        peerCaCertPem: pki.peerCaBundle,
        // Declassified on purpose: certificates and expiries are public; the keys stay in the secret outputs.
        memberCertificates: pulumi.unsecret(material.apply((m) => m.memberCertificates)),
        memberCredentials: pulumi.secret(material.apply((m) => m.memberCredentials)),
        clientCredentials: pulumi.secret(material.apply((m) => m.clientCredentials)),
        certificates: pulumi.unsecret(material.apply((m) => m.certificates)),
    };
}
