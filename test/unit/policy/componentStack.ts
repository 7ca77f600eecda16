// A program run under the harness's mocks, seen the way the policy analyzer sees a stack: every
// registered resource with its type, name, URN, parent, inputs (what a resource policy sees),
// outputs (what a stack policy sees; a component's are the ones it registered) and property
// dependencies. The mocks record inputs and emulated state; the engine's view of parents, URNs,
// dependencies and component outputs is captured from the mock monitor's requests.
import { PolicyResource } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { ProviderMocks } from "../../../testing/mocks";
import { runProgram, RunOptions } from "../../../testing/program";
import { NO_OPTIONS, UNKNOWN } from "./policyHarness";

/** The engine's wire marker for a secret value (a policy receives the value itself). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface CapturedResource {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    parentUrn?: string;
    /** Per property, the URNs of the resources its value came from. */
    propertyDependencies: Record<string, string[]>;
    inputs: Record<string, unknown>;
    outputs: Record<string, unknown>;
}

export interface PolicyView {
    resources: PolicyResource[];
    /** Inputs by URN, for resource policies. */
    inputs: Map<string, Record<string, unknown>>;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getPropertydependenciesMap(): { forEach(f: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}

interface OutputsRequest {
    getUrn(): string;
    getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined;
}

type Callback = (err: unknown, response?: { getUrn(): string }) => void;

interface Monitor {
    registerResource(req: RegisterRequest, callback: Callback): unknown;
    registerResourceOutputs(req: OutputsRequest, callback: (err: unknown) => void): unknown;
}

/** Removes the engine's secret markers, as the policy SDK does when it deserializes properties. */
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (typeof value === "object" && value !== null) {
        const record = value as Record<string, unknown>;
        if (SECRET_SIG_KEY in record) {
            return unwrapSecrets(record.value);
        }
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

interface Pending {
    type: string;
    name: string;
    custom: boolean;
    parentUrn?: string;
    propertyDependencies: Record<string, string[]>;
    urn?: string;
}

/** Runs a program under the mocks and captures every resource as the analyzer would see it. */
export async function captureStack<T>(
    program: () => T,
    options: RunOptions = {},
): Promise<{ result: T; mocks: ProviderMocks; resources: CapturedResource[] }> {
    const pending: Pending[] = [];
    const componentOutputs = new Map<string, Record<string, unknown>>();
    const { result, mocks } = await runProgram(() => {
        const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req, callback) => {
            const entry: Pending = {
                type: req.getType(),
                name: req.getName(),
                custom: req.getCustom(),
                parentUrn: req.getParent() || undefined,
                propertyDependencies: {},
            };
            req.getPropertydependenciesMap().forEach((deps, key) => {
                entry.propertyDependencies[key] = deps.getUrnsList();
            });
            pending.push(entry);
            return register(req, (err, response) => {
                entry.urn = response?.getUrn();
                callback(err, response);
            });
        };
        const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
        monitor.registerResourceOutputs = (req, callback) => {
            componentOutputs.set(req.getUrn(), req.getOutputs()?.toJavaScript() ?? {});
            return registerOutputs(req, callback);
        };
        return program();
    }, options);
    // A component registers its outputs once they resolve, which can be after the last registration.
    const deadline = Date.now() + 20_000;
    while (pending.some((p) => !p.custom && (p.urn === undefined || !componentOutputs.has(p.urn)))) {
        if (Date.now() > deadline) {
            throw new Error("components did not register their outputs");
        }
        await new Promise((r) => setTimeout(r, 10));
    }
    const resources = pending.map((p): CapturedResource => {
        const registration = mocks.registrations.find((r) => r.type === p.type && r.name === p.name);
        const inputs = registration?.inputs ?? {};
        const outputs = p.custom
            ? { ...inputs, ...(registration?.state ?? {}) }
            : (unwrapSecrets(componentOutputs.get(p.urn!) ?? {}) as Record<string, unknown>);
        return { ...p, urn: p.urn!, inputs, outputs };
    });
    return { result, mocks, resources };
}

/** The resources as policies receive them: stack resources linked by parent and dependencies, and inputs by URN. */
export function policyView(captured: CapturedResource[]): PolicyView {
    const byUrn = new Map<string, PolicyResource>();
    for (const c of captured) {
        byUrn.set(c.urn, {
            type: c.type,
            name: c.name,
            urn: c.urn,
            props: c.outputs,
            opts: { ...NO_OPTIONS, parent: c.parentUrn },
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        });
    }
    for (const c of captured) {
        const r = byUrn.get(c.urn)!;
        r.parent = c.parentUrn === undefined ? undefined : byUrn.get(c.parentUrn);
        for (const [property, urns] of Object.entries(c.propertyDependencies)) {
            const deps = urns.map((u) => byUrn.get(u)).filter((d): d is PolicyResource => d !== undefined);
            r.propertyDependencies[property] = deps;
            r.dependencies.push(...deps.filter((d) => !r.dependencies.includes(d)));
        }
    }
    return { resources: [...byUrn.values()], inputs: new Map(captured.map((c) => [c.urn, c.inputs])) };
}

/**
 * The same stack as a first `pulumi preview` shows it, pessimistically: every input computed from
 * another resource is unknown, and so is every output a resource computes and every component
 * output. Policies must report nothing they could not know.
 */
export function asFirstPreview(captured: CapturedResource[]): CapturedResource[] {
    const customUrns = new Set(captured.filter((c) => c.custom).map((c) => c.urn));
    return captured.map((c) => {
        const inputs = Object.fromEntries(
            Object.entries(c.inputs).map(([k, v]) => [
                k,
                (c.propertyDependencies[k] ?? []).some((u) => customUrns.has(u)) ? UNKNOWN.string : v,
            ]),
        );
        const outputs = c.custom
            ? Object.fromEntries(Object.keys(c.outputs).map((k) => [k, k in inputs ? inputs[k] : UNKNOWN.string]))
            : Object.fromEntries(Object.keys(c.outputs).map((k) => [k, UNKNOWN.string]));
        return { ...c, inputs, outputs };
    });
}
