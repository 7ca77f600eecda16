import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, KeyAlgorithm, SecureEtcdClusterArgs } from "./args";
import { etcdVersionWarning, parseEtcdVersion } from "./manifests/etcdVersion";
import { NodeFile } from "./manifests/nodeFiles";
import { memberArtifacts } from "./nodes/memberArtifacts";
import { EtcdPki, IssuedCertificate, MemberPki } from "./pki/etcdPki";
import { BUILT_IN_CLIENTS } from "./pki/profiles";
import {
    argumentsError,
    argWarnings,
    etcdVersionProblems,
    keyAlgorithmProblems,
    memberDnsNameProblems,
    memberIpProblems,
    podProblems,
    Problem,
    validateArgs,
    validityProblems,
} from "./validation";

/** A member's certificates (public). */
export interface MemberCertificates {
    /** Server certificate for the client port (2379), signed by the etcd CA. */
    serverCertPem: string;
    /** Peer certificate for the peer port (2380), signed by the peer CA. */
    peerCertPem: string;
}

/** A member's certificates and their private keys. */
export interface MemberCredentials extends MemberCertificates {
    serverKeyPem: string;
    peerKeyPem: string;
}

/** Everything a client needs to reach etcd over mTLS. */
export interface ClientCredentials {
    certPem: string;
    keyPem: string;
    /** The etcd CA, to verify the members' server certificates. */
    caCertPem: string;
}

/** One issued certificate, for expiry monitoring. */
export interface CertificateInfo {
    /** `etcd-ca`, `etcd-peer-ca`, `member/<name>/server`, `member/<name>/peer` or `client/<name>`. */
    id: string;
    commonName: string;
    /** CN of the issuing CA. */
    issuer: string;
    /** Expiry as an RFC 3339 timestamp. */
    notAfter: string;
}

/**
 * etcd for a self-managed Kubernetes control plane on AWS, secure by default: a dedicated etcd
 * CA and a separate peer CA, per-member server and peer certificates with exact SANs, and
 * per-consumer client certificates.
 */
export class SecureEtcdCluster extends pulumi.ComponentResource {
    /** The etcd CA certificate: trust anchor for the client port (2379). */
    public readonly caCertPem: pulumi.Output<string>;
    /** The peer CA certificate: trust anchor for the peer port (2380) only. */
    public readonly peerCaCertPem: pulumi.Output<string>;
    /** Each member's server and peer certificates, by member name. */
    public readonly memberCertificates: pulumi.Output<Record<string, MemberCertificates>>;
    /** Each member's certificates with their private keys, by member name. Secret. */
    public readonly memberCredentials: pulumi.Output<Record<string, MemberCredentials>>;
    /**
     * Client credentials by client name: the built-in `kube-apiserver-etcd-client`,
     * `kube-etcd-healthcheck-client` and `etcd-backup`, and any extra clients. Secret.
     */
    public readonly clientCredentials: pulumi.Output<Record<string, ClientCredentials>>;
    /** Every certificate the cluster issued, with its expiry. */
    public readonly certificates: pulumi.Output<CertificateInfo[]>;
    /** The etcd static-pod manifest (YAML) of each member, by member name. Holds no secrets. */
    public readonly etcdManifests: pulumi.Output<Record<string, string>>;
    /**
     * Every file a member node needs, by member name: the manifest, certificates, keys and
     * directories, each with path, mode and owner. Secret: it holds the member's keys.
     */
    public readonly nodeFiles: pulumi.Output<Record<string, NodeFile[]>>;
    /** The etcd release the manifests are rendered for. */
    public readonly etcdVersion: pulumi.Output<string>;

    constructor(name: string, args: SecureEtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Everything that can be checked is checked before anything is registered.
        const problems = validateArgs(args);
        if (problems.length > 0) {
            throw argumentsError(name, problems);
        }
        // Nothing from args goes to super(): the SDK stores those in state.
        super("secure-etcd:index:SecureEtcdCluster", name, {}, opts);
        for (const warning of argWarnings(args)) {
            void pulumi.log.warn(warning, this);
        }

        // Values that arrive as outputs are checked when they resolve.
        const checked = <T>(value: T, check: (v: T) => Problem[]): T => {
            const found = check(value);
            if (found.length > 0) {
                throw argumentsError(name, found);
            }
            return value;
        };
        const keyAlgorithm = pulumi
            .output(args.keyAlgorithm ?? DEFAULTS.keyAlgorithm)
            .apply((k) => checked<KeyAlgorithm>(k, keyAlgorithmProblems));
        const validity = pulumi
            .all([
                args.caValidityHours ?? DEFAULTS.caValidityHours,
                args.certificateValidityHours ?? DEFAULTS.certificateValidityHours,
                args.certificateRenewalHours ?? DEFAULTS.certificateRenewalHours,
            ])
            .apply(([caValidityHours, certificateValidityHours, certificateRenewalHours]) =>
                checked({ caValidityHours, certificateValidityHours, certificateRenewalHours }, validityProblems),
            );

        const podSettings = pulumi
            .all([
                args.etcdVersion ?? DEFAULTS.etcdVersion,
                args.etcdImageRepository ?? DEFAULTS.etcdImageRepository,
                args.etcdImageDigest,
                args.etcdUid ?? DEFAULTS.etcdUid,
                args.etcdGid ?? DEFAULTS.etcdGid,
            ])
            .apply(([versionText, imageRepository, imageDigest, uid, gid]) => {
                checked(versionText, etcdVersionProblems);
                checked({ etcdUid: uid, etcdGid: gid, etcdImageDigest: imageDigest }, podProblems);
                const version = parseEtcdVersion(versionText)!;
                const warning = etcdVersionWarning(version);
                if (warning) {
                    void pulumi.log.warn(warning, this);
                }
                return { version, imageRepository, imageDigest, uid, gid };
            });

        const memberIps = args.members.map((m, i) => ({
            name: m.name,
            ip: pulumi.output(m.ip).apply((ip) => checked(ip, (v) => memberIpProblems(i, v))),
        }));
        const pki = new EtcdPki(
            `${name}-pki`,
            {
                members: args.members.map((m, i) => ({
                    name: m.name,
                    ip: memberIps[i].ip,
                    dnsNames: pulumi
                        .output(m.dnsNames ?? [])
                        .apply((dns) => checked(dns, (v) => memberDnsNameProblems(i, v))),
                })),
                clients: [
                    ...BUILT_IN_CLIENTS.map((c) => ({ name: c.name, commonName: c.commonName })),
                    ...(args.clients ?? []).map((c) => ({ name: c.name, commonName: c.commonName ?? c.name })),
                ],
                keyAlgorithm,
                caValidityHours: validity.caValidityHours,
                certificateValidityHours: validity.certificateValidityHours,
                certificateRenewalHours: validity.certificateRenewalHours,
            },
            { parent: this },
        );

        this.caCertPem = pki.etcdCa.certPem;
        this.peerCaCertPem = pki.peerCa.certPem;
        this.memberCertificates = recordOf<MemberPki, MemberCertificates>(pki.members, (m) =>
            pulumi.output({ serverCertPem: m.server.certPem, peerCertPem: m.peer.certPem }),
        );
        this.memberCredentials = pulumi.secret(
            recordOf<MemberPki, MemberCredentials>(pki.members, (m) =>
                pulumi.output({
                    serverCertPem: m.server.certPem,
                    serverKeyPem: m.server.keyPem,
                    peerCertPem: m.peer.certPem,
                    peerKeyPem: m.peer.keyPem,
                }),
            ),
        );
        this.clientCredentials = pulumi.secret(
            recordOf<IssuedCertificate, ClientCredentials>(pki.clients, (c) =>
                pulumi.output({ certPem: c.certPem, keyPem: c.keyPem, caCertPem: pki.etcdCa.certPem }),
            ),
        );
        this.certificates = pulumi.all(pki.allCertificates().map(certificateInfo));

        const artifacts = memberArtifacts(name, memberIps, pki, podSettings);
        this.etcdManifests = recordOf(artifacts, (a) => a.manifestYaml);
        this.nodeFiles = pulumi.secret(recordOf(artifacts, (a) => a.nodeFiles));
        this.etcdVersion = podSettings.version.text;

        this.registerOutputs({
            caCertPem: this.caCertPem,
            peerCaCertPem: this.peerCaCertPem,
            memberCertificates: this.memberCertificates,
            memberCredentials: this.memberCredentials,
            clientCredentials: this.clientCredentials,
            certificates: this.certificates,
            etcdManifests: this.etcdManifests,
            nodeFiles: this.nodeFiles,
            etcdVersion: this.etcdVersion,
        });
    }
}

function certificateInfo(cert: IssuedCertificate): pulumi.Output<CertificateInfo> {
    return cert.notAfter.apply((notAfter) => ({
        id: cert.id,
        commonName: cert.commonName,
        issuer: cert.issuer,
        notAfter,
    }));
}

/** An output record from a record of per-entry outputs. */
function recordOf<T, U>(
    entries: Record<string, T>,
    toOutput: (entry: T) => pulumi.Output<U>,
): pulumi.Output<Record<string, U>> {
    const outputs: Record<string, pulumi.Output<U>> = {};
    for (const [key, entry] of Object.entries(entries)) {
        outputs[key] = toOutput(entry);
    }
    return pulumi.all(outputs) as pulumi.Output<Record<string, U>>;
}
