// Lifts the pure renderers over outputs: per member, the etcd static pod and the node file bundle.
import * as pulumi from "@pulumi/pulumi";
import { renderEtcdFlags } from "../manifests/etcdFlags";
import { EtcdVersion } from "../manifests/etcdVersion";
import { NodeFile, renderMemberNodeFiles } from "../manifests/nodeFiles";
import { renderEtcdPod, toYaml } from "../manifests/staticPod";
import { EtcdPki } from "../pki/etcdPki";

export interface PodSettings {
    version: EtcdVersion;
    imageRepository: string;
    imageDigest?: string;
    uid: number;
    gid: number;
}

export interface MemberArtifacts {
    manifestYaml: pulumi.Output<string>;
    /** Secret: holds the member's keys. */
    nodeFiles: pulumi.Output<NodeFile[]>;
    /**
     * The same files with the certificates' and keys' contents left empty: public, for what
     * describes a node without carrying its secrets (the cloud-init user-data).
     */
    fileLayout: pulumi.Output<NodeFile[]>;
}

export function memberArtifacts(
    clusterName: string,
    members: { name: string; ip: pulumi.Output<string> }[],
    pki: EtcdPki,
    settings: pulumi.Output<PodSettings>,
    extras: {
        /** Serve metrics on the member's address too (a monitoring group is named). */
        exposeMetrics: boolean;
        /** Per member, more files for its node (host firewall, RBAC bootstrap). */
        files: (member: string, addresses: pulumi.Output<{ name: string; ip: string }[]>) => pulumi.Output<NodeFile[]>;
    },
): Record<string, MemberArtifacts> {
    const addresses = pulumi.all(members.map((m) => m.ip.apply((ip) => ({ name: m.name, ip }))));
    const result: Record<string, MemberArtifacts> = {};
    for (const member of members) {
        const manifestYaml = pulumi.all([addresses, settings]).apply(([all, s]) => {
            const self = all.find((a) => a.name === member.name)!;
            const flags = renderEtcdFlags({
                member: self,
                members: all,
                clusterToken: clusterName,
                version: s.version,
                exposeMetrics: extras.exposeMetrics,
            });
            return toYaml(renderEtcdPod({ flags, ...s }));
        });
        const creds = pki.members[member.name];
        const extraFiles = extras.files(member.name, addresses);
        const pems = pulumi.all([
            pki.etcdCa.certPem,
            pki.peerCa.certPem,
            creds.server.certPem,
            creds.server.keyPem,
            creds.peer.certPem,
            creds.peer.keyPem,
        ]);
        const nodeFiles = pulumi
            .all([manifestYaml, settings, extraFiles, pems])
            .apply(
                ([yaml, s, extra, [caCertPem, peerCaCertPem, serverCertPem, serverKeyPem, peerCertPem, peerKeyPem]]) =>
                    renderMemberNodeFiles({
                        manifestYaml: yaml,
                        caCertPem,
                        peerCaCertPem,
                        serverCertPem,
                        serverKeyPem,
                        peerCertPem,
                        peerKeyPem,
                        uid: s.uid,
                        gid: s.gid,
                        extraFiles: extra,
                    }),
            );
        // Only the layout: every content is blanked, so the layout is public even though extra
        // files may hold a secret (the RBAC root password).
        const extraLayout = pulumi.unsecret(extraFiles.apply((files) => files.map((f) => ({ ...f, content: "" }))));
        const fileLayout = pulumi.all([manifestYaml, settings, extraLayout]).apply(([yaml, s, extra]) =>
            renderMemberNodeFiles({
                manifestYaml: yaml,
                caCertPem: "",
                peerCaCertPem: "",
                serverCertPem: "",
                serverKeyPem: "",
                peerCertPem: "",
                peerKeyPem: "",
                uid: s.uid,
                gid: s.gid,
                extraFiles: extra,
            }),
        );
        result[member.name] = { manifestYaml, nodeFiles: pulumi.secret(nodeFiles), fileLayout };
    }
    return result;
}
