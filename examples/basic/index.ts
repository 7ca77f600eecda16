// The smallest useful stack: three etcd members with fixed private addresses, and the
// credentials a control plane needs. The root Pulumi.yaml runs this program.
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster } from "../../src";

const config = new pulumi.Config();
const memberIps = config.getObject<string[]>("memberIps") ?? ["10.0.1.10", "10.0.1.11", "10.0.1.12"];
/** The members' VPC: `pulumi config set vpcId vpc-...`. */
const vpcId = config.require("vpcId");
/** Subnets of the kube-apiserver nodes, admitted to etcd's client port. */
const clientCidrs = config.getObject<string[]>("clientCidrs") ?? [];

const etcd = new SecureEtcdCluster("basic", {
    members: memberIps.map((ip, i) => ({ name: `etcd-${i}`, ip })),
    vpcId,
    clientCidrs,
});

/** Attach to every member beside its own groups: admits 2379 and 2380 from named sources only. */
export const securityGroupId = etcd.securityGroupId;

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
