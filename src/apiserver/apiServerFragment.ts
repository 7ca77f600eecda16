// What kube-apiserver needs to use this etcd: flags, volumes and mounts for a hand-written
// static pod, the same as a kubeadm ClusterConfiguration (v1beta4), and the files its node needs.
import { toYaml } from "../core/yaml";
import { KMS_SOCKET_DIR, KMS_TMPFILES_CONF, kmsTmpfilesConf } from "../encryption/kmsPlugin";
import { ETCD_PORTS, urlHost } from "../manifests/nodeLayout";
import { NodeFile } from "../manifests/nodeFiles";

export const APISERVER_PATHS = {
    /** kubeadm's paths, inside the /etc/kubernetes/pki that kubeadm mounts already. */
    pkiDir: "/etc/kubernetes/pki",
    etcdCaDir: "/etc/kubernetes/pki/etcd",
    etcdCaFile: "/etc/kubernetes/pki/etcd/ca.crt",
    etcdCertFile: "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    etcdKeyFile: "/etc/kubernetes/pki/apiserver-etcd-client.key",
    encryptionConfigDir: "/etc/kubernetes/enc",
    encryptionConfig: "/etc/kubernetes/enc/encryption-config.yaml",
} as const;

/** Strong TLS 1.2 suites for the apiserver's own listener (CIS 1.2.29); TLS 1.3 suites are fixed by Go. */
export const APISERVER_TLS_CIPHER_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/** A directory or file of the host, as a pod's `hostPath`. */
export interface HostPathSource {
    /** The path on the host. */
    path: string;
    /** The hostPath type, e.g. `DirectoryOrCreate` or `File`. */
    type: string;
}

/** A kube-apiserver pod volume. */
export interface Volume {
    /** The volume's name, referenced by its mount. */
    name: string;
    /** Where on the host it comes from. */
    hostPath: HostPathSource;
}

/** Where a volume appears in the kube-apiserver container. */
export interface VolumeMount {
    /** The volume's name. */
    name: string;
    /** The path in the container. */
    mountPath: string;
    /** Always true: kube-apiserver only reads these. */
    readOnly: boolean;
}

/** The kube-apiserver side of this etcd: add these to its static pod. */
export interface ApiServerFragment {
    /** `https://<member ip>:2379` for every member. */
    etcdServers: string[];
    /** `--name=value` flags. */
    flags: string[];
    /** The hostPath volumes the pod needs for etcd and encryption at rest. */
    volumes: Volume[];
    /** Their read-only mounts in the kube-apiserver container. */
    volumeMounts: VolumeMount[];
}

export interface ApiServerFragmentInput {
    memberIps: string[];
    automaticReload: boolean;
    kms: boolean;
}

interface Mounted {
    volume: Volume;
    mount: VolumeMount;
    /** kubeadm mounts /etc/kubernetes/pki itself; this one only goes to hand-written pods. */
    kubeadmHasIt: boolean;
}

function mounted(input: ApiServerFragmentInput): Mounted[] {
    const hostDir = (name: string, path: string, type: string, kubeadmHasIt = false): Mounted => ({
        volume: { name, hostPath: { path, type } },
        // Read-only everywhere; connecting to the KMS socket needs no write access to the mount.
        mount: { name, mountPath: path, readOnly: true },
        kubeadmHasIt,
    });
    const list = [
        hostDir("k8s-certs", APISERVER_PATHS.pkiDir, "DirectoryOrCreate", true),
        hostDir("encryption-config", APISERVER_PATHS.encryptionConfigDir, "DirectoryOrCreate"),
    ];
    if (input.kms) {
        list.push(hostDir("kmsplugin-socket", KMS_SOCKET_DIR, "DirectoryOrCreate"));
    }
    return list;
}

function apiServerFlagPairs(input: ApiServerFragmentInput): [string, string][] {
    return [
        ["etcd-servers", etcdServers(input.memberIps).join(",")],
        ["etcd-cafile", APISERVER_PATHS.etcdCaFile],
        ["etcd-certfile", APISERVER_PATHS.etcdCertFile],
        ["etcd-keyfile", APISERVER_PATHS.etcdKeyFile],
        ["encryption-provider-config", APISERVER_PATHS.encryptionConfig],
        ["encryption-provider-config-automatic-reload", String(input.automaticReload)],
        ["tls-min-version", "VersionTLS12"],
        ["tls-cipher-suites", APISERVER_TLS_CIPHER_SUITES.join(",")],
    ];
}

export function etcdServers(memberIps: string[]): string[] {
    return memberIps.map((ip) => `https://${urlHost(ip)}:${ETCD_PORTS.client}`);
}

export function renderApiServerFragment(input: ApiServerFragmentInput): ApiServerFragment {
    const m = mounted(input);
    return {
        etcdServers: etcdServers(input.memberIps),
        flags: apiServerFlagPairs(input).map(([name, value]) => `--${name}=${value}`),
        volumes: m.map((x) => x.volume),
        volumeMounts: m.map((x) => x.mount),
    };
}

/** kubeadm's ClusterConfiguration (v1beta4) with this etcd as external etcd. */
export function renderKubeadmClusterConfiguration(input: ApiServerFragmentInput): string {
    const etcdFlags = new Set(["etcd-servers", "etcd-cafile", "etcd-certfile", "etcd-keyfile"]);
    const config = {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        etcd: {
            external: {
                endpoints: etcdServers(input.memberIps),
                caFile: APISERVER_PATHS.etcdCaFile,
                certFile: APISERVER_PATHS.etcdCertFile,
                keyFile: APISERVER_PATHS.etcdKeyFile,
            },
        },
        apiServer: {
            // v1beta4 takes extraArgs as an ordered list of name/value pairs.
            extraArgs: apiServerFlagPairs(input)
                .filter(([name]) => !etcdFlags.has(name))
                .map(([name, value]) => ({ name, value })),
            extraVolumes: mounted(input)
                .filter((x) => !x.kubeadmHasIt)
                .map((x) => ({
                    name: x.volume.name,
                    hostPath: x.volume.hostPath.path,
                    mountPath: x.mount.mountPath,
                    readOnly: x.mount.readOnly,
                    pathType: x.volume.hostPath.type,
                })),
        },
    };
    return toYaml(config);
}

export interface ApiServerNodeFilesInput {
    caCertPem: string;
    clientCertPem: string;
    clientKeyPem: string;
    encryptionConfigYaml: string;
    /** With the KMS plugin: its socket directory, owned by its non-root user, made at every boot. */
    kms: boolean;
}

/**
 * The files a kube-apiserver node needs for etcd, root-owned (kube-apiserver runs as root under
 * kubeadm); with KMS, the tmpfiles entry for the plugin's socket directory (run
 * `systemd-tmpfiles --create` once after writing it; boots do it themselves).
 */
export function renderApiServerNodeFiles(input: ApiServerNodeFilesInput): NodeFile[] {
    const root = "0:0";
    const file = (path: string, mode: string, content: string): NodeFile => ({
        path,
        mode,
        owner: root,
        content,
        directory: false,
    });
    const dir = (path: string, mode: string): NodeFile => ({ path, mode, owner: root, content: "", directory: true });
    return [
        dir(APISERVER_PATHS.pkiDir, "0755"),
        dir(APISERVER_PATHS.etcdCaDir, "0755"),
        file(APISERVER_PATHS.etcdCaFile, "0644", input.caCertPem),
        file(APISERVER_PATHS.etcdCertFile, "0644", input.clientCertPem),
        file(APISERVER_PATHS.etcdKeyFile, "0600", input.clientKeyPem),
        dir(APISERVER_PATHS.encryptionConfigDir, "0700"),
        file(APISERVER_PATHS.encryptionConfig, "0600", input.encryptionConfigYaml),
        ...(input.kms ? [file(KMS_TMPFILES_CONF, "0644", kmsTmpfilesConf())] : []),
    ];
}
