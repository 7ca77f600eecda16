// Builds a SecureEtcdCluster under the mocks and resolves its outputs.
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { runProgram, resolve, Resolved } from "./program";
import { ProviderMocks } from "./mocks";

export const THREE_MEMBERS = [
    { name: "etcd-0", ip: "10.0.1.10" },
    { name: "etcd-1", ip: "10.0.1.11", dnsNames: ["etcd-1.internal"] },
    { name: "etcd-2", ip: "10.0.1.12" },
];

/** A VPC id in the provider's format: every cluster needs one (or a security group of its own). */
export const TEST_VPC_ID = "vpc-0a1b2c3d4e5f60718";

/** The arguments with a VPC added when they name neither a VPC nor a security group. */
export function withNetwork(args: SecureEtcdClusterArgs): SecureEtcdClusterArgs {
    return args.vpcId === undefined && args.securityGroupId === undefined ? { vpcId: TEST_VPC_ID, ...args } : args;
}

export interface BuiltCluster {
    cluster: SecureEtcdCluster;
    mocks: ProviderMocks;
    outputs: { [K in OutputName]: Resolved<pulumi.Unwrap<SecureEtcdCluster[K]>> };
}

type OutputName =
    | "caCertPem"
    | "peerCaCertPem"
    | "memberCertificates"
    | "memberCredentials"
    | "clientCredentials"
    | "certificates"
    | "etcdManifests"
    | "nodeFiles"
    | "etcdVersion";

export async function buildCluster(
    args: SecureEtcdClusterArgs = { members: THREE_MEMBERS },
    name = "prod",
    opts?: pulumi.ComponentResourceOptions,
): Promise<BuiltCluster> {
    const { result: cluster, mocks } = await runProgram(() => new SecureEtcdCluster(name, withNetwork(args), opts));
    const outputs = {
        caCertPem: await resolve(cluster.caCertPem),
        peerCaCertPem: await resolve(cluster.peerCaCertPem),
        memberCertificates: await resolve(cluster.memberCertificates),
        memberCredentials: await resolve(cluster.memberCredentials),
        clientCredentials: await resolve(cluster.clientCredentials),
        certificates: await resolve(cluster.certificates),
        etcdManifests: await resolve(cluster.etcdManifests),
        nodeFiles: await resolve(cluster.nodeFiles),
        etcdVersion: await resolve(cluster.etcdVersion),
    };
    return { cluster, mocks, outputs };
}
