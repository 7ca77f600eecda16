// What a restore needs from the member's rendered static-pod manifest: its name, data dir, initial
// cluster and token, its client listeners, and the identity etcd runs as. Pure: text in, data out.
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
