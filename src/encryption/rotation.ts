// Key rotation as plain edits to an ordered list of key names. The list deployed last and the
// list in the program decide whether an update is safe; the rules follow the Kubernetes docs'
// procedure, in which no apiserver ever meets data it has no key for.
import { EncryptionProvider } from "./encryptionConfig";

/** What the rotation guard records of each deployment (in an SSM parameter: keyRingRecord.ts). */
export interface KeyRing {
    provider: EncryptionProvider;
    /** Key names in order; the first encrypts. Empty for KMS. */
    keyNames: string[];
}

/** The command that rewrites every encrypted object with the key that now encrypts. */
export function rewriteCommand(resources: readonly string[]): string {
    const kinds = resources.some((r) => r.includes("*"))
        ? ["$(kubectl api-resources --verbs=list,update -o name | paste -sd, -)"]
        : resources;
    return `kubectl get ${kinds.join(",")} --all-namespaces -o json | kubectl replace -f -`;
}

export const ROTATION_RUNBOOK = [
    "1. add the new key second:  encryptionKeyNames: [old, new]   then pulumi up, and wait until every kube-apiserver has reloaded",
    "2. make it first:           encryptionKeyNames: [new, old]   then pulumi up, and wait until every kube-apiserver has reloaded",
    "3. rewrite every object with the new key (the `encryptionRewriteCommand` output)",
    "4. remove the old key:      encryptionKeyNames: [new]        then pulumi up",
].join("\n");

/**
 * Why moving from `previous` (deployed) to `next` (in the program) could make stored data
 * unreadable; empty when the update is a safe step. No previous ring means a first deployment.
 */
export function keyRingTransitionProblems(previous: KeyRing | undefined, next: KeyRing): string[] {
    if (!previous) {
        return [];
    }
    const problems: string[] = [];
    if (previous.provider !== next.provider) {
        problems.push(
            `encryptionProvider: changing ${previous.provider} to ${next.provider} in place would leave every object written with ${previous.provider} unreadable, because the new configuration has no ${previous.provider} entry; keep ${previous.provider} for this cluster`,
        );
        return problems;
    }
    const active = previous.keyNames[0];
    const nextNames = new Set(next.keyNames);
    for (const removed of previous.keyNames.filter((k) => !nextNames.has(k))) {
        if (removed === active) {
            problems.push(
                `encryptionKeyNames: "${removed}" encrypts everything written since it became first; removing it (or demoting and removing it in one update) makes that data unreadable. Rotate in separate updates:\n${ROTATION_RUNBOOK}`,
            );
        }
    }
    const first = next.keyNames[0];
    if (first !== undefined && first !== active && !previous.keyNames.includes(first)) {
        problems.push(
            `encryptionKeyNames: "${first}" is new and would encrypt at once, but kube-apiservers that have not reloaded yet cannot read what it writes; add it second first:\n${ROTATION_RUNBOOK}`,
        );
    }
    return problems;
}
