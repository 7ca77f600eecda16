import { strict as assert } from "assert";
// Builds a SecureEtcdCluster under the mocks and resolves its outputs.
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { attemptProgram, runProgram, resolve, Resolved } from "../../testing/program";
import { ProviderMocks } from "../../testing/mocks";

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

/**
 * Constructs the component with arguments it must refuse; returns the error, asserting it is one
 * the engine shows per property and that nothing was registered. `asGiven` skips `withNetwork`.
 */
export async function rejectedArgs(
    args: SecureEtcdClusterArgs,
    asGiven = false,
    name = "bad",
): Promise<pulumi.InputPropertiesError> {
    const mocks = new ProviderMocks();
    await pulumi.runtime.setMocks(mocks);
    let error: unknown;
    try {
        new SecureEtcdCluster(name, asGiven ? args : withNetwork(args));
    } catch (e) {
        error = e;
    }
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(error instanceof Error, "expected an error");
    assert.ok(
        pulumi.InputPropertiesError.isInstance(error),
        "an InputPropertiesError the engine can show per property",
    );
    assert.equal(mocks.registrations.length, 0, "nothing registered");
    return error;
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

/** Runs `fn` and returns every `pulumi.log.warn` message it produced (the logger is restored after). */
export async function capturedWarnings(fn: () => Promise<unknown>): Promise<string[]> {
    const warnings: string[] = [];
    const original = pulumi.log.warn;
    pulumi.log.warn = (msg: string) => {
        warnings.push(msg);
        return Promise.resolve();
    };
    try {
        await fn();
    } finally {
        pulumi.log.warn = original;
    }
    return warnings;
}

/**
 * Constructs the component with arguments whose problem is only seen when an Output resolves: the
 * deferred rules refuse them, and no resource registers meanwhile. Asserts the run failed with
 * exactly one rejection, a clean InputPropertiesError, and that nothing was registered.
 */
export async function refusedWhenResolved(
    args: SecureEtcdClusterArgs,
    name = "late",
): Promise<{ error: pulumi.InputPropertiesError; mocks: ProviderMocks }> {
    const { mocks, rejections } = await attemptProgram(() => new SecureEtcdCluster(name, withNetwork(args)));
    assert.equal(rejections.length, 1, `one error, got ${rejections.map(String).join("\n---\n")}`);
    const [error] = rejections;
    assert.ok(pulumi.InputPropertiesError.isInstance(error), `an InputPropertiesError: ${String(error)}`);
    assert.ok(!error.message.includes("error serializing"), error.message);
    assert.deepEqual(
        mocks.registrations.map((r) => r.name),
        [],
        "nothing registered",
    );
    return { error, mocks };
}
