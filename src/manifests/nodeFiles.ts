// Everything that lands on a member node, with modes and owners: the single description the
// cloud-init, the local demo and the conformance suite are all derived from.
import { NODE_PATHS } from "./nodeLayout";

export interface NodeFile {
    /** Absolute path on the node. */
    path: string;
    /** Octal mode, e.g. "0600". */
    mode: string;
    /** Numeric `uid:gid`. */
    owner: string;
    /** File content; empty for a directory. */
    content: string;
    /**
     * `base64` when `content` is the base64 of binary bytes (a DER CRL), which every writer decodes
     * before writing; absent for text, written as UTF-8.
     */
    encoding?: string;
    /** A directory to create rather than a file to write. */
    directory: boolean;
    /**
     * A command that puts the file into effect, run as root right after it is written (e.g.
     * `nft -f` for the host firewall); `{path}` stands for the file's path.
     */
    apply?: string[];
}

export interface MemberNodeFilesInput {
    manifestYaml: string;
    caCertPem: string;
    peerCaCertPem: string;
    serverCertPem: string;
    serverKeyPem: string;
    peerCertPem: string;
    peerKeyPem: string;
    /** The etcd CA's CRL, DER in base64 (empty in a layout). */
    clientCrlBase64: string;
    /** The peer CA's CRL, DER in base64 (empty in a layout). */
    peerCrlBase64: string;
    uid: number;
    gid: number;
    /** More files (host firewall, RBAC bootstrap), written before the static-pod manifest. */
    extraFiles?: NodeFile[];
}

export function renderMemberNodeFiles(input: MemberNodeFilesInput): NodeFile[] {
    const root = "0:0";
    const etcd = `${input.uid}:${input.gid}`;
    const file = (path: string, mode: string, owner: string, content: string): NodeFile => ({
        path,
        mode,
        owner,
        content,
        directory: false,
    });
    const dir = (path: string, mode: string, owner: string): NodeFile => ({
        path,
        mode,
        owner,
        content: "",
        directory: true,
    });
    return [
        dir(NODE_PATHS.pkiDir, "0755", root),
        file(NODE_PATHS.caCert, "0644", root, input.caCertPem),
        file(NODE_PATHS.peerCaCert, "0644", root, input.peerCaCertPem),
        file(NODE_PATHS.serverCert, "0644", root, input.serverCertPem),
        file(NODE_PATHS.peerCert, "0644", root, input.peerCertPem),
        // Public, like the certificates; binary (DER), the one form every etcd line reads.
        { ...file(NODE_PATHS.clientCrl, "0644", root, input.clientCrlBase64), encoding: "base64" },
        { ...file(NODE_PATHS.peerCrl, "0644", root, input.peerCrlBase64), encoding: "base64" },
        // Keys belong to the etcd user, the only one that reads them: etcd does not run as root.
        file(NODE_PATHS.serverKey, "0600", etcd, input.serverKeyPem),
        file(NODE_PATHS.peerKey, "0600", etcd, input.peerKeyPem),
        dir(NODE_PATHS.dataDir, "0700", etcd),
        // Before the manifest: the firewall is up before etcd listens.
        ...(input.extraFiles ?? []),
        dir("/etc/kubernetes/manifests", "0755", root),
        file(NODE_PATHS.manifest, "0600", root, input.manifestYaml),
    ];
}

/** A root-owned file of a node's bundle; `apply` runs once it is written. */
export function rootFile(path: string, mode: string, content: string, apply?: string[]): NodeFile {
    return { path, mode, owner: "0:0", content, directory: false, ...(apply ? { apply } : {}) };
}

/** A timer file's `apply`: enabled and started without waiting (its service is written before it). */
export function enableTimer(timer: string): string[] {
    return ["systemctl", "enable", "--now", "--no-block", timer];
}
