// Runs a Pulumi program in-process with local stand-ins for tls (real certificates), random and AWS,
// and waits until it has settled.
import * as pulumi from "@pulumi/pulumi";
import { ProviderMocks } from "./mocks";

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

/**
 * Installs fresh mocks, runs `program`, and waits for every registration to finish. Throws if
 * the program registered nothing (a forgotten `setMocks` fails silently otherwise) or if any
 * emulated provider call failed.
 */
export async function runProgram<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<MockRun<T>> {
    const mocks = new ProviderMocks(options.previous);
    await pulumi.runtime.setMocks(
        mocks,
        options.project ?? "project",
        options.stack ?? "stack",
        options.preview ?? false,
    );
    recordResourceOptions(mocks);
    const result = await program();
    await settle(mocks);
    if (mocks.registrations.length === 0) {
        throw new Error("the program registered no resources: were the mocks installed?");
    }
    if (mocks.errors.length > 0) {
        throw mocks.errors[0];
    }
    return { result, mocks };
}

interface RegisterResourceRequest {
    getType(): string;
    getName(): string;
    getRetainondelete(): boolean;
    getProtect(): boolean;
    getDependenciesList(): string[];
}

/** The mocks API drops resource options; the monitor sees them. Record them for tests. */
function recordResourceOptions(mocks: ProviderMocks): void {
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: RegisterResourceRequest, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        mocks.recordOptions(req.getType(), req.getName(), {
            retainOnDelete: req.getRetainondelete(),
            protect: req.getProtect(),
            dependencies: req.getDependenciesList(),
        });
        return register(req, callback);
    };
}

/** Waits until no new registration has arrived for a few event-loop turns. */
async function settle(mocks: ProviderMocks): Promise<void> {
    let seen = -1;
    let quietTurns = 0;
    while (quietTurns < 5) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const pending = mocks.registrations.filter((r) => r.custom && r.state === undefined).length;
        if (mocks.registrations.length === seen && pending === 0) {
            quietTurns++;
        } else {
            quietTurns = 0;
            seen = mocks.registrations.length;
        }
        if (mocks.errors.length > 0) {
            return;
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
