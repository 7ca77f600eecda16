// CIS Kubernetes Benchmark checks that touch etcd (kube-bench cis-1.9 to 1.12), as a pure function
// over one member's rendered artifacts: the static pod's command line and the node files.
import { NodeFile } from "../manifests/nodeFiles";
import { NODE_PATHS } from "../manifests/nodeLayout";

export interface CisResult {
    id: string;
    title: string;
    pass: boolean;
    detail: string;
}

export interface MemberArtifactsForCis {
    /** The etcd container's command, `etcd` first. */
    command: string[];
    /** The pod's runAsUser: the etcd user. */
    runAsUser: number;
    manifestPath: string;
    nodeFiles: NodeFile[];
    /** The Kubernetes cluster CA, to prove etcd's CA is a different one (2.7). */
    kubernetesCaCertPem?: string;
}

function flagValue(command: string[], name: string): string | undefined {
    const hit = command.find((f) => f === name || f.startsWith(`${name}=`));
    return hit === undefined ? undefined : hit === name ? "true" : hit.slice(name.length + 1);
}

/** Whether `mode` grants nothing beyond `limit` (both octal strings). */
export function modeAtMost(mode: string, limit: string): boolean {
    return (parseInt(mode, 8) & ~parseInt(limit, 8)) === 0;
}

// eslint-disable-next-line max-lines-per-function -- a table of CIS checks, one entry per recommendation
export function checkEtcdMember(a: MemberArtifactsForCis): CisResult[] {
    const flag = (n: string) => flagValue(a.command, n);
    const file = (path: string | undefined) => a.nodeFiles.find((f) => f.path === path);
    const results: CisResult[] = [];
    const add = (id: string, title: string, pass: boolean, detail: string) => results.push({ id, title, pass, detail });

    add(
        "2.1",
        "--cert-file and --key-file are set",
        !!flag("--cert-file") && !!flag("--key-file"),
        `cert ${flag("--cert-file")}, key ${flag("--key-file")}`,
    );
    add(
        "2.2",
        "--client-cert-auth is true",
        flag("--client-cert-auth") === "true",
        `--client-cert-auth=${flag("--client-cert-auth")}`,
    );
    add("2.3", "--auto-tls is not true", flag("--auto-tls") !== "true", `--auto-tls=${flag("--auto-tls")}`);
    add(
        "2.4",
        "--peer-cert-file and --peer-key-file are set",
        !!flag("--peer-cert-file") && !!flag("--peer-key-file"),
        `cert ${flag("--peer-cert-file")}, key ${flag("--peer-key-file")}`,
    );
    add(
        "2.5",
        "--peer-client-cert-auth is true",
        flag("--peer-client-cert-auth") === "true",
        `--peer-client-cert-auth=${flag("--peer-client-cert-auth")}`,
    );
    add(
        "2.6",
        "--peer-auto-tls is not true",
        flag("--peer-auto-tls") !== "true",
        `--peer-auto-tls=${flag("--peer-auto-tls")}`,
    );
    const caFile = file(flag("--trusted-ca-file"));
    const sharesClusterCa =
        caFile !== undefined &&
        a.kubernetesCaCertPem !== undefined &&
        caFile.content.trim() === a.kubernetesCaCertPem.trim();
    add(
        "2.7",
        "a unique CA is used for etcd",
        caFile !== undefined && !sharesClusterCa,
        caFile
            ? sharesClusterCa
                ? "etcd trusts the Kubernetes cluster CA"
                : `${caFile.path} is etcd's own CA`
            : "--trusted-ca-file missing or not shipped",
    );

    const manifest = file(a.manifestPath);
    add(
        "1.1.7",
        "etcd pod manifest is 0600 or stricter",
        !!manifest && modeAtMost(manifest.mode, "0600"),
        `${a.manifestPath} ${manifest?.mode}`,
    );
    add(
        "1.1.8",
        "etcd pod manifest is owned by root:root",
        manifest?.owner === "0:0",
        `${a.manifestPath} ${manifest?.owner}`,
    );
    const dataDir = file(flag("--data-dir"));
    add(
        "1.1.11",
        "etcd data dir is 0700 or stricter",
        !!dataDir && modeAtMost(dataDir.mode, "0700"),
        `${dataDir?.path} ${dataDir?.mode}`,
    );
    add(
        "1.1.12",
        "etcd data dir is owned by the etcd user",
        !!dataDir && dataDir.owner.split(":")[0] === String(a.runAsUser) && a.runAsUser !== 0,
        `${dataDir?.path} ${dataDir?.owner}, etcd runs as ${a.runAsUser}`,
    );

    const keyPaths = new Set([flag("--key-file"), flag("--peer-key-file")]);
    const pkiFiles = a.nodeFiles.filter((f) => f.path.startsWith("/etc/kubernetes/pki/"));
    const isKey = (f: NodeFile) => keyPaths.has(f.path) || f.path.endsWith(".key");
    const keys = pkiFiles.filter(isKey);
    const others = pkiFiles.filter((f) => !isKey(f));
    // etcd's own keys are owned by the etcd user, their only reader, because etcd does not run as
    // root; every other file, other keys included (the RBAC bootstrap's, read by root), is root's.
    const etcdUser = String(a.runAsUser);
    const etcdKeys = new Set([...keyPaths, NODE_PATHS.serverKey, NODE_PATHS.peerKey]);
    const misowned = pkiFiles.filter((f) =>
        etcdKeys.has(f.path) ? f.owner.split(":")[0] !== etcdUser : f.owner !== "0:0",
    );
    add(
        "1.1.19",
        "PKI directory and files are owned by root:root (etcd's keys: by the etcd user that reads them)",
        misowned.length === 0,
        misowned.map((f) => `${f.path} ${f.owner}`).join(", ") || "root-owned; etcd's keys owned by the etcd user",
    );
    const certs = others.filter((f) => !f.directory);
    add(
        "1.1.20",
        "PKI certificate files are 0644 or stricter",
        certs.every((f) => modeAtMost(f.mode, "0644")),
        certs.map((f) => `${f.path} ${f.mode}`).join(", "),
    );
    add(
        "1.1.21",
        "PKI key files are 0600 or stricter",
        keys.length > 0 && keys.every((f) => modeAtMost(f.mode, "0600")),
        keys.map((f) => `${f.path} ${f.mode}`).join(", "),
    );
    return results;
}
