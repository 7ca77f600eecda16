// Wires the PKI: both CAs, every member's and client's certificates, and the outputs that publish them.
import * as pulumi from "@pulumi/pulumi";
import { recordOf } from "../core/account";
import { KeyAlgorithm } from "./args";
import { EtcdPki, IssuedCertificate, MemberPki } from "./etcdPki";
import { CertificateInfo, ClientCredentials, MemberCertificates, MemberCredentials } from "./outputs";
import { BUILT_IN_CLIENTS } from "./profiles";

export interface PkiInputs {
    members: { name: string; ip: pulumi.Input<string>; dnsNames: pulumi.Input<pulumi.Input<string>[]> }[];
    clients: { name: string; commonName: string }[];
    keyAlgorithm: pulumi.Input<KeyAlgorithm>;
    caValidityHours: pulumi.Input<number>;
    certificateValidityHours: pulumi.Input<number>;
    certificateRenewalHours: pulumi.Input<number>;
}

export interface PkiOutputs {
    caCertPem: pulumi.Output<string>;
    peerCaCertPem: pulumi.Output<string>;
    memberCertificates: pulumi.Output<Record<string, MemberCertificates>>;
    memberCredentials: pulumi.Output<Record<string, MemberCredentials>>;
    clientCredentials: pulumi.Output<Record<string, ClientCredentials>>;
    certificates: pulumi.Output<CertificateInfo[]>;
}

export function wirePki(parent: pulumi.Resource, name: string, args: PkiInputs): { pki: EtcdPki; outputs: PkiOutputs } {
    const pki = new EtcdPki(
        `${name}-pki`,
        {
            members: args.members.map((m) => ({
                name: m.name,
                ip: pulumi.output(m.ip),
                dnsNames: pulumi.output(m.dnsNames),
            })),
            clients: [
                ...BUILT_IN_CLIENTS.map((c) => ({ name: c.name, commonName: c.commonName })),
                ...args.clients.map((c) => ({ name: c.name, commonName: c.commonName })),
            ],
            keyAlgorithm: pulumi.output(args.keyAlgorithm),
            caValidityHours: pulumi.output(args.caValidityHours),
            certificateValidityHours: pulumi.output(args.certificateValidityHours),
            certificateRenewalHours: pulumi.output(args.certificateRenewalHours),
        },
        { parent },
    );
    const outputs: PkiOutputs = {
        caCertPem: pki.etcdCa.certPem,
        peerCaCertPem: pki.peerCa.certPem,
        memberCertificates: recordOf<MemberPki, MemberCertificates>(pki.members, (m) =>
            pulumi.output({ serverCertPem: m.server.certPem, peerCertPem: m.peer.certPem }),
        ),
        memberCredentials: pulumi.secret(
            recordOf<MemberPki, MemberCredentials>(pki.members, (m) =>
                pulumi.output({
                    serverCertPem: m.server.certPem,
                    serverKeyPem: m.server.keyPem,
                    peerCertPem: m.peer.certPem,
                    peerKeyPem: m.peer.keyPem,
                }),
            ),
        ),
        clientCredentials: pulumi.secret(
            recordOf<IssuedCertificate, ClientCredentials>(pki.clients, (c) =>
                pulumi.output({ certPem: c.certPem, keyPem: c.keyPem, caCertPem: pki.etcdCa.certPem }),
            ),
        ),
        certificates: pulumi.all(pki.allCertificates().map(certificateInfo)),
    };
    return { pki, outputs };
}

function certificateInfo(cert: IssuedCertificate): pulumi.Output<CertificateInfo> {
    return cert.notAfter.apply((notAfter) => ({
        id: cert.id,
        commonName: cert.commonName,
        issuer: cert.issuer,
        notAfter,
    }));
}
