// Wires kube-apiserver's side: its flags, volumes and mounts, a kubeadm configuration, and the files
// its nodes need (the etcd client credentials and the EncryptionConfiguration).
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { EtcdPki } from "../pki/etcdPki";
import {
    ApiServerFragment,
    renderApiServerFragment,
    renderApiServerNodeFiles,
    renderKubeadmClusterConfiguration,
} from "./apiServerFragment";
import { NodeFile } from "../manifests/nodeFiles";

export interface ApiServerInputs {
    members: { ip: pulumi.Input<string> }[];
    encryptionConfigAutomaticReload: pulumi.Input<boolean>;
    /** KMS v2: the fragment mounts the plugin's socket. */
    kms: boolean;
}

export interface ApiServerOutputs {
    apiServer: pulumi.Output<ApiServerFragment>;
    kubeadmClusterConfiguration: pulumi.Output<string>;
    apiServerNodeFiles: pulumi.Output<NodeFile[]>;
}

export function wireApiServer(
    args: ApiServerInputs,
    pki: EtcdPki,
    encryptionConfigYaml: pulumi.Output<string>,
): ApiServerOutputs {
    const fragmentInput = allOf([args.members.map((m) => m.ip), args.encryptionConfigAutomaticReload]).apply(
        ([memberIps, automaticReload]) => ({ memberIps, automaticReload, kms: args.kms }),
    );
    const client = pki.clients["kube-apiserver-etcd-client"];
    return {
        apiServer: fragmentInput.apply(renderApiServerFragment),
        kubeadmClusterConfiguration: fragmentInput.apply(renderKubeadmClusterConfiguration),
        apiServerNodeFiles: pulumi.secret(
            allOf([pki.etcdCaBundle, client.certPem, client.keyPem, encryptionConfigYaml]).apply(
                ([caCertPem, clientCertPem, clientKeyPem, yaml]) =>
                    renderApiServerNodeFiles({
                        caCertPem,
                        clientCertPem,
                        clientKeyPem,
                        encryptionConfigYaml: yaml,
                        kms: args.kms,
                    }),
            ),
        ),
    };
}
