// Builds a SecureEtcdCluster in-process under the local stand-ins and returns what a local cluster
// needs: each member's node files, the client credentials, and both CAs (with their keys, which
// never leave Pulumi state in a real deployment: the negative probes sign with them). Given the
// previous run's mocks, it renders the next `pulumi up` of the same stack (day-2 changes).
import { X509Certificate } from "crypto";
import { ClientCredentials, SecureEtcdCluster } from "../src";
import { SecureEtcdClusterArgs } from "../src";
import { NodeFile } from "../src/manifests/nodeFiles";
import { NODE_PATHS } from "../src/manifests/nodeLayout";
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
    /** The etcd CA that issues now. */
    etcdCa: CaPair;
    /** The peer CA that issues now. */
    peerCa: CaPair;
    /** Every etcd CA in the trust bundle, oldest first: two during its rotation. */
    etcdCas: CaPair[];
    peerCas: CaPair[];
    /** Each member's secret as `pulumi up` stores it: its ARN and the bundle (JSON) in it. */
    memberSecrets: Record<string, { arn: string; secretString: string }>;
    mocks: ProviderMocks;
}

/** Every certificate in a PEM bundle, each as it appears there. */
export function certificatesIn(bundle: string): string[] {
    return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** The CAs of a trust bundle with their keys, and the one that issued `leafPem`. */
function casOf(mocks: ProviderMocks, bundle: string, leafPem: string): { all: CaPair[]; issuing: CaPair } {
    const all = certificatesIn(bundle).map((certPem) => ({ certPem, keyPem: caKeyOf(mocks, certPem) }));
    const leaf = new X509Certificate(leafPem);
    const issuing = all.find((ca) => leaf.verify(new X509Certificate(ca.certPem).publicKey));
    if (!issuing) {
        throw new Error("no CA of the trust bundle issued the cluster's certificates");
    }
    return { all, issuing };
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

/**
 * Renders the cluster; with `options.previous`, as the next `pulumi up` of the same stack:
 * unchanged resources keep their state (the same CAs, keys and certificates).
 */
export async function renderCluster(
    name: string,
    args: SecureEtcdClusterArgs,
    options: RunOptions = {},
): Promise<RenderedCluster> {
    if (options instanceof ProviderMocks) {
        // Structurally a RunOptions too (it has a `previous`), which would render after the wrong run.
        throw new Error("renderCluster: pass { previous: mocks }, not the mocks themselves");
    }
    const { result: cluster, mocks } = await runProgram(() => new SecureEtcdCluster(name, args), options);
    const nodeFiles = await valueOf(cluster.nodeFiles);
    const clientCredentials = await valueOf(cluster.clientCredentials);
    const [firstMember] = Object.values(nodeFiles);
    const peerLeaf = firstMember.find((f) => f.path === NODE_PATHS.peerCert)!.content;
    const etcd = casOf(mocks, await valueOf(cluster.caCertPem), Object.values(clientCredentials)[0].certPem);
    const peer = casOf(mocks, await valueOf(cluster.peerCaCertPem), peerLeaf);
    return {
        etcdVersion: await valueOf(cluster.etcdVersion),
        nodeFiles,
        clientCredentials,
        etcdCa: etcd.issuing,
        peerCa: peer.issuing,
        etcdCas: etcd.all,
        peerCas: peer.all,
        memberSecrets: memberSecretsOf(mocks, Object.keys(nodeFiles)),
        mocks,
    };
}
