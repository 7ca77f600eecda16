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
