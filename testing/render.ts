// Builds a SecureEtcdCluster in-process under the local stand-ins and returns what a local cluster
// needs: each member's node files, the client credentials, and both CAs (with their keys, which
// never leave Pulumi state in a real deployment: the negative probes sign with them).
import { ClientCredentials, SecureEtcdCluster } from "../src";
import { SecureEtcdClusterArgs } from "../src";
import { NodeFile } from "../src/manifests/nodeFiles";
import { ProviderMocks } from "./mocks";
import { runProgram, valueOf } from "./program";

export interface CaPair {
    certPem: string;
    keyPem: string;
}

export interface RenderedCluster {
    etcdVersion: string;
    nodeFiles: Record<string, NodeFile[]>;
    clientCredentials: Record<string, ClientCredentials>;
    etcdCa: CaPair;
    peerCa: CaPair;
    mocks: ProviderMocks;
}

/** The key a self-signed CA certificate was made with, as the tls stand-in received it. */
function caKeyOf(mocks: ProviderMocks, certPem: string): string {
    const ca = mocks
        .ofType("tls:index/selfSignedCert:SelfSignedCert")
        .find((r) => (r.state?.certPem as string | undefined)?.trim() === certPem.trim());
    if (!ca) {
        throw new Error("no self-signed certificate matches the cluster's CA");
    }
    return ca.inputs.privateKeyPem as string;
}

/**
 * Renders the cluster; with `previous`, as a `pulumi up` after that run: unchanged resources keep
 * their state (the same CAs, keys and certificates).
 */
export async function renderCluster(
    name: string,
    args: SecureEtcdClusterArgs,
    previous?: ProviderMocks,
): Promise<RenderedCluster> {
    const { result: cluster, mocks } = await runProgram(() => new SecureEtcdCluster(name, args), { previous });
    const caCertPem = await valueOf(cluster.caCertPem);
    const peerCaCertPem = await valueOf(cluster.peerCaCertPem);
    return {
        etcdVersion: await valueOf(cluster.etcdVersion),
        nodeFiles: await valueOf(cluster.nodeFiles),
        clientCredentials: await valueOf(cluster.clientCredentials),
        etcdCa: { certPem: caCertPem, keyPem: caKeyOf(mocks, caCertPem) },
        peerCa: { certPem: peerCaCertPem, keyPem: caKeyOf(mocks, peerCaCertPem) },
        mocks,
    };
}
