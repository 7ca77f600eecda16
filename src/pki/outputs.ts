// What the cluster publishes about its certificates: public certificates, credentials (secret), expiries.

/** A member's certificates (public). */
export interface MemberCertificates {
    /** Server certificate for the client port (2379), signed by the etcd CA that issues now. */
    serverCertPem: string;
    /** Peer certificate for the peer port (2380), signed by the peer CA that issues now. */
    peerCertPem: string;
}

/** A member's certificates and their private keys. */
export interface MemberCredentials extends MemberCertificates {
    /** The server certificate's private key (PEM). */
    serverKeyPem: string;
    /** The peer certificate's private key (PEM). */
    peerKeyPem: string;
}

/** Everything a client needs to reach etcd over mTLS. */
export interface ClientCredentials {
    /** The client certificate (PEM). */
    certPem: string;
    /** Its private key (PEM). */
    keyPem: string;
    /**
     * The etcd CA's trust bundle, to verify the members' server certificates: both generations'
     * certificates while the etcd CA is being rotated, else the one CA's.
     */
    caCertPem: string;
}

/** One issued certificate, for expiry monitoring. */
export interface CertificateInfo {
    /** `etcd-ca` (`etcd-ca-<N>` from generation 2), `etcd-peer-ca` (`etcd-peer-ca-<N>`), `member/<name>/server`, `member/<name>/peer` or `client/<name>`. */
    id: string;
    /** The certificate's subject CN. */
    commonName: string;
    /** CN of the issuing CA. */
    issuer: string;
    /**
     * The certificate's serial number, lowercase hex without leading zeros: what
     * `revokedCertificates` takes to revoke it.
     */
    serialNumber: string;
    /** Expiry as an RFC 3339 timestamp. */
    notAfter: string;
}
