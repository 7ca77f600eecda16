// Runs a Pulumi program in-process with local stand-ins for tls (real certificates), random and AWS,
// and waits until it has settled.
import * as pulumi from "@pulumi/pulumi";
import { ProviderMocks } from "./mocks";

/** The project and stack a program runs in unless told otherwise. */
export const MOCK_PROJECT = "project";
export const MOCK_STACK = "stack";

export interface MockRun<T> {
    result: T;
    mocks: ProviderMocks;
}

export interface RunOptions {
    /** Run as `pulumi preview` rather than `pulumi up`. */
    preview?: boolean;
    project?: string;
    stack?: string;
    /** The previous run of the same stack: unchanged resources keep their state, as under `pulumi up`. */
    previous?: ProviderMocks;
}

/** A run that may have failed: the mocks are kept either way, to see what was registered. */
export interface Attempt<T> {
    /** Undefined when the run failed. */
    result?: T;
    mocks: ProviderMocks;
    /** Why the run failed, as the engine would report it; undefined when it succeeded. */
    error?: Error;
    /** Every distinct rejection that reached no handler, in order. */
    rejections: Error[];
}

/**
 * Installs fresh mocks, runs `program`, and waits for every registration to finish. The run
 * fails as the engine fails a program: when the program throws, when an emulated provider call
 * fails, and when a rejection reaches no handler (a resource whose input or `dependsOn` rejects
 * is never registered, and the language host stops the deployment on that rejection). It also
 * fails if the program registered nothing (a forgotten `setMocks` fails silently otherwise).
 */
export async function attemptProgram<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<Attempt<T>> {
    const mocks = new ProviderMocks(options.previous);
    const unhandled: Error[] = [];
    const onUnhandled = (reason: unknown) => {
        const error = reason instanceof Error ? reason : new Error(String(reason));
        if (!unhandled.includes(error)) {
            unhandled.push(error);
        }
    };
    process.on("unhandledRejection", onUnhandled);
    const pendingBefore = new Set(leakCandidates());
    try {
        await pulumi.runtime.setMocks(
            mocks,
            options.project ?? MOCK_PROJECT,
            options.stack ?? MOCK_STACK,
            options.preview ?? false,
        );
        recordResourceOptions(mocks);
        let result: T;
        try {
            result = await program();
        } catch (e) {
            await settle(mocks, unhandled);
            forgetPending(pendingBefore);
            return { mocks, error: e as Error, rejections: unhandled };
        }
        await settle(mocks, unhandled);
        const error =
            mocks.errors[0] ??
            unhandled[0] ??
            (mocks.registrations.length === 0
                ? new Error("the program registered no resources: were the mocks installed?")
                : undefined);
        if (error) {
            forgetPending(pendingBefore);
            return { mocks, error, rejections: unhandled };
        }
        return { result, mocks, rejections: unhandled };
    } finally {
        process.off("unhandledRejection", onUnhandled);
    }
}

/**
 * The promises the SDK has not yet seen settle. At exit it reports any left as leaks, unless an
 * error was logged: a run that failed leaves pending whatever waited on the failure.
 */
function leakCandidates(): Set<unknown> {
    // The SDK's process-wide state (`runtime/state.ts`), which its typings do not expose.
    const store = (globalThis as unknown as { globalStore?: { leakCandidates?: Set<unknown> } }).globalStore;
    return store?.leakCandidates ?? new Set();
}

/**
 * After a failed run: its process would have logged the failure (the language host does) and
 * exited without a leak report; here the process goes on, so its pending promises are dropped.
 */
function forgetPending(before: Set<unknown>): void {
    const candidates = leakCandidates();
    for (const p of [...candidates]) {
        if (!before.has(p)) {
            candidates.delete(p);
        }
    }
}

/** {@link attemptProgram}, throwing why the run failed. */
export async function runProgram<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<MockRun<T>> {
    const { result, mocks, error } = await attemptProgram(program, options);
    if (error) {
        throw error;
    }
    return { result: result as T, mocks };
}

interface AliasSpec {
    getName(): string;
    getType(): string;
    getParenturn(): string;
    getNoparent(): boolean;
}

interface AliasMessage {
    getUrn(): string;
    getSpec(): AliasSpec | undefined;
}

interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getRetainondelete(): boolean;
    getProtect(): boolean;
    getDependenciesList(): string[];
    getAliasesList(): AliasMessage[];
}

/**
 * The URN the engine gives a resource: the parent's whole type chain qualifies the type. (The mock
 * monitor keeps only the parent's own type, so its URNs are mapped to the engine's first.)
 */
export function urnOf(stack: string, project: string, parentUrn: string, type: string, name: string): string {
    const qualified = parentUrn ? `${parentUrn.split("::")[2]}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** Computes engine URNs for registrations, given the mock monitor's URNs of their parents. */
class EngineUrns {
    private readonly byMockUrn = new Map<string, string>();

    private parentOf(mockParentUrn: string): string {
        return mockParentUrn ? (this.byMockUrn.get(mockParentUrn) ?? mockParentUrn) : "";
    }

    urn(req: RegisterResourceRequest): string {
        const stack = pulumi.getStack();
        const project = pulumi.getProject();
        const urn = urnOf(stack, project, this.parentOf(req.getParent()), req.getType(), req.getName());
        const mockParent = req.getParent();
        const mockQualified = mockParent
            ? `${mockParent.split("::")[2].split("$").pop()!}$${req.getType()}`
            : req.getType();
        this.byMockUrn.set(`urn:pulumi:${stack}::${project}::${mockQualified}::${req.getName()}`, urn);
        return urn;
    }

    /** The URNs a registration's aliases stand for, resolved as the engine does. */
    aliases(req: RegisterResourceRequest): string[] {
        const stack = pulumi.getStack();
        const project = pulumi.getProject();
        return req.getAliasesList().map((alias) => {
            const spec = alias.getSpec();
            if (!spec) {
                return alias.getUrn();
            }
            const parent = spec.getNoparent() ? "" : this.parentOf(spec.getParenturn() || req.getParent());
            return urnOf(stack, project, parent, spec.getType() || req.getType(), spec.getName() || req.getName());
        });
    }
}

/** The mocks API drops resource options; the monitor sees them. Record them for tests. */
function recordResourceOptions(mocks: ProviderMocks): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterResourceRequest, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    const urns = new EngineUrns();
    monitor.registerResource = (req, callback) => {
        mocks.recordOptions(req.getType(), req.getName(), {
            retainOnDelete: req.getRetainondelete(),
            protect: req.getProtect(),
            dependencies: req.getDependenciesList(),
            urn: urns.urn(req),
            aliases: urns.aliases(req),
        });
        return register(req, callback);
    };
}

/**
 * Waits until no new registration (and no new failure) has arrived for a few event-loop turns.
 * Once something failed, registrations that wait on it never finish: only quiet is awaited then,
 * so that every failure of this run is seen within it rather than in a later test's.
 */
async function settle(mocks: ProviderMocks, unhandled: Error[]): Promise<void> {
    let seen = "";
    let quietTurns = 0;
    while (quietTurns < 5) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const failed = mocks.errors.length + unhandled.length > 0;
        const pending = failed ? 0 : mocks.registrations.filter((r) => r.custom && r.state === undefined).length;
        const now = `${mocks.registrations.length}/${mocks.errors.length}/${unhandled.length}`;
        if (now === seen && pending === 0) {
            quietTurns++;
        } else {
            quietTurns = 0;
            seen = now;
        }
    }
}

export interface Resolved<T> {
    value: T;
    secret: boolean;
}

/** The value of an output together with its secretness. */
export async function resolve<T>(output: pulumi.Output<T>): Promise<Resolved<T>> {
    // `promise()` is the SDK's own (untyped) accessor; unlike apply() it rejects when the output fails.
    const value = await (output as unknown as { promise(): Promise<T> }).promise();
    return { value, secret: await pulumi.isSecret(output) };
}

/** Just the value of an output. */
export async function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return (await resolve(output)).value;
}
