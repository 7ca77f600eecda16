// What is wrong with an argument, and the one error that reports every problem at once.
import * as pulumi from "@pulumi/pulumi";

export interface Problem {
    /** The argument's path, e.g. `members[1].name`. */
    path: string;
    /** What is wrong and how to fix it. */
    reason: string;
}

/** A value as it appears in a reason: strings quoted, everything else as JSON. */
export const quote = (v: unknown): string => JSON.stringify(v);

/** Each problem once, in the order first found. */
export function uniqueProblems(problems: Problem[]): Problem[] {
    const seen = new Set<string>();
    return problems.filter((p) => {
        const key = `${p.path}\n${p.reason}`;
        return seen.has(key) ? false : (seen.add(key), true);
    });
}

/**
 * The error for invalid arguments: every problem at once, each with its path, as an error the engine
 * shows per property. Its message cannot be rewritten: the SDK prefixes "error serializing
 * property" to a rejection each time a resource input meets it, and the same error reaches many.
 */
export function argumentsError(resourceName: string, problems: Problem[]): pulumi.InputPropertiesError {
    const unique = uniqueProblems(problems);
    const lines = unique.map((p) => `  - ${p.path}: ${p.reason}`).join("\n");
    const message = `SecureEtcdCluster "${resourceName}" has invalid arguments:\n${lines}`;
    const error = new pulumi.InputPropertiesError({
        message,
        errors: unique.map((p) => ({ propertyPath: p.path, reason: p.reason })),
    });
    Object.defineProperty(error, "message", {
        get: () => message,
        set: () => undefined,
        enumerable: false,
        configurable: false,
    });
    return error;
}
