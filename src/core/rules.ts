// Argument rules, declared once per concern and run in one of two places: on plain values before
// anything is registered, or, when a value arrives as an Output, on what it resolves to. Either way
// the same check speaks, so the two phases cannot disagree; and the component registers no child
// until every deferred rule has passed, so a refused Output leaves nothing half-created.
import * as pulumi from "@pulumi/pulumi";
import { argumentsError, Problem, uniqueProblems } from "./problems";

/**
 * One rule over some arguments. `reads` names the top-level arguments it looks at (their values
 * wait for it when it is deferred); `select` picks the part it checks from the resolved arguments
 * (plain values or Outputs at any depth); `check` is pure and total: it must accept any value a
 * caller can pass (wrong types included) and return every problem it finds.
 */
export interface ArgRule<R> {
    readonly reads: readonly (keyof R & string)[];
    select(args: R, given: ReadonlySet<string>): unknown;
    check(value: never): Problem[];
}

/** Declares a rule; `check` receives `select`'s value with every Output resolved. */
export function argRule<R, S>(
    reads: readonly (keyof R & string)[],
    select: (args: R, given: ReadonlySet<string>) => S,
    check: (value: pulumi.Unwrap<S>) => Problem[],
): ArgRule<R> {
    return { reads, select, check: check };
}

/** Whether a value holds no Output or Promise at any depth: known while the program runs. */
export function isPlain(value: unknown): boolean {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return false;
    }
    if (Array.isArray(value)) {
        return value.every(isPlain);
    }
    if (isPlainObject(value)) {
        return Object.values(value).every(isPlain);
    }
    return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

export interface Validation<R> {
    /** Problems found in plain values: refuse before anything is registered. */
    now: Problem[];
    /**
     * Resolves to nothing when every deferred rule has passed, and rejects with the one arguments
     * error otherwise; undefined when no rule had to wait.
     */
    gate?: pulumi.Output<never[]>;
    /** The resolved arguments, each value that some deferred rule reads held back until it passed. */
    args: R;
}

/** Runs every rule that can run now and defers the rest behind one gate. */
export function validate<R extends object>(
    resourceName: string,
    args: R,
    given: ReadonlySet<string>,
    rules: readonly ArgRule<R>[],
): Validation<R> {
    const now: Problem[] = [];
    const deferred: pulumi.Output<Problem[]>[] = [];
    const waiting = new Set<string>();
    for (const rule of rules) {
        const selected = rule.select(args, given);
        if (isPlain(selected)) {
            now.push(...rule.check(selected as never));
        } else {
            deferred.push(
                (pulumi.output(selected) as pulumi.Output<unknown>).apply((value) => rule.check(value as never)),
            );
            rule.reads.forEach((key) => waiting.add(key));
        }
    }
    if (deferred.length === 0) {
        return { now: uniqueProblems(now), args };
    }
    const gate = pulumi.all(deferred).apply((found) => {
        const problems = found.flat();
        if (problems.length > 0) {
            throw argumentsError(resourceName, problems);
        }
        return [] as never[];
    });
    const held = { ...args } as Record<string, unknown>;
    for (const key of waiting) {
        held[key] = holdBack(held[key], gate);
    }
    return { now: uniqueProblems(now), gate, args: held as R };
}

/** The same structure with every Output or Promise in it resolving only after the gate. */
function holdBack(value: unknown, gate: pulumi.Output<unknown>): unknown {
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return pulumi.all([gate, value as pulumi.Input<unknown>]).apply(([, v]): unknown => v);
    }
    if (Array.isArray(value)) {
        return value.map((item) => holdBack(item, gate));
    }
    if (isPlainObject(value)) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, holdBack(v, gate)]));
    }
    return value;
}

/** One gate from two: open once both are (either may be absent). */
export function bothGates(a?: pulumi.Output<never[]>, b?: pulumi.Output<never[]>): pulumi.Output<never[]> | undefined {
    if (!a || !b) {
        return a ?? b;
    }
    return pulumi.all([a, b]).apply((): never[] => []);
}

/**
 * Resource options for the component: it registers only once the gate is open, and so does every
 * child, since the SDK registers a child only after its parent (it sends the parent's URN). So a
 * refused Output registers nothing, whichever language constructed the component. The gate sits
 * in the component's own `dependsOn` only: given to each child as well, it cost every registration
 * an Output of its own for no further wait.
 */
export function gatedOptions<O extends pulumi.ResourceOptions>(opts: O | undefined, gate?: pulumi.Output<never[]>): O {
    return withDependency(opts ?? ({} as O), gate);
}

/** `opts` with `dependsOn` extended by `after` (a list that may resolve to no resource at all). */
export function withDependency<O extends pulumi.ResourceOptions>(opts: O, after?: pulumi.Input<pulumi.Resource[]>): O {
    if (after === undefined) {
        return opts;
    }
    // dependsOn takes Outputs of resource lists at any depth (the SDK flattens them).
    const dependsOn = [after, opts.dependsOn ?? []] as unknown as pulumi.Input<pulumi.Resource>[];
    return { ...opts, dependsOn };
}

/**
 * `fn` over inputs, computed at once when every input is plain (so rules over it run before
 * anything is registered), else as an Output.
 */
/** One property of an input: plain when the input is, one Output step when it is not. */
export function pick<T, K extends keyof T>(input: pulumi.Input<T>, key: K): pulumi.Input<T[K]> {
    return lift([input], ([value]) => (value as T)[key]);
}

export function lift<T extends readonly unknown[], U>(
    inputs: [...T],
    fn: (values: { [K in keyof T]: pulumi.Unwrap<T[K]> }) => U,
): pulumi.Input<U> {
    return isPlain(inputs)
        ? fn(inputs as { [K in keyof T]: pulumi.Unwrap<T[K]> })
        : pulumi.all(inputs as unknown[]).apply((values) => fn(values as { [K in keyof T]: pulumi.Unwrap<T[K]> }));
}
