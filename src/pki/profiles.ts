// Certificate profiles as data, after kubeadm's etcd certificates (the Kubernetes docs' "PKI
// certificates and requirements", https://kubernetes.io/docs/setup/best-practices/certificates/): who
// signs what, for which uses, with which names. The wiring in etcdPki.ts only reads this table.

/** Uses in the tls provider's snake_case spelling; the provider rejects any other spelling. */
export type TlsUse =
    "digital_signature" | "key_encipherment" | "cert_signing" | "crl_signing" | "server_auth" | "client_auth";

export interface CaProfile {
    commonName: string;
    allowedUses: TlsUse[];
}

export interface LeafProfile {
    allowedUses: TlsUse[];
    /** Which CA signs it. The peer CA signs only peer certificates. */
    signer: "etcd" | "peer";
    /** Whether the member's names and addresses go into SANs; client certificates carry none. */
    memberSans: boolean;
}

export const CA_PROFILES = {
    etcd: {
        commonName: "etcd-ca",
        allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
    },
    // A CA of its own for the peer port: a client certificate from the etcd CA can then never
    // complete a handshake on 2380, even though etcd's SAN check passes certificates without SANs.
    peer: {
        commonName: "etcd-peer-ca",
        allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
    },
} as const satisfies Record<string, CaProfile>;

export const LEAF_PROFILES = {
    // clientAuth too: etcd reuses its server certificate when its gateway dials the cluster.
    server: {
        allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        signer: "etcd",
        memberSans: true,
    },
    // Peers both listen and dial with this certificate.
    peer: {
        allowedUses: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
        signer: "peer",
        memberSans: true,
    },
    client: {
        allowedUses: ["digital_signature", "key_encipherment", "client_auth"],
        signer: "etcd",
        memberSans: false,
    },
} as const satisfies Record<string, LeafProfile>;

export interface BuiltInClient {
    name: string;
    commonName: string;
    purpose: string;
}

/** Clients every cluster gets. Their CNs become etcd user names once auth is on. */
export const BUILT_IN_CLIENTS: readonly BuiltInClient[] = [
    {
        name: "kube-apiserver-etcd-client",
        commonName: "kube-apiserver-etcd-client",
        purpose: "kube-apiserver's connection to etcd",
    },
    {
        name: "kube-etcd-healthcheck-client",
        commonName: "kube-etcd-healthcheck-client",
        purpose: "health checks; no key reads",
    },
    { name: "etcd-backup", commonName: "etcd-backup", purpose: "snapshots for backups" },
];

export interface MemberSans {
    dnsNames: string[];
    ipAddresses: string[];
}

/**
 * The SANs of a member's server and peer certificates: its name, `localhost`, its extra DNS
 * names, its IP, and the loopback addresses (etcd's own clients dial 127.0.0.1 and ::1).
 */
export function memberSans(name: string, ip: string, dnsNames: readonly string[]): MemberSans {
    return {
        dnsNames: unique([name, "localhost", ...dnsNames]),
        ipAddresses: unique([ip, "127.0.0.1", "::1"]),
    };
}

function unique(values: string[]): string[] {
    return [...new Set(values)];
}
