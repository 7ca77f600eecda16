// The etcd static pod: release, image and the identity it runs as.
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_ETCD_VERSION } from "./etcdVersion";

export interface EtcdPodArgs {
    /**
     * The etcd release the static pods run; chooses flags and probes. 3.7, 3.6, 3.5 and 3.4 lines; a
     * release older than its line's latest security fix is warned about.
     * @default "3.6.14"
     */
    etcdVersion?: pulumi.Input<string>;
    /**
     * Image repository of etcd; the tag is `<etcdVersion>-0`.
     * @default "registry.k8s.io/etcd"
     */
    etcdImageRepository?: pulumi.Input<string>;
    /**
     * Pins the etcd image to a digest (`sha256:<64 hex>`).
     * @default none (tag only)
     */
    etcdImageDigest?: pulumi.Input<string>;
    /**
     * The uid etcd runs as, and owner of its keys and data dir. Never 0: etcd does not run as root.
     * @default 2379
     */
    etcdUid?: pulumi.Input<number>;
    /**
     * The gid etcd runs as.
     * @default 2379
     */
    etcdGid?: pulumi.Input<number>;
}

export const POD_DEFAULTS = {
    etcdVersion: DEFAULT_ETCD_VERSION,
    etcdImageRepository: "registry.k8s.io/etcd",
    etcdUid: 2379,
    etcdGid: 2379,
} as const;
