// The guards' memory: what the last deployment of a cluster was (its encryption key ring, where each
// CA rotation stands), recorded in AWS as SSM parameters under one path per cluster. Every preview
// and update lists that path once, with an invoke, before anything a guard decides is registered;
// each record is written only once what it describes is deployed. Plain resources and invokes
// only, so the guards run wherever the component runs: a TypeScript program, or any language
// through the component provider, where dynamic providers do not work.
import * as crypto from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Every record lives under this path: the deployer's SSM permissions can be scoped to it. */
export const RECORD_PARAMETER_ROOT = "/secure-etcd";

/** The last part of each record's name. */
export const RECORD_LEAVES = { keyRing: "key-ring", caRotation: "ca-rotation" } as const;

/** Pulumi's own rule for project and stack names: letters, digits, `_`, `.` and `-`, up to 100. */
const PULUMI_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** A component name SSM takes as one level of the path as it is. */
const PLAIN_SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * The component name as path levels: itself when SSM accepts it as a level (letters, digits and
 * `._-`, up to 128, not `.` or `..`); otherwise two levels, the name with every other character
 * replaced by `_` and a digest of the exact name. One level against two keeps the mapping
 * one-to-one: a name that needs the digest never lands where a plain name does.
 */
function nameSegments(name: string): string[] {
    if (PLAIN_SEGMENT.test(name) && name !== "." && name !== "..") {
        return [name];
    }
    const readable = name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "_";
    const digest = crypto.createHash("sha256").update(name, "utf8").digest("hex").slice(0, 32);
    return [readable, `sha256-${digest}`];
}

/**
 * Where the records of the component `clusterName` in `project`/`stack` live:
 * `/secure-etcd/<project>/<stack>/<component name>`. Distinct for every project, stack and
 * component name, so two clusters or two stacks never share a record.
 */
export function recordPath(project: string, stack: string, clusterName: string): string {
    for (const [what, value] of [
        ["project", project],
        ["stack", stack],
    ]) {
        if (!PULUMI_NAME.test(value)) {
            throw new Error(
                `the ${what} name ${JSON.stringify(value)} is not a Pulumi ${what} name (letters, digits, _ . and -, up to 100)`,
            );
        }
    }
    return [RECORD_PARAMETER_ROOT, project, stack, ...nameSegments(clusterName)].join("/");
}

/** The SSM listing of a path, as GetParametersByPath returns it (the provider's invoke result). */
export interface ParameterListing {
    names: string[];
    values: string[];
}

/** The value of the parameter `name` in a listing; undefined when it is not listed. */
export function listedValue(listing: ParameterListing, name: string): string | undefined {
    const i = listing.names.indexOf(name);
    return i < 0 ? undefined : listing.values[i];
}

/** Every record of one cluster as this preview or update found them. */
export interface DeploymentRecords {
    /** `/secure-etcd/<project>/<stack>/<component name>`. */
    path: string;
    /** The parameters directly under `path` (none before the first deployment has recorded one). */
    listing: pulumi.Output<ParameterListing>;
}

/** The full name of the record `leaf` of a cluster. */
export function recordName(records: Pick<DeploymentRecords, "path">, leaf: string): string {
    return `${records.path}/${leaf}`;
}

/**
 * Lists the cluster's records with one GetParametersByPath, without recursion (a name that needs a
 * digest sits a level deeper, so no other cluster's records are listed). Lists nothing, rather
 * than failing, before the first deployment. The provider marks every value sensitive; records
 * hold names and numbers only.
 */
export function readDeploymentRecords(clusterName: string, invokeOpts: pulumi.InvokeOutputOptions): DeploymentRecords {
    const path = recordPath(pulumi.getProject(), pulumi.getStack(), clusterName);
    const listing = pulumi.unsecret(
        aws.ssm.getParametersByPathOutput({ path, recursive: false, withDecryption: false }, invokeOpts),
    );
    return { path, listing: listing.apply((l) => ({ names: l.names, values: l.values })) };
}

/**
 * Options for the listing, from the component's own options: it runs before the component exists
 * (the guards hold every child back), so it takes the component's parent and AWS provider.
 */
export function recordInvokeOptions(opts: pulumi.ComponentResourceOptions | undefined): pulumi.InvokeOutputOptions {
    const providers = opts?.providers;
    const fromList = Array.isArray(providers) ? providers.find((p) => aws.Provider.isInstance(p)) : undefined;
    const fromMap = providers && !Array.isArray(providers) ? providers.aws : undefined;
    const provider = fromList ?? fromMap ?? (aws.Provider.isInstance(opts?.provider) ? opts?.provider : undefined);
    return { ...(opts?.parent ? { parent: opts.parent } : {}), ...(provider ? { provider } : {}) };
}

export interface RecordArgs {
    /** The parameter's full name. */
    parameterName: string;
    /** What it records: readable JSON, never a secret. */
    value: pulumi.Input<string>;
    description: string;
    clusterName: string;
}

/** The SSM parameter that records one thing about the last deployment. */
export function recordParameter(
    resourceName: string,
    args: RecordArgs,
    opts: pulumi.CustomResourceOptions,
): aws.ssm.Parameter {
    return new aws.ssm.Parameter(
        resourceName,
        {
            name: args.parameterName,
            type: aws.ssm.ParameterType.String,
            tier: "Standard",
            // Kept readable in previews and state: a record holds no secret.
            insecureValue: args.value,
            description: args.description,
            tags: { "secure-etcd:cluster": args.clusterName },
        },
        opts,
    );
}
