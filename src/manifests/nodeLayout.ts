// Where things live on a member node. kubeadm's paths, so existing tooling finds them.
import * as ipaddr from "ipaddr.js";

export const ETCD_PKI_DIR = "/etc/kubernetes/pki/etcd";
export const ETCD_DATA_DIR = "/var/lib/etcd";

export const NODE_PATHS = {
    manifest: "/etc/kubernetes/manifests/etcd.yaml",
    pkiDir: ETCD_PKI_DIR,
    caCert: `${ETCD_PKI_DIR}/ca.crt`,
    peerCaCert: `${ETCD_PKI_DIR}/peer-ca.crt`,
    serverCert: `${ETCD_PKI_DIR}/server.crt`,
    serverKey: `${ETCD_PKI_DIR}/server.key`,
    peerCert: `${ETCD_PKI_DIR}/peer.crt`,
    peerKey: `${ETCD_PKI_DIR}/peer.key`,
    /** The etcd CA's CRL (DER): `--client-crl-file`. */
    clientCrl: `${ETCD_PKI_DIR}/ca.crl`,
    /** The peer CA's CRL (DER): `--peer-crl-file`. */
    peerCrl: `${ETCD_PKI_DIR}/peer-ca.crl`,
    dataDir: ETCD_DATA_DIR,
} as const;

export const ETCD_PORTS = { client: 2379, peer: 2380, metrics: 2381 } as const;

/** A host for a URL: IPv6 addresses go in brackets. */
export function urlHost(ip: string): string {
    return ip.includes(":") ? `[${ip}]` : ip;
}

/** Whether `ip` is a loopback address (127.0.0.0/8 or ::1): a member there is only reachable from its own host. */
export function isLoopbackIp(ip: string): boolean {
    return ipaddr.isValid(ip) && ipaddr.parse(ip).range() === "loopback";
}
