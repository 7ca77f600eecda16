// The cluster's PKI as tls resources: two CAs, a server and a peer certificate per member, and a
// certificate per client. Resources are created synchronously from plain structure; only values
// (IPs, key type, validity) flow through outputs.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { isPlain, lift, pick } from "../core/rules";
import { KeyAlgorithm } from "./args";
import { privateKeySpec, PrivateKeySpec } from "./keyAlgorithm";
import { generationSuffix } from "./revocation";
import { CA_PROFILES, LEAF_PROFILES, LeafProfile, memberSans } from "./profiles";

export interface PkiMember {
    name: string;
    /** Already validated when it resolves. Plain values stay plain: no Output step per member. */
    ip: pulumi.Input<string>;
    dnsNames: pulumi.Input<pulumi.Input<string>[]>;
}

export interface PkiClient {
    name: string;
    commonName: string;
    /** Which issue of its key and certificate: 1 keeps the names clients always had. */
    generation?: number;
}

export interface EtcdPkiArgs {
    members: PkiMember[];
    clients: PkiClient[];
    /** Plain in the common case: then every key's arguments are plain too (no Output step per key). */
    keyAlgorithm: pulumi.Input<KeyAlgorithm>;
    caValidityHours: pulumi.Input<number>;
    certificateValidityHours: pulumi.Input<number>;
    certificateRenewalHours: pulumi.Input<number>;
}

/** A key and the certificate issued for it. */
export interface IssuedCertificate {
    /** Stable identifier, e.g. `etcd-ca`, `member/etcd-0/server`, `client/etcd-backup`. */
    id: string;
    commonName: string;
    /** The CN of the issuing CA (the CA's own for a CA). */
    issuer: string;
    certPem: pulumi.Output<string>;
    /** Secret. */
    keyPem: pulumi.Output<string>;
    /** RFC 3339 expiry time. */
    notAfter: pulumi.Output<string>;
}

export interface MemberPki {
    server: IssuedCertificate;
    peer: IssuedCertificate;
}

export class EtcdPki extends pulumi.ComponentResource {
    public readonly etcdCa: IssuedCertificate;
    public readonly peerCa: IssuedCertificate;
    public readonly members: Record<string, MemberPki>;
    public readonly clients: Record<string, IssuedCertificate>;

    private readonly keySpec: pulumi.Input<PrivateKeySpec>;
    private readonly args: EtcdPkiArgs;

    constructor(name: string, args: EtcdPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:pki:EtcdPki", name, {}, opts);
        this.args = args;
        this.keySpec = lift([args.keyAlgorithm], ([algorithm]) => privateKeySpec(algorithm));
        this.etcdCa = this.newCa(`${name}-etcd-ca`, CA_PROFILES.etcd);
        this.peerCa = this.newCa(`${name}-peer-ca`, CA_PROFILES.peer);
        this.members = {};
        for (const member of args.members) {
            const sans = lift([member.ip, member.dnsNames], ([ip, dns]) => memberSans(member.name, ip, dns));
            const prefix = `${name}-member-${member.name}`;
            const leaf = (role: "server" | "peer") =>
                this.issue(
                    `${prefix}-${role}`,
                    `member/${member.name}/${role}`,
                    member.name,
                    LEAF_PROFILES[role],
                    sans,
                );
            this.members[member.name] = { server: leaf("server"), peer: leaf("peer") };
        }
        this.clients = {};
        for (const client of args.clients) {
            this.clients[client.name] = this.issue(
                `${name}-client-${client.name}${generationSuffix(client.generation ?? 1)}`,
                `client/${client.name}`,
                client.commonName,
                LEAF_PROFILES.client,
            );
        }
        this.registerOutputs({});
    }

    private newKey(keyName: string): tls.PrivateKey {
        const spec = this.keySpec;
        const keyArgs: tls.PrivateKeyArgs = isPlain(spec)
            ? { ...(spec as PrivateKeySpec) }
            : {
                  algorithm: pulumi.output(spec).algorithm,
                  ecdsaCurve: pulumi.output(spec).ecdsaCurve,
                  rsaBits: pulumi.output(spec).rsaBits,
              };
        return new tls.PrivateKey(keyName, keyArgs, { parent: this });
    }

    private newCa(prefix: string, profile: { commonName: string; allowedUses: readonly string[] }): IssuedCertificate {
        const key = this.newKey(`${prefix}-key`);
        const cert = new tls.SelfSignedCert(
            prefix,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: profile.commonName },
                isCaCertificate: true,
                setSubjectKeyId: true,
                allowedUses: [...profile.allowedUses],
                validityPeriodHours: this.args.caValidityHours,
                // A CA is never renewed behind the operator's back: every leaf would be re-issued at once.
                earlyRenewalHours: 0,
            },
            { parent: this },
        );
        return {
            id: profile.commonName,
            commonName: profile.commonName,
            issuer: profile.commonName,
            certPem: cert.certPem,
            keyPem: key.privateKeyPem,
            notAfter: cert.validityEndTime,
        };
    }

    private issue(
        prefix: string,
        id: string,
        commonName: string,
        profile: LeafProfile,
        sans?: pulumi.Input<{ dnsNames: string[]; ipAddresses: string[] }>,
    ): IssuedCertificate {
        const ca = profile.signer === "peer" ? this.peerCa : this.etcdCa;
        const key = this.newKey(`${prefix}-key`);
        const csr = new tls.CertRequest(
            `${prefix}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName },
                dnsNames: sans && pick(sans, "dnsNames"),
                ipAddresses: sans && pick(sans, "ipAddresses"),
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            prefix,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: ca.keyPem,
                caCertPem: ca.certPem,
                allowedUses: [...profile.allowedUses],
                validityPeriodHours: this.args.certificateValidityHours,
                earlyRenewalHours: this.args.certificateRenewalHours,
            },
            { parent: this },
        );
        return {
            id,
            commonName,
            issuer: ca.commonName,
            certPem: cert.certPem,
            keyPem: key.privateKeyPem,
            notAfter: cert.validityEndTime,
        };
    }

    /** Every certificate, CAs first. */
    allCertificates(): IssuedCertificate[] {
        return [
            this.etcdCa,
            this.peerCa,
            ...Object.values(this.members).flatMap((m) => [m.server, m.peer]),
            ...Object.values(this.clients),
        ];
    }
}
