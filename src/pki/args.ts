// The cluster's PKI: key type, validities and the extra clients that get a certificate.
import * as pulumi from "@pulumi/pulumi";

/** Key types for every certificate the cluster issues (kubeadm offers the same set). */
export enum KeyAlgorithm {
    /** ECDSA on NIST P-256: small, fast handshakes; the default. */
    EcdsaP256 = "ECDSA-P256",
    /** ECDSA on NIST P-384. */
    EcdsaP384 = "ECDSA-P384",
    /** RSA with a 2048-bit modulus (kubeadm's default). */
    Rsa2048 = "RSA-2048",
    /** RSA with a 3072-bit modulus. */
    Rsa3072 = "RSA-3072",
    /** RSA with a 4096-bit modulus. */
    Rsa4096 = "RSA-4096",
}

/**
 * Where a CA rotation stands. Each stage is one `pulumi up`, taken in order, with the nodes synced
 * (and kube-apiserver restarted) in between: see the runbook "Rotate the etcd CA or the peer CA".
 */
export enum CaRotationStage {
    /**
     * Stage 1: this generation's CA exists and every trust bundle holds it beside the previous
     * generation's; every certificate is still issued by the previous CA.
     */
    TrustNew = "trust-new",
    /** Stage 2: both CAs are still trusted; every certificate is issued by this generation's CA. */
    IssueFromNew = "issue-from-new",
    /** Stage 3, and the steady state: only this generation's CA exists and is trusted. */
    Complete = "complete",
}

/** An extra consumer of etcd that gets its own client certificate from the etcd CA. */
export interface ClientArgs {
    /** The key under which its credentials appear in `clientCredentials`. A DNS-1123 label. */
    name: string;
    /**
     * The certificate's CN, which etcd uses as the user name once auth is enabled. Plain, because
     * it is an identity that must not collide with the built-in clients or the members.
     * @default the client's `name`
     */
    commonName?: string;
    /**
     * etcd roles this client's user gets once auth is enabled: names from `etcdRoles`. Plain: the
     * bootstrap script and its checks are rendered from it.
     * @default none (the client can authenticate but read and write nothing)
     */
    roles?: string[];
    /**
     * Which issue of this client's key and certificate is current. Raise it (2, 3, ...) to replace
     * both with a new key and certificate under new child resources, e.g. after listing the old
     * certificate's serial in `revokedCertificates`. Plain: it names resources.
     * @default 1 (the resource names a client has always had)
     */
    generation?: number;
}

/** A certificate no member accepts any more: listed in the CRLs of both CAs. */
export interface RevokedCertificateArgs {
    /**
     * The certificate's serial number in hex, as the `certificates` output shows it (`serialNumber`);
     * any case, `:` separators allowed (as `openssl x509 -serial` or a browser shows it).
     */
    serialNumber: string;
    /**
     * When it was revoked, as an RFC 3339 date-time, e.g. `2026-11-30T10:00:00Z`. Fixes the entry's
     * revocation date and the CRL's `thisUpdate`, so the same list always gives the same CRL.
     */
    revokedAt: string;
}

export interface PkiArgs {
    /**
     * Key type of every key the cluster generates (both CAs, members and clients).
     * @default KeyAlgorithm.EcdsaP256
     */
    keyAlgorithm?: pulumi.Input<KeyAlgorithm>;
    /**
     * Validity of the etcd CA and the peer CA, in hours. CAs are not renewed automatically:
     * replacing a CA is a planned rotation.
     * @default 87600 (10 years)
     */
    caValidityHours?: pulumi.Input<number>;
    /**
     * Validity of every member and client certificate, in hours.
     * @default 8760 (1 year)
     */
    certificateValidityHours?: pulumi.Input<number>;
    /**
     * How long before expiry a `pulumi up` re-issues a member or client certificate (same key,
     * new certificate). Must be shorter than `certificateValidityHours`.
     * @default 720 (30 days)
     */
    certificateRenewalHours?: pulumi.Input<number>;
    /**
     * Extra client certificates, signed by the etcd CA with clientAuth only and no SANs. The
     * built-in clients `kube-apiserver-etcd-client`, `kube-etcd-healthcheck-client` and
     * `etcd-backup` always exist.
     * @default none
     */
    clients?: ClientArgs[];
    /**
     * Certificates to revoke, by serial number: the component publishes a CRL for the etcd CA and one
     * for the peer CA listing them all, every member gets both (`--client-crl-file`,
     * `--peer-crl-file`), and etcd refuses every new connection that presents one of them. Revoking
     * a client's certificate does not replace it: raise that client's `generation` in the same
     * `pulumi up` (docs/runbooks.md, "Revoke a client certificate").
     * @default none (both CRLs are published, empty)
     */
    revokedCertificates?: RevokedCertificateArgs[];
    /**
     * The longest `certificateValidityHours` accepted, in hours: the policy pack's leaf limit (398
     * days, what public CAs may issue) unless you raise it here deliberately.
     * @default 9552 (398 days)
     */
    maxCertificateValidityHours?: pulumi.Input<number>;
    /**
     * The longest `caValidityHours` accepted, in hours.
     * @default 175200 (20 years)
     */
    maxCaValidityHours?: pulumi.Input<number>;
    /**
     * The etcd CA's generation: raise it by one, with `etcdCaRotationStage` `trust-new`, to start
     * rotating the etcd CA (client port 2379 and every client certificate). Generation 1 is the CA
     * the cluster was created with; generation N's CA has the subject CN `etcd-ca-N`. Plain: it
     * decides which CA resources exist.
     * @default 1
     */
    etcdCaGeneration?: number;
    /**
     * Where the rotation to `etcdCaGeneration` stands. A guard refuses at preview a step that skips
     * a stage: from `complete` only to the next generation's `trust-new`, then `issue-from-new`,
     * then `complete`; `issue-from-new` back to `trust-new`, and `trust-new` back to the previous
     * generation's `complete`, are the ways back. Plain.
     * @default CaRotationStage.Complete
     */
    etcdCaRotationStage?: CaRotationStage;
    /**
     * The peer CA's generation (peer port 2380, every member's peer certificate), rotated on its
     * own like `etcdCaGeneration`; generation N's CA has the subject CN `etcd-peer-ca-N`. Plain.
     * @default 1
     */
    peerCaGeneration?: number;
    /**
     * Where the rotation to `peerCaGeneration` stands, with the same stages and guard as
     * `etcdCaRotationStage`. Plain.
     * @default CaRotationStage.Complete
     */
    peerCaRotationStage?: CaRotationStage;
}

export const PKI_DEFAULTS = {
    keyAlgorithm: KeyAlgorithm.EcdsaP256,
    caValidityHours: 87600,
    certificateValidityHours: 8760,
    certificateRenewalHours: 720,
    maxCertificateValidityHours: 9552,
    maxCaValidityHours: 175200,
    etcdCaGeneration: 1,
    etcdCaRotationStage: CaRotationStage.Complete,
    peerCaGeneration: 1,
    peerCaRotationStage: CaRotationStage.Complete,
} as const;
