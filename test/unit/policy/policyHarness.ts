// Drives the pack's policies the way @pulumi/policy's analyzer server does, without starting it:
// properties go through the SDK's own unknown-checking proxy, `getConfig` returns the policy's
// config, `notApplicable` ends the policy, and violations are collected with the policy's level.
// An UnknownValueError (a policy touching an unknown value) is recorded, not swallowed: the server
// would turn it into a "can't run during preview" diagnostic, and the pack's policies must not
// need that.
import {
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
} from "@pulumi/policy";
import { EtcdPolicy, isStackPolicy } from "../../../policy/lib/types";

interface ProxyModule {
    unknownCheckingProxy(value: unknown): Record<string, unknown>;
    UnknownValueError: new (...args: never[]) => Error;
    unknownStringValue: string;
    unknownNumberValue: string;
    unknownBooleanValue: string;
    unknownArrayValue: string;
    unknownObjectValue: string;
    unknownAssetValue: string;
    unknownArchiveValue: string;
}

// The SDK exports these at runtime but leaves them out of its type declarations (@internal).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require("@pulumi/policy/proxy") as ProxyModule;

/** The engine's sentinels for values not known during a preview, per type. */
export const UNKNOWN = {
    string: proxy.unknownStringValue,
    number: proxy.unknownNumberValue,
    boolean: proxy.unknownBooleanValue,
    array: proxy.unknownArrayValue,
    object: proxy.unknownObjectValue,
    asset: proxy.unknownAssetValue,
    archive: proxy.unknownArchiveValue,
};

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    message: string;
    urn?: string;
}

export interface Outcome {
    violations: Violation[];
    /** The reason given to notApplicable, if the policy called it. */
    notApplicable?: string;
    /** Set when the policy read an unknown value through the SDK's proxy (it should not). */
    unknownValueError?: string;
}

class NotApplicable extends Error {
    constructor(readonly reason: string) {
        super(reason);
    }
}

export const NO_OPTIONS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

const levelOf = (policy: EtcdPolicy): EnforcementLevel => policy.enforcementLevel ?? "mandatory";

async function run(policy: EtcdPolicy, body: (report: (message: string, urn?: string) => void) => unknown) {
    const outcome: Outcome = { violations: [] };
    try {
        await body((message, urn) =>
            outcome.violations.push({ policy: policy.name, enforcementLevel: levelOf(policy), message, urn }),
        );
    } catch (e) {
        if (e instanceof NotApplicable) {
            outcome.notApplicable = e.reason;
        } else if (e instanceof proxy.UnknownValueError) {
            outcome.unknownValueError = e.message;
        } else {
            throw e;
        }
    }
    return outcome;
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason ?? "");
};

/** A URN the way the engine builds it: the parent chain's types, `$`-joined, then the name. */
export function urnOf(type: string, name: string, parentTypes: string[] = []): string {
    return `urn:pulumi:test::secure-etcd::${[...parentTypes, type].join("$")}::${name}`;
}

export interface ResourceInput {
    type: string;
    props: Record<string, unknown>;
    name?: string;
    urn?: string;
    /** The parent's URN. */
    parent?: string;
}

/** Runs a resource policy's validateResource on one resource's inputs. */
export function runResourcePolicy(policy: EtcdPolicy, input: ResourceInput, config: object = {}): Promise<Outcome> {
    if (isStackPolicy(policy)) {
        throw new Error(`${policy.name} is a stack policy`);
    }
    const name = input.name ?? "subject";
    const props = proxy.unknownCheckingProxy(input.props);
    const args: ResourceValidationArgs = {
        type: input.type,
        props,
        urn: input.urn ?? urnOf(input.type, name),
        name,
        opts: { ...NO_OPTIONS, parent: input.parent },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable,
    };
    // The server reports a resource policy's violations against the resource's URN.
    return run(policy, (report) => policy.validateResource(args, (message) => report(message, args.urn)));
}

/** Runs a stack policy's validateStack over resources. */
export function runStackPolicy(policy: EtcdPolicy, resources: PolicyResource[], config: object = {}): Promise<Outcome> {
    if (!isStackPolicy(policy)) {
        throw new Error(`${policy.name} is a resource policy`);
    }
    const args: StackValidationArgs = {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable,
    };
    return run(policy, (report) => policy.validateStack(args, report));
}

export interface Fixture {
    type: string;
    name: string;
    props?: Record<string, unknown>;
    /** The parent fixture's name. */
    parent?: string;
    /** Per property, the names of the fixtures its value was computed from. */
    dependsOn?: Record<string, string[]>;
    /** An explicit URN (otherwise built from the parent chain). */
    urn?: string;
}

/** Stack resources from fixtures, linked by parent and property dependencies as the SDK links them. */
export function stackOf(fixtures: Fixture[]): PolicyResource[] {
    const byName = new Map(fixtures.map((f) => [f.name, f]));
    const typesAbove = (f: Fixture): string[] => {
        const parent = f.parent === undefined ? undefined : byName.get(f.parent);
        return parent ? [...typesAbove(parent), parent.type] : [];
    };
    const resources = new Map<string, PolicyResource>();
    for (const f of fixtures) {
        const urn = f.urn ?? urnOf(f.type, f.name, typesAbove(f));
        resources.set(f.name, {
            type: f.type,
            name: f.name,
            urn,
            props: proxy.unknownCheckingProxy(f.props ?? {}),
            opts: { ...NO_OPTIONS },
            dependencies: [],
            propertyDependencies: {},
            isType: () => false,
            asType: () => undefined,
        });
    }
    const lookup = (name: string) => {
        const r = resources.get(name);
        if (!r) {
            throw new Error(`no fixture named ${name}`);
        }
        return r;
    };
    for (const f of fixtures) {
        const r = lookup(f.name);
        if (f.parent !== undefined) {
            r.parent = lookup(f.parent);
            r.opts.parent = r.parent.urn;
        }
        for (const [property, names] of Object.entries(f.dependsOn ?? {})) {
            r.propertyDependencies[property] = names.map(lookup);
            r.dependencies.push(...names.map(lookup));
        }
    }
    return [...resources.values()];
}

/** Runs every policy over a whole stack: stack policies once, resource policies per resource. */
export async function runAll(
    policies: readonly EtcdPolicy[],
    stack: { resources: PolicyResource[]; inputs: Map<string, Record<string, unknown>> },
    config: Record<string, object> = {},
): Promise<{ violations: Violation[]; unknownValueErrors: string[]; notApplicable: Map<string, string> }> {
    const violations: Violation[] = [];
    const unknownValueErrors: string[] = [];
    const notApplicable = new Map<string, string>();
    for (const policy of policies) {
        const outcomes = isStackPolicy(policy)
            ? [await runStackPolicy(policy, stack.resources, config[policy.name])]
            : await Promise.all(
                  stack.resources.map((r) =>
                      runResourcePolicy(
                          policy,
                          {
                              type: r.type,
                              name: r.name,
                              urn: r.urn,
                              parent: r.parent?.urn,
                              props: stack.inputs.get(r.urn) ?? {},
                          },
                          config[policy.name],
                      ),
                  ),
              );
        if (isStackPolicy(policy) && outcomes[0].notApplicable !== undefined) {
            notApplicable.set(policy.name, outcomes[0].notApplicable);
        }
        if (!isStackPolicy(policy) && outcomes.every((o) => o.notApplicable !== undefined)) {
            notApplicable.set(policy.name, "no resource it applies to");
        }
        for (const o of outcomes) {
            violations.push(...o.violations);
            if (o.unknownValueError) {
                unknownValueErrors.push(`${policy.name}: ${o.unknownValueError}`);
            }
        }
    }
    return { violations, unknownValueErrors, notApplicable };
}

export const mandatory = (violations: Violation[]) => violations.filter((v) => v.enforcementLevel === "mandatory");
