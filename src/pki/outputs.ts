// What the cluster publishes about its certificates: public certificates, credentials (secret), expiries.

/** A member's certificates (public). */
export interface MemberCertificates {
    /** Server certificate for the client port (2379), signed by the etcd CA. */
    serverCertPem: string;
    /** Peer certificate for the peer port (2380), signed by the peer CA. */
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
    /** The etcd CA, to verify the members' server certificates. */
    caCertPem: string;
}

/** One issued certificate, for expiry monitoring. */
export interface CertificateInfo {
    /** `etcd-ca`, `etcd-peer-ca`, `member/<name>/server`, `member/<name>/peer` or `client/<name>`. */
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
