// The AWS KMS plugin (kubernetes-sigs/aws-encryption-provider) as a static pod beside each
// kube-apiserver: it serves KMS v2 on a unix socket the apiserver mounts too.

export const KMS_SOCKET_DIR = "/var/run/kmsplugin";
export const KMS_SOCKET = `${KMS_SOCKET_DIR}/socket.sock`;
export const KMS_ENDPOINT = `unix://${KMS_SOCKET}`;
/** Off :8080, which kube-apiserver may use on the host network. */
export const DEFAULT_KMS_PLUGIN_HEALTH_PORT = 8083;
/**
 * The plugin's user and group: distroless's `nonroot` (65532), no account on the node. It owns the
 * socket directory; kube-apiserver (root under kubeadm) reaches the socket regardless.
 */
export const KMS_PLUGIN_UID = 65532;

/**
 * systemd-tmpfiles creates the socket directory owned by the plugin's user at every boot (it is
 * under /run, emptied at boot), before kubelet starts the plugin: a kubelet-created directory would
 * be root's, and a non-root plugin could not bind its socket there.
 */
export const KMS_TMPFILES_CONF = "/etc/tmpfiles.d/aws-encryption-provider.conf";
/** The socket directory as systemd names it: /var/run is a symlink to /run, which tmpfiles wants. */
export const KMS_SOCKET_DIR_CANONICAL = KMS_SOCKET_DIR.replace(/^\/var\/run\//, "/run/");
export const kmsTmpfilesConf = () =>
    `# secure-etcd: the AWS KMS plugin's socket directory, owned by its non-root user\n` +
    `d ${KMS_SOCKET_DIR_CANONICAL} 0700 ${KMS_PLUGIN_UID} ${KMS_PLUGIN_UID} -\n`;

export interface KmsPluginPodInput {
    image: string;
    /** The key's ARN; never an alias, which could be re-pointed and strand every object. */
    keyArn: string;
    region: string;
    healthPort: number;
}

export function renderKmsPluginPod(input: KmsPluginPodInput): Record<string, unknown> {
    const probe = (fields: Record<string, number>) => ({
        httpGet: { host: "127.0.0.1", path: "/healthz", port: input.healthPort, scheme: "HTTP" },
        ...fields,
    });
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: "aws-encryption-provider",
            namespace: "kube-system",
            labels: { component: "aws-encryption-provider", tier: "control-plane" },
        },
        spec: {
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            securityContext: {
                runAsNonRoot: true,
                runAsUser: KMS_PLUGIN_UID,
                runAsGroup: KMS_PLUGIN_UID,
                seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
                {
                    name: "aws-encryption-provider",
                    image: input.image,
                    imagePullPolicy: "IfNotPresent",
                    command: [
                        "/aws-encryption-provider",
                        `--key=${input.keyArn}`,
                        `--region=${input.region}`,
                        `--listen=${KMS_SOCKET}`,
                        `--health-port=127.0.0.1:${input.healthPort}`,
                    ],
                    resources: { requests: { cpu: "10m", memory: "32Mi" } },
                    securityContext: {
                        allowPrivilegeEscalation: false,
                        privileged: false,
                        readOnlyRootFilesystem: true,
                        capabilities: { drop: ["ALL"] },
                    },
                    livenessProbe: probe({
                        initialDelaySeconds: 10,
                        periodSeconds: 10,
                        timeoutSeconds: 5,
                        failureThreshold: 3,
                    }),
                    volumeMounts: [{ name: "kmsplugin-socket", mountPath: KMS_SOCKET_DIR }],
                },
            ],
            // "Directory", not "DirectoryOrCreate": without the tmpfiles entry the pod fails to start
            // with a clear event instead of binding into a directory kubelet made for root.
            volumes: [{ name: "kmsplugin-socket", hostPath: { path: KMS_SOCKET_DIR, type: "Directory" } }],
        },
    };
}
