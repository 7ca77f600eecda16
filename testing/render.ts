// Builds a SecureEtcdCluster in-process under the local stand-ins and returns what a local cluster
// needs: each member's node files, the client credentials, and both CAs (with their keys, which
// never leave Pulumi state in a real deployment: the negative probes sign with them).
import { ClientCredentials, SecureEtcdCluster } from "../src";
import { SecureEtcdClusterArgs } from "../src";
import { NodeFile } from "../src/manifests/nodeFiles";
import { ProviderMocks } from "./mocks";
import { RunOptions, runProgram, valueOf } from "./program";

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
    /** Each member's secret as `pulumi up` stores it: its ARN and the bundle (JSON) in it. */
    memberSecrets: Record<string, { arn: string; secretString: string }>;
    mocks: ProviderMocks;
}

/** The member bundles the SecretVersions hold, by member name. */
function memberSecretsOf(
    mocks: ProviderMocks,
    members: string[],
): Record<string, { arn: string; secretString: string }> {
    const versions = mocks.ofType("aws:secretsmanager/secretVersion:SecretVersion");
    return Object.fromEntries(
        members.map((member) => {
            const version = versions.find((r) => r.name.endsWith(`-member-${member}-version`));
            if (!version) {
                throw new Error(`no secret version holds member ${member}'s bundle`);
            }
            return [
                member,
                { arn: String(version.inputs.secretId), secretString: String(version.inputs.secretString) },
            ];
        }),
    );
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

/** Renders the cluster; with `options.previous`, as the next `pulumi up` of the same stack. */
export async function renderCluster(
    name: string,
    args: SecureEtcdClusterArgs,
    options: RunOptions = {},
): Promise<RenderedCluster> {
    const { result: cluster, mocks } = await runProgram(() => new SecureEtcdCluster(name, args), options);
    const caCertPem = await valueOf(cluster.caCertPem);
    const peerCaCertPem = await valueOf(cluster.peerCaCertPem);
    const nodeFiles = await valueOf(cluster.nodeFiles);
    return {
        etcdVersion: await valueOf(cluster.etcdVersion),
        nodeFiles,
        clientCredentials: await valueOf(cluster.clientCredentials),
        etcdCa: { certPem: caCertPem, keyPem: caKeyOf(mocks, caCertPem) },
        peerCa: { certPem: peerCaCertPem, keyPem: caKeyOf(mocks, peerCaCertPem) },
        memberSecrets: memberSecretsOf(mocks, Object.keys(nodeFiles)),
        mocks,
    };
}
