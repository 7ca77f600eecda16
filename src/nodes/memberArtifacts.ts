// Lifts the pure renderers over outputs for every member at once: the etcd static pod, the node file
// bundle, its public layout and its Secrets Manager bundle, all rendered in one Output step (each
// step costs; one per file and value made the component noticeably slower than its resources).
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { renderEtcdFlags } from "../manifests/etcdFlags";
import { EtcdVersion } from "../manifests/etcdVersion";
import { NodeFile, renderMemberNodeFiles } from "../manifests/nodeFiles";
import { renderEtcdPod } from "../manifests/staticPod";
import { toYaml } from "../core/yaml";
import { MemberCredentials } from "../pki/outputs";
import { PkiCrls, PkiOutputs } from "../pki/wire";
import { MembershipRendering } from "./membershipWire";
import { memberBundle } from "./nodeSync";

export interface PodSettings {
    version: EtcdVersion;
    imageRepository: string;
    imageDigest?: string;
    uid: number;
    gid: number;
    /** `--quota-backend-bytes`. */
    quotaBackendBytes?: number;
}

export interface MemberAddress {
    name: string;
    ip: string;
}

export interface MemberArtifacts {
    /** Per member, the static pod (YAML). Holds no secret. */
    manifests: pulumi.Output<Record<string, string>>;
    /** Per member, every file its node needs. Secret: the member's keys. */
    nodeFiles: pulumi.Output<Record<string, NodeFile[]>>;
    /**
     * Per member, the same files with every content left empty: public, for what describes a node
     * without carrying its secrets (the cloud-init user-data).
     */
    layouts: pulumi.Output<Record<string, NodeFile[]>>;
    /**
     * Per member, what the node fetches from Secrets Manager at boot and at every node sync: every
     * file of the member with its mode and owner (JSON, `MemberBundle`). Secret once rendered
     * (the member's keys are in it); the secret version that stores it is secret in any case.
     */
    secretBundles: Record<string, pulumi.Output<string>>;
    /** Members that join an existing cluster. */
    joiners: pulumi.Output<string[]>;
}

interface RenderedMember {
    manifestYaml: string;
    nodeFiles: NodeFile[];
    layout: NodeFile[];
    secretBundleJson: string;
}

export interface MemberExtras<E> {
    /** Serve metrics on the member's address too (a monitoring group is named). */
    exposeMetrics: boolean;
    /** What the extra files are rendered from. */
    inputs: pulumi.Output<E>;
    /**
     * Per member, more files for its node (host firewall, RBAC bootstrap, backup agent, a restore
     * request, which carries the member's manifest), knowing whether it joins a running cluster.
     */
    files: (
        member: string,
        addresses: MemberAddress[],
        inputs: E,
        own: { joining: boolean; manifestYaml: string },
    ) => NodeFile[];
    /** Who joins, and the membership credential with the members that hold it. */
    membership: pulumi.Output<MembershipRendering>;
}

/** What the static pod's annotations carry: `cat ca.crt peer-ca.crt | sha256sum`, and the same of the CRLs. */
function podDigests(caCertPem: string, peerCaCertPem: string, crls: PkiCrls) {
    return {
        trustBundleSha256: crypto.createHash("sha256").update(caCertPem).update(peerCaCertPem).digest("hex"),
        crlSha256: crypto
            .createHash("sha256")
            .update(Buffer.from(crls.etcdCaCrlBase64, "base64"))
            .update(Buffer.from(crls.peerCaCrlBase64, "base64"))
            .digest("hex"),
    };
}

export function memberArtifacts<E>(
    clusterName: string,
    members: { name: string; ip: pulumi.Input<string> }[],
    pki: Pick<PkiOutputs, "caCertPem" | "peerCaCertPem" | "memberCredentials"> & { crls: pulumi.Output<PkiCrls> },
    settings: pulumi.Output<PodSettings>,
    extras: MemberExtras<E>,
): MemberArtifacts {
    const rendered = allOf([
        members.map((m) => m.ip),
        settings,
        extras.inputs,
        pki.caCertPem,
        pki.peerCaCertPem,
        pki.memberCredentials,
        pki.crls,
        extras.membership,
    ]).apply(([ips, s, inputs, caCertPem, peerCaCertPem, credentials, crls, membership]) => {
        const addresses = members.map((m, i) => ({ name: m.name, ip: ips[i] }));
        const { trustBundleSha256, crlSha256 } = podDigests(caCertPem, peerCaCertPem, crls);
        return Object.fromEntries(
            addresses.map((self): [string, RenderedMember] => {
                const joining = membership.joiners.includes(self.name);
                const flags = renderEtcdFlags({
                    joining,
                    member: self,
                    members: addresses,
                    clusterToken: clusterName,
                    ...s, // the version and the backend quota
                    exposeMetrics: extras.exposeMetrics,
                });
                const manifestYaml = toYaml(renderEtcdPod({ flags, ...s, trustBundleSha256, crlSha256 }), {
                    lineWidth: 0,
                });
                const extra = extras.files(self.name, addresses, inputs as E, { joining, manifestYaml });
                const files = (
                    own: MemberCredentials,
                    ca: string,
                    peerCa: string,
                    crl: PkiCrls,
                    extraFiles: NodeFile[],
                ) =>
                    renderMemberNodeFiles({
                        manifestYaml,
                        caCertPem: ca,
                        peerCaCertPem: peerCa,
                        clientCrlBase64: crl.etcdCaCrlBase64,
                        peerCrlBase64: crl.peerCaCrlBase64,
                        ...own,
                        uid: s.uid,
                        gid: s.gid,
                        extraFiles,
                    });
                const nodeFiles = files(credentials[self.name], caCertPem, peerCaCertPem, crls, extra);
                const none = { serverCertPem: "", serverKeyPem: "", peerCertPem: "", peerKeyPem: "" };
                const blank = extra.map((f) => ({ ...f, content: "" }));
                const credential = membership.holders.includes(self.name) ? membership.credential : undefined;
                return [
                    self.name,
                    {
                        manifestYaml,
                        nodeFiles,
                        layout: files(none, "", "", { etcdCaCrlBase64: "", peerCaCrlBase64: "" }, blank),
                        secretBundleJson: JSON.stringify(memberBundle(nodeFiles, credential)),
                    },
                ];
            }),
        );
    });
    const each = <T>(pick: (r: RenderedMember) => T) =>
        rendered.apply((all) => Object.fromEntries(Object.entries(all).map(([name, r]) => [name, pick(r)])));
    return {
        // Declassified on purpose: the manifests and the layout carry no key, password or content.
        manifests: pulumi.unsecret(each((r) => r.manifestYaml)),
        nodeFiles: pulumi.secret(each((r) => r.nodeFiles)),
        layouts: pulumi.unsecret(each((r) => r.layout)),
        // No pulumi.secret (three more Outputs each): see secretBundles.
        joiners: pulumi.unsecret(extras.membership.apply((m) => m.joiners)),
        secretBundles: Object.fromEntries(
            members.map((m) => [m.name, rendered.apply((all) => all[m.name].secretBundleJson)]),
        ),
    };
}
