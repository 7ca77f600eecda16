// The AWS KMS plugin (kubernetes-sigs/aws-encryption-provider) as a static pod beside each
// kube-apiserver: it serves KMS v2 on a unix socket the apiserver mounts too.

export const KMS_SOCKET_DIR = "/var/run/kmsplugin";
export const KMS_SOCKET = `${KMS_SOCKET_DIR}/socket.sock`;
export const KMS_ENDPOINT = `unix://${KMS_SOCKET}`;
/** Off :8080, which kube-apiserver may use on the host network. */
export const DEFAULT_KMS_PLUGIN_HEALTH_PORT = 8083;

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
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
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
            volumes: [{ name: "kmsplugin-socket", hostPath: { path: KMS_SOCKET_DIR, type: "DirectoryOrCreate" } }],
        },
    };
}
