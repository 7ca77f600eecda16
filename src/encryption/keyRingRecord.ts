// The rotation guard's memory: the key ring (provider and ordered key names, never key material)
// of the last deployment, recorded in AWS as an SSM parameter of its own. Each preview and update
// reads it back with an invoke and compares the ring in the program with it before any key
// resource is registered. Plain resources and invokes only, so the guard runs wherever the
// component runs: a TypeScript program, or any language through the component provider, where
// dynamic providers do not work.
import {
    listedValue,
    ParameterListing,
    RECORD_LEAVES,
    RECORD_PARAMETER_ROOT,
    recordPath,
} from "../core/deploymentRecord";
import { EncryptionProvider } from "./encryptionConfig";
import { KeyRing, keyRingTransitionProblems } from "./rotation";

export { ParameterListing };

/** Every recorded ring lives under this path: the deployer's SSM permissions can be scoped to it. */
export const KEY_RING_PARAMETER_ROOT = RECORD_PARAMETER_ROOT;

export interface KeyRingParameter {
    /** The parameter's name: `<path>/key-ring`. */
    name: string;
    /** Its hierarchy, read without recursion so that only this cluster's record is listed. */
    path: string;
}

/**
 * Where the key ring of the component `clusterName` in `project`/`stack` is recorded:
 * `/secure-etcd/<project>/<stack>/<component name>/key-ring` (core/deploymentRecord.ts).
 */
export function keyRingParameter(project: string, stack: string, clusterName: string): KeyRingParameter {
    const path = recordPath(project, stack, clusterName);
    return { path, name: `${path}/${RECORD_LEAVES.keyRing}` };
}

/** What the parameter holds: the ring as JSON. Key names only; never key material. */
export function keyRingRecordValue(ring: KeyRing): string {
    return JSON.stringify({ provider: ring.provider, keyNames: ring.keyNames });
}

const PROVIDERS = new Set<string>(Object.values(EncryptionProvider));

/** Why a recorded value is not a ring this package wrote, or undefined when it is one. */
function recordProblem(value: unknown): string | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return "it is not a JSON object";
    }
    const { provider, keyNames } = value as Record<string, unknown>;
    if (typeof provider !== "string" || !PROVIDERS.has(provider)) {
        return `its provider ${JSON.stringify(provider)} is none of ${[...PROVIDERS].join(", ")}`;
    }
    if (!Array.isArray(keyNames) || !keyNames.every((k) => typeof k === "string" && k !== "")) {
        return "its keyNames is not a list of key names";
    }
    return undefined;
}

/**
 * The ring a parameter's value records. A value this package did not write (edited by hand,
 * truncated) is refused with a message saying how to repair it: without the deployed ring the
 * guard cannot tell a safe update from one that strands data.
 */
export function parseKeyRingRecord(parameterName: string, value: string): KeyRing {
    let parsed: unknown;
    let problem: string | undefined;
    try {
        parsed = JSON.parse(value) as unknown;
        problem = recordProblem(parsed);
    } catch (e) {
        problem = `it is not JSON (${(e as Error).message})`;
    }
    if (problem !== undefined) {
        throw new Error(
            `the key ring recorded in SSM parameter ${parameterName} is unreadable: ${problem}. It must be what secure-etcd writes, e.g. ${keyRingRecordValue({ provider: EncryptionProvider.Secretbox, keyNames: ["key-1"] })}, with the provider and key names (in order) of the last successful deployment; restore it from the parameter's history (aws ssm get-parameter-history --name ${parameterName}) or write that ring back, then run the update again`,
        );
    }
    const ring = parsed as { provider: EncryptionProvider; keyNames: string[] };
    return { provider: ring.provider, keyNames: [...ring.keyNames] };
}

/** The ring recorded under `parameterName` in a listing; undefined when none is (a first deployment). */
export function recordedKeyRing(listing: ParameterListing, parameterName: string): KeyRing | undefined {
    const value = listedValue(listing, parameterName);
    return value === undefined ? undefined : parseKeyRingRecord(parameterName, value);
}

function describeRing(ring: KeyRing): string {
    return ring.keyNames.length === 0 ? ring.provider : `${ring.provider} [${ring.keyNames.join(", ")}]`;
}

/**
 * Why the update must not go ahead, in one message for the engine to show; undefined when moving
 * from the recorded ring to the program's is a safe step (or there is no record yet).
 */
export function keyRingRefusal(
    clusterName: string,
    parameterName: string,
    previous: KeyRing | undefined,
    next: KeyRing,
): string | undefined {
    const problems = keyRingTransitionProblems(previous, next);
    if (problems.length === 0) {
        return undefined;
    }
    return [
        `SecureEtcdCluster ${JSON.stringify(clusterName)} refuses this update before changing anything: deployed ${describeRing(previous!)} (recorded in SSM parameter ${parameterName}), in the program ${describeRing(next)}.`,
        ...problems,
    ].join("\n");
}

/**
 * The guard's verdict on an update, from the listing of the ring's path: undefined when it may go
 * ahead, else the message to stop it with (a refused transition, or a record it cannot read).
 */
export function keyRingCheck(
    clusterName: string,
    parameterName: string,
    listing: ParameterListing,
    next: KeyRing,
): string | undefined {
    let previous: KeyRing | undefined;
    try {
        previous = recordedKeyRing(listing, parameterName);
    } catch (e) {
        return `SecureEtcdCluster ${JSON.stringify(clusterName)} cannot check this update of encryption at rest, so it changes nothing: ${(e as Error).message}`;
    }
    return keyRingRefusal(clusterName, parameterName, previous, next);
}
