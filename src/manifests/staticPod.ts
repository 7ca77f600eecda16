// The etcd static pod for one member, built as a typed object and serialized as YAML (core/yaml).
import { etcdFeatures, EtcdVersion } from "./etcdVersion";
import { ETCD_PORTS, NODE_PATHS } from "./nodeLayout";

export interface EtcdPodInput {
    flags: string[];
    version: EtcdVersion;
    /** Repository of the etcd image. */
    imageRepository: string;
    /** Optional `sha256:...` digest to pin the image. */
    imageDigest?: string;
    uid: number;
    gid: number;
    /**
     * SHA-256 (hex) of the trust bundles the member reads (`ca.crt` then `peer-ca.crt`), carried as
     * an annotation: etcd reads its trusted CA files only at start, so a changed bundle must change
     * the manifest for the member to restart with it.
     */
    trustBundleSha256?: string;
    /**
     * SHA-256 (hex) of the CRLs (`ca.crl` then `peer-ca.crl`), carried as an annotation: etcd checks
     * a CRL when it accepts a connection, so a connection opened with a certificate before it was
     * revoked stays open until the member restarts; a new CRL restarts the members (one at a time,
     * node sync) to cut such connections too.
     */
    crlSha256?: string;
}

/** The annotation that carries {@link EtcdPodInput.trustBundleSha256}. */
export const TRUST_BUNDLE_ANNOTATION = "secure-etcd.io/trust-bundle-sha256";
/** The annotation that carries {@link EtcdPodInput.crlSha256}. */
export const CRL_ANNOTATION = "secure-etcd.io/crl-sha256";

function podAnnotations(input: EtcdPodInput): { annotations?: Record<string, string> } {
    const annotations: Record<string, string> = {
        ...(input.trustBundleSha256 !== undefined ? { [TRUST_BUNDLE_ANNOTATION]: input.trustBundleSha256 } : {}),
        ...(input.crlSha256 !== undefined ? { [CRL_ANNOTATION]: input.crlSha256 } : {}),
    };
    return Object.keys(annotations).length > 0 ? { annotations } : {};
}

interface HttpProbe {
    httpGet: { host: string; path: string; port: number; scheme: "HTTP" };
    initialDelaySeconds?: number;
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
}

/**
 * Where the kubelet probes: the host of the rendered `--listen-metrics-urls`, 127.0.0.1 for a member
 * on a routable address and the member's own address for one on loopback (see renderEtcdFlags).
 */
export function metricsHost(flags: string[]): string {
    const prefix = "--listen-metrics-urls=";
    const url = flags
        .find((f) => f.startsWith(prefix))
        ?.slice(prefix.length)
        .split(",")[0];
    // A probe's host is a bare address: no brackets around IPv6.
    return url ? new URL(url).hostname.replace(/^\[(.*)\]$/, "$1") : "127.0.0.1";
}

function probe(host: string, path: string, fields: Omit<HttpProbe, "httpGet">): HttpProbe {
    return { httpGet: { host, path, port: ETCD_PORTS.metrics, scheme: "HTTP" }, ...fields };
}

/** kubeadm's probes: /livez and /readyz from 3.5.11, the /health endpoint before. */
export function etcdProbes(version: EtcdVersion): { liveness: string; readiness: string; startup: string } {
    if (etcdFeatures(version).livezReadyz) {
        return { liveness: "/livez", readiness: "/readyz", startup: "/readyz" };
    }
    return { liveness: "/health", readiness: "/health", startup: "/health" };
}

export function etcdImage(input: Pick<EtcdPodInput, "imageRepository" | "imageDigest" | "version">): string {
    const tag = `${input.imageRepository}:${input.version.text}-0`;
    return input.imageDigest ? `${tag}@${input.imageDigest}` : tag;
}

export function renderEtcdPod(input: EtcdPodInput): Record<string, unknown> {
    const paths = etcdProbes(input.version);
    const host = metricsHost(input.flags);
    const identity = { runAsNonRoot: true, runAsUser: input.uid, runAsGroup: input.gid };
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: "etcd",
            namespace: "kube-system",
            labels: { component: "etcd", tier: "control-plane" },
            ...podAnnotations(input),
        },
        spec: {
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            securityContext: { ...identity, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
                {
                    name: "etcd",
                    image: etcdImage(input),
                    imagePullPolicy: "IfNotPresent",
                    command: ["etcd", ...input.flags],
                    resources: { requests: { cpu: "100m", memory: "100Mi" } },
                    securityContext: {
                        ...identity,
                        allowPrivilegeEscalation: false,
                        privileged: false,
                        readOnlyRootFilesystem: true,
                        capabilities: { drop: ["ALL"] },
                    },
                    livenessProbe: probe(host, paths.liveness, {
                        initialDelaySeconds: 10,
                        periodSeconds: 10,
                        timeoutSeconds: 15,
                        failureThreshold: 8,
                    }),
                    readinessProbe: probe(host, paths.readiness, {
                        periodSeconds: 1,
                        timeoutSeconds: 15,
                        failureThreshold: 3,
                    }),
                    startupProbe: probe(host, paths.startup, {
                        initialDelaySeconds: 10,
                        periodSeconds: 10,
                        timeoutSeconds: 15,
                        failureThreshold: 24,
                    }),
                    volumeMounts: [
                        { name: "etcd-data", mountPath: NODE_PATHS.dataDir },
                        { name: "etcd-certs", mountPath: NODE_PATHS.pkiDir, readOnly: true },
                    ],
                },
            ],
            volumes: [
                { name: "etcd-data", hostPath: { path: NODE_PATHS.dataDir, type: "DirectoryOrCreate" } },
                { name: "etcd-certs", hostPath: { path: NODE_PATHS.pkiDir, type: "Directory" } },
            ],
        },
    };
}
