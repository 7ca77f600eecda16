// What a restore needs from the member's rendered static-pod manifest (its name, data dir, initial
// cluster and token, and who its client listeners serve), and the quarantine manifest: the same pod
// with etcd's client listeners on loopback only, so that nothing but the member's own host reaches
// it until the whole cluster is restored. Pure: text in, text out.
import * as YAML from "yaml";

export interface MemberFlags {
    name: string;
    dataDir: string;
    /** `--initial-cluster`: every member's name and peer URL. */
    initialCluster: { name: string; peerUrl: string }[];
    initialClusterToken: string;
    /** `--initial-advertise-peer-urls`. */
    peerUrl: string;
    /** `--listen-client-urls`. */
    listenClientUrls: string[];
    /** The identity etcd runs as (the container's): the owner of the data dir. */
    uid: number;
    gid: number;
}

interface PodManifest {
    spec: { containers: { command: string[]; securityContext?: { runAsUser?: number; runAsGroup?: number } }[] };
}

function parsePod(text: string, where: string): PodManifest {
    let pod: PodManifest;
    try {
        pod = YAML.parse(text) as PodManifest;
    } catch (e) {
        throw new Error(`${where} is not YAML: ${(e as Error).message}`);
    }
    if (!Array.isArray(pod?.spec?.containers?.[0]?.command)) {
        throw new Error(`${where} is not the etcd static pod secure-etcd rendered: no container command`);
    }
    return pod;
}

function flag(command: string[], name: string, where: string): string {
    const found = command.find((a) => a.startsWith(`--${name}=`));
    if (found === undefined) {
        throw new Error(`${where} has no --${name}: not an etcd static pod secure-etcd rendered`);
    }
    return found.slice(name.length + 3);
}

/** The member's flags a restore needs, from its rendered manifest. */
export function memberFlags(text: string, where: string): MemberFlags {
    const container = parsePod(text, where).spec.containers[0];
    const command = container.command;
    const identity = container.securityContext ?? {};
    if (typeof identity.runAsUser !== "number" || typeof identity.runAsGroup !== "number") {
        throw new Error(`${where} names no runAsUser/runAsGroup: not an etcd static pod secure-etcd rendered`);
    }
    const get = (name: string) => flag(command, name, where);
    return {
        name: get("name"),
        dataDir: get("data-dir"),
        initialCluster: get("initial-cluster")
            .split(",")
            .map((pair) => {
                const at = pair.indexOf("=");
                return { name: pair.slice(0, at), peerUrl: pair.slice(at + 1) };
            }),
        initialClusterToken: get("initial-cluster-token"),
        peerUrl: get("initial-advertise-peer-urls"),
        listenClientUrls: get("listen-client-urls").split(","),
        uid: identity.runAsUser,
        gid: identity.runAsGroup,
    };
}

/** Whether a URL's host is a loopback address. */
export function isLoopbackUrl(url: string): boolean {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, "$1");
    return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * The quarantine manifest: client listeners and advertised client URLs cut down to the loopback
 * ones the member already has (the rendered flags always listen on 127.0.0.1 too), everything else
 * as rendered. Throws when the member has no loopback listener to keep.
 */
export function quarantineManifest(text: string, where: string): string {
    const pod = parsePod(text, where);
    const container = pod.spec.containers[0];
    const loopback = flag(container.command, "listen-client-urls", where).split(",").filter(isLoopbackUrl);
    if (loopback.length === 0) {
        throw new Error(`${where} listens for clients on no loopback address; nothing to keep during the quarantine`);
    }
    container.command = container.command.map((a) => {
        if (a.startsWith("--listen-client-urls=")) {
            return `--listen-client-urls=${loopback.join(",")}`;
        }
        if (a.startsWith("--advertise-client-urls=")) {
            return `--advertise-client-urls=${loopback.join(",")}`;
        }
        return a;
    });
    return YAML.stringify(pod);
}
