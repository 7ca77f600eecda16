// The smallest useful stack: three etcd members with fixed private addresses, and the
// credentials a control plane needs. The root Pulumi.yaml runs this program.
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster } from "../../src";

const config = new pulumi.Config();
const memberIps = config.getObject<string[]>("memberIps") ?? ["10.0.1.10", "10.0.1.11", "10.0.1.12"];

const etcd = new SecureEtcdCluster("basic", {
    members: memberIps.map((ip, i) => ({ name: `etcd-${i}`, ip })),
});

/** The etcd CA: what kube-apiserver's --etcd-cafile points at. */
export const caCertPem = etcd.caCertPem;
/** Every certificate with its expiry, for monitoring. */
export const certificates = etcd.certificates;
/** Client certificates and keys (secret): `pulumi stack output --show-secrets clientCredentials`. */
export const clientCredentials = etcd.clientCredentials;
/** Per member, the user-data of its instance: fetches its keys from Secrets Manager at boot. */
export const memberUserData = etcd.memberUserData;
/** Per member, the IAM policy its instance role needs to do that, and nothing more. */
export const memberSecretsPolicies = etcd.memberSecretsPolicies;
/** What kube-apiserver needs: flags, volumes and mounts, or the same as kubeadm configuration. */
export const apiServer = etcd.apiServer;
export const kubeadmClusterConfiguration = etcd.kubeadmClusterConfiguration;
/** The EncryptionConfiguration for kube-apiserver (secret). */
export const encryptionConfigYaml = etcd.encryptionConfigYaml;
