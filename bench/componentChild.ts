// One construction measurement under the local stand-ins, in a process of its own so that its peak RSS
// is its own: either `clusters` SecureEtcdClusters of three members, or the very registrations one
// such cluster makes (types, names, inputs, secretness and dependencies, recorded beforehand) replayed
// `clusters` times as bare resources with no component around them. The stand-ins' own work (real
// keys, real certificates) is the same in all modes, so the difference is what the component itself
// costs: validation, rendering, Output plumbing, parents.
// Reads a ComponentSpec as JSON on stdin, prints a ComponentMeasurementRaw as JSON.
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster } from "../src";
import { runProgram } from "../testing/program";
import { childMain } from "./stats";

/** One registration of the template cluster. */
export interface TemplateRegistration {
    type: string;
    name: string;
    custom: boolean;
    /** Inputs as plain values; those named in `secretInputs` are registered as secrets. */
    inputs: Record<string, unknown>;
    secretInputs: string[];
    /** The earlier registrations it waited for (the engine's `dependencies`), as `type::name` keys. */
    dependsOn: string[];
}

/**
 * - `component`: the SecureEtcdClusters themselves;
 * - `bare`: the recorded registrations, each waiting (`dependsOn`) for the resources it depended on,
 *   as a hand-written program must: a certificate cannot be signed before its key exists;
 * - `resolved`: the recorded registrations with nothing to wait for (every input known up front,
 *   which no real program has); all of them start at once. Reported for comparison.
 */
export type ComponentBenchMode = "component" | "bare" | "resolved";

export interface ComponentSpec {
    mode: ComponentBenchMode;
    clusters: number;
    /** The cluster name the template was recorded with; replays swap it for their own. */
    templateName: string;
    template: TemplateRegistration[];
}

export interface ComponentMeasurementRaw {
    registrations: number;
    seconds: number;
    /** Resident memory once modules and the template are loaded, before construction. */
    startRssMiB: number;
    maxRssMiB: number;
}

export const benchClusterName = (i: number) => `bench-${i}`;

/** The arguments of every benchmarked cluster: three members, everything else at its default. */
export const BENCH_CLUSTER_ARGS = {
    members: [
        { name: "etcd-0", ip: "10.0.1.10" },
        { name: "etcd-1", ip: "10.0.2.10" },
        { name: "etcd-2", ip: "10.0.3.10" },
    ],
    vpcId: "vpc-0123456789abcdef0",
};

/** A resource class that takes its inputs as its arguments, as the provider SDKs' classes do. */
type ResourceClass = new (
    name: string,
    args: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions,
) => pulumi.CustomResource;

/**
 * The class that registers a type token (`aws:s3/bucket:Bucket` is `aws.s3.Bucket`), so that the
 * baseline registers what a hand-written program would, output properties and one-off costs
 * included.
 */
function resourceClass(type: string): ResourceClass {
    const m = /^(aws|tls|random):([^/]+)\/[^:]+:(\w+)$/.exec(type);
    if (!m) {
        throw new Error(`no class registers ${type}`);
    }
    // The SDKs' module objects are untyped here: the class is found by name and checked by its token.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sdk = require(`@pulumi/${m[1]}`) as Record<string, Record<string, unknown>>;
    const holder = m[2] === "index" ? sdk : sdk[m[2]];
    const cls = holder?.[m[3]] as (ResourceClass & { __pulumiType?: string }) | undefined;
    if (cls?.__pulumiType !== type) {
        throw new Error(`no SDK class registers ${type}`);
    }
    return cls;
}

/** A registration's key in `dependsOn`: type and name identify it within one program. */
export const registrationKey = (type: string, name: string) => `${type}::${name}`;

function recorded(byKey: Map<string, pulumi.Resource>, key: string): pulumi.Resource {
    const resource = byKey.get(key);
    if (!resource) {
        throw new Error(`the template depends on ${key}, which it registers later or not at all`);
    }
    return resource;
}

function replay(spec: ComponentSpec, cluster: number, classes: Map<string, ResourceClass>): void {
    const own = benchClusterName(cluster);
    // Keyed by the template's names: dependencies are recorded against them.
    const byKey = new Map<string, pulumi.Resource>();
    for (const r of spec.template) {
        const name = r.name.startsWith(spec.templateName) ? own + r.name.slice(spec.templateName.length) : r.name;
        if (!r.custom) {
            byKey.set(registrationKey(r.type, r.name), new pulumi.ComponentResource(r.type, name));
            continue;
        }
        const args: pulumi.Inputs = {};
        for (const [k, v] of Object.entries(r.inputs)) {
            args[k] = r.secretInputs.includes(k) ? pulumi.secret(v) : v;
        }
        const dependsOn = spec.mode === "bare" ? r.dependsOn.map((key) => recorded(byKey, key)) : [];
        byKey.set(registrationKey(r.type, r.name), new (classes.get(r.type)!)(name, args, { dependsOn }));
    }
}

async function measure(spec: ComponentSpec): Promise<ComponentMeasurementRaw> {
    // Both modes load the same SDK modules before the clock starts (the component imports them too).
    const classes = new Map(spec.template.filter((r) => r.custom).map((r) => [r.type, resourceClass(r.type)]));
    const startRss = process.memoryUsage().rss;
    const started = process.hrtime.bigint();
    const { mocks } = await runProgram(() => {
        for (let i = 0; i < spec.clusters; i++) {
            if (spec.mode === "component") {
                new SecureEtcdCluster(benchClusterName(i), BENCH_CLUSTER_ARGS);
            } else {
                replay(spec, i, classes);
            }
        }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
        registrations: mocks.registrations.length,
        seconds,
        startRssMiB: startRss / 2 ** 20,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
}

if (require.main === module) {
    // The component's warnings would repeat once per cluster; they are not what is measured.
    console.warn = () => undefined;
    childMain(measure);
}
