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
            });
            return toYaml(renderEtcdPod({ flags, ...s }));
        });
        const creds = pki.members[member.name];
        const nodeFiles = pulumi
            .all([
                manifestYaml,
                settings,
                pki.etcdCa.certPem,
                pki.peerCa.certPem,
                creds.server.certPem,
                creds.server.keyPem,
                creds.peer.certPem,
                creds.peer.keyPem,
            ])
            .apply(([yaml, s, caCertPem, peerCaCertPem, serverCertPem, serverKeyPem, peerCertPem, peerKeyPem]) =>
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
                }),
            );
        const fileLayout = pulumi.all([manifestYaml, settings]).apply(([yaml, s]) =>
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
            }),
        );
        result[member.name] = { manifestYaml, nodeFiles: pulumi.secret(nodeFiles), fileLayout };
    }
    return result;
}
