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
