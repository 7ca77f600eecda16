// The cluster's PKI as tls resources: two CAs (each as one or, during its rotation, two
// generations), a server and a peer certificate per member, and a certificate per client.
// Resources are created synchronously from plain structure; only values (IPs, key type, validity)
// flow through outputs.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { isPlain, lift, pick, withDependency } from "../core/rules";
import { KeyAlgorithm } from "./args";
import { caCommonName, caGenerations, caNameSuffix, CaRotationState } from "./caRotation";
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
    /** Where each CA's rotation stands: which generations exist, which one issues. */
    etcdCaRotation: CaRotationState;
    peerCaRotation: CaRotationState;
    /**
     * For `dependsOn` of every resource: resolves (to no resource) once the rotation guard has
     * accepted the stages, and rejects with its refusal otherwise, so nothing here is registered.
     */
    afterRotationCheck?: pulumi.Input<pulumi.Resource[]>;
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

/** The PEMs of several CA certificates as one trust bundle; one CA's PEM as it is. */
export function trustBundle(pems: string[]): string {
    return pems.length === 1 ? pems[0] : pems.map((p) => (p.endsWith("\n") ? p : `${p}\n`)).join("");
}

export class EtcdPki extends pulumi.ComponentResource {
    /** The etcd CA that issues every server and client certificate now. */
    public readonly etcdCa: IssuedCertificate;
    /** The peer CA that issues every peer certificate now. */
    public readonly peerCa: IssuedCertificate;
    /** Every etcd CA generation that exists, oldest first: two during a rotation, else one. */
    public readonly etcdCas: IssuedCertificate[];
    public readonly peerCas: IssuedCertificate[];
    /** What trusts the etcd CA trusts each of `etcdCas` (PEMs oldest first; one CA's PEM as it is). */
    public readonly etcdCaBundle: pulumi.Output<string>;
    public readonly peerCaBundle: pulumi.Output<string>;
    public readonly members: Record<string, MemberPki>;
    public readonly clients: Record<string, IssuedCertificate>;

    private readonly keySpec: pulumi.Input<PrivateKeySpec>;
    private readonly args: EtcdPkiArgs;
    private readonly childOpts: pulumi.CustomResourceOptions;
    /** This component's name: its children's prefix. */
    public readonly resourceName: string;
    /** Every resource here: what the rotation record waits for. */
    public readonly resources: pulumi.CustomResource[] = [];

    constructor(name: string, args: EtcdPkiArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every child waits for the rotation guard through this component: a child registers only
        // after its parent.
        super("secure-etcd:pki:EtcdPki", name, {}, withDependency(opts ?? {}, args.afterRotationCheck));
        this.args = args;
        this.resourceName = name;
        this.childOpts = { parent: this };
        this.keySpec = lift([args.keyAlgorithm], ([algorithm]) => privateKeySpec(algorithm));
        const etcd = this.caSet(`${name}-etcd-ca`, CA_PROFILES.etcd, args.etcdCaRotation);
        const peer = this.caSet(`${name}-peer-ca`, CA_PROFILES.peer, args.peerCaRotation);
        [this.etcdCas, this.etcdCa, this.etcdCaBundle] = [etcd.all, etcd.issuing, etcd.bundle];
        [this.peerCas, this.peerCa, this.peerCaBundle] = [peer.all, peer.issuing, peer.bundle];
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
        return this.own(new tls.PrivateKey(keyName, keyArgs, this.childOpts));
    }

    /**
     * The generations of one CA that exist at its rotation stage, the one that issues, and the
     * trust bundle of all of them. Generation 1 keeps the names deployed clusters hold.
     */
    private caSet(
        prefix: string,
        profile: { commonName: string; allowedUses: readonly string[] },
        rotation: CaRotationState,
    ): { all: IssuedCertificate[]; issuing: IssuedCertificate; bundle: pulumi.Output<string> } {
        const { generations, issuing } = caGenerations(rotation);
        const all = generations.map((g) =>
            this.newCa(`${prefix}${caNameSuffix(g)}`, caCommonName(profile.commonName, g), profile.allowedUses),
        );
        const bundle = pulumi.all(all.map((ca) => ca.certPem)).apply(trustBundle);
        return { all, issuing: all[generations.indexOf(issuing)], bundle };
    }

    private newCa(prefix: string, commonName: string, allowedUses: readonly string[]): IssuedCertificate {
        const key = this.newKey(`${prefix}-key`);
        const cert = this.own(
            new tls.SelfSignedCert(
                prefix,
                {
                    privateKeyPem: key.privateKeyPem,
                    subject: { commonName },
                    isCaCertificate: true,
                    setSubjectKeyId: true,
                    allowedUses: [...allowedUses],
                    validityPeriodHours: this.args.caValidityHours,
                    // A CA is never renewed behind the operator's back: every leaf would be re-issued at once.
                    earlyRenewalHours: 0,
                },
                this.childOpts,
            ),
        );
        return {
            id: commonName,
            commonName,
            issuer: commonName,
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
        const csr = this.own(
            new tls.CertRequest(
                `${prefix}-csr`,
                {
                    privateKeyPem: key.privateKeyPem,
                    subject: { commonName },
                    dnsNames: sans && pick(sans, "dnsNames"),
                    ipAddresses: sans && pick(sans, "ipAddresses"),
                },
                this.childOpts,
            ),
        );
        const cert = this.own(
            new tls.LocallySignedCert(
                prefix,
                {
                    certRequestPem: csr.certRequestPem,
                    caPrivateKeyPem: ca.keyPem,
                    caCertPem: ca.certPem,
                    allowedUses: [...profile.allowedUses],
                    validityPeriodHours: this.args.certificateValidityHours,
                    earlyRenewalHours: this.args.certificateRenewalHours,
                },
                this.childOpts,
            ),
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

    private own<T extends pulumi.CustomResource>(resource: T): T {
        this.resources.push(resource);
        return resource;
    }

    /** Every certificate, CAs first (every generation that exists). */
    allCertificates(): IssuedCertificate[] {
        return [
            ...this.etcdCas,
            ...this.peerCas,
            ...Object.values(this.members).flatMap((m) => [m.server, m.peer]),
            ...Object.values(this.clients),
        ];
    }
}
