// The etcd command line for one member: kubeadm's reference set plus the hardening, in the form
// the chosen version understands.
import { withoutCrlBypass } from "./crlBypass";
import { EtcdVersion, etcdFeatures } from "./etcdVersion";
import { ETCD_PORTS, isLoopbackIp, NODE_PATHS, urlHost } from "./nodeLayout";

export interface MemberAddress {
    name: string;
    ip: string;
}

export interface EtcdFlagsInput {
    member: MemberAddress;
    /** Every member, this one included, in a stable order. */
    members: MemberAddress[];
    /** Keeps members of different clusters from joining each other by mistake. */
    clusterToken: string;
    version: EtcdVersion;
    /** Also serve metrics (plain HTTP) on the member's address, for a named monitoring group. */
    exposeMetrics?: boolean;
    /** The member joins a cluster that runs already (it did not found it). */
    joining?: boolean;
    /** `--quota-backend-bytes`: etcd raises NOSPACE when its database file reaches it. */
    quotaBackendBytes?: number;
}

/** TLS 1.2 suites for versions without `--tls-min-version`: forward secrecy and AEAD only. */
export function tls12CipherSuites(version: EtcdVersion): string[] {
    const suites = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ];
    if (etcdFeatures(version).chachaCipherSuites) {
        suites.push("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    }
    return suites;
}

export function renderEtcdFlags(input: EtcdFlagsInput): string[] {
    const { member, members, version } = input;
    const features = etcdFeatures(version);
    const host = urlHost(member.ip);
    const clientUrl = `https://${host}:${ETCD_PORTS.client}`;
    const peerUrl = `https://${host}:${ETCD_PORTS.peer}`;
    // A member whose own address is a loopback one (a local cluster, as the demo's on 127.0.0.1-3)
    // takes that address as its loopback listener: one on 127.0.0.1 for every member would collide.
    const loopbackHost = isLoopbackIp(member.ip) ? host : "127.0.0.1";
    const listenClientUrls =
        loopbackHost === host ? [clientUrl] : [`https://127.0.0.1:${ETCD_PORTS.client}`, clientUrl];
    const flags = [
        `--name=${member.name}`,
        `--data-dir=${NODE_PATHS.dataDir}`,
        // Loopback for the local kube-apiserver, the member's own address for everyone else.
        `--listen-client-urls=${listenClientUrls.join(",")}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${members.map((m) => `${m.name}=https://${urlHost(m.ip)}:${ETCD_PORTS.peer}`).join(",")}`,
        // A member that joined later never founds a cluster again, even with an empty data directory.
        `--initial-cluster-state=${input.joining ? "existing" : "new"}`,
        `--initial-cluster-token=${input.clusterToken}`,
        // Client port: mTLS against the etcd CA.
        `--cert-file=${NODE_PATHS.serverCert}`,
        `--key-file=${NODE_PATHS.serverKey}`,
        `--trusted-ca-file=${NODE_PATHS.caCert}`,
        "--client-cert-auth=true",
        // Always, empty until something is revoked: a revocation then changes only the file's
        // content, which etcd reads again for every new connection (no restart).
        `--client-crl-file=${NODE_PATHS.clientCrl}`,
        "--auto-tls=false",
        // Peer port: mTLS against the peer CA only, so no client certificate can join.
        `--peer-cert-file=${NODE_PATHS.peerCert}`,
        `--peer-key-file=${NODE_PATHS.peerKey}`,
        `--peer-trusted-ca-file=${NODE_PATHS.peerCaCert}`,
        "--peer-client-cert-auth=true",
        `--peer-crl-file=${NODE_PATHS.peerCrl}`,
        "--peer-auto-tls=false",
        // Defense in depth beside the peer CA: only the members' own certificates (CN = member name)
        // complete a peer handshake, not any certificate the peer CA ever signed. A single CN before
        // 3.5.15 cannot name a member set, so older releases rely on the peer CA alone.
        ...(features.peerCertAllowedCnList ? [`--peer-cert-allowed-cn=${members.map((m) => m.name).join(",")}`] : []),
        // TLS 1.3 fixes its own suites; etcd refuses a suite list together with a 1.3 minimum.
        features.tlsMinVersion ? "--tls-min-version=TLS1.3" : `--cipher-suites=${tls12CipherSuites(version).join(",")}`,
        // Metrics and health in plain HTTP on loopback only.
        `--listen-metrics-urls=${[
            `http://${loopbackHost}:${ETCD_PORTS.metrics}`,
            ...(input.exposeMetrics && loopbackHost !== host ? [`http://${host}:${ETCD_PORTS.metrics}`] : []),
        ].join(",")}`,
        "--snapshot-count=10000",
        ...(input.quotaBackendBytes !== undefined ? [`--quota-backend-bytes=${input.quotaBackendBytes}`] : []),
        "--logger=zap",
        features.featureGates
            ? "--feature-gates=InitialCorruptCheck=true"
            : "--experimental-initial-corrupt-check=true",
    ];
    if (features.featureGates) {
        flags.push("--watch-progress-notify-interval=5s");
    } else if (features.watchProgressNotify) {
        flags.push("--experimental-watch-progress-notify-interval=5s");
    }
    return withoutCrlBypass(flags, version);
}
