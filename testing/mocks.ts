// Local stand-ins that behave like the real providers, for `pulumi.runtime.setMocks` (the unit
// tests' harness and the local demo both run the component under them):
// - every registration is recorded (type, name, parent-free inputs as sent, provider reference);
// - tls issues real keys and X.509 certificates, random draws real random bytes;
// - outputs the provider declares secret, and outputs echoing a secret input, come back secret;
// - AWS resources get ids and ARNs in the provider's formats;
// - invokes that read AWS answer from what the previous run left there (SSM parameters);
// - an invoke nobody mocked fails loudly instead of returning nothing.
import * as pulumi from "@pulumi/pulumi";
import { emulateAwsResource, MOCK_ACCOUNT, MOCK_CALLER_ARN, MOCK_REGION } from "./awsEmulator";
import { emulateRandomBytes, emulateRandomId, emulateRandomString } from "./randomEmulator";
import { providerSecretOutputs } from "./secretOutputs";
import {
    emulateCertRequest,
    emulateLocallySignedCert,
    emulatePrivateKey,
    emulateSelfSignedCert,
    readyForRenewal,
} from "./tlsEmulator";

type State = Record<string, unknown>;

const SSM_PARAMETER = "aws:ssm/parameter:Parameter";

/** Certificates the tls provider re-issues once inside their early-renewal window. */
const CERTIFICATE_TYPES = new Set([
    "tls:index/locallySignedCert:LocallySignedCert",
    "tls:index/selfSignedCert:SelfSignedCert",
]);

/** The engine's wire marker for a secret value. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Options the engine receives with a registration (captured from the mock monitor). */
export interface RegistrationOptions {
    retainOnDelete: boolean;
    protect: boolean;
    /** URNs this resource depends on. */
    dependencies: string[];
    /** The resource's URN, as the engine computes it from its parent, type and name. */
    urn: string;
    /** The URNs its aliases stand for: the engine moves state from any of them instead of replacing. */
    aliases: string[];
}

/** What the engine would do with a resource, given the previous run's state. */
export type Change = "create" | "same" | "update";

export interface Registration {
    type: string;
    name: string;
    custom: boolean;
    /** Inputs as the engine received them: secret values still wrapped in the secret marker. */
    rawInputs: State;
    /** Inputs with secret markers removed. */
    inputs: State;
    /** Top-level input names that carried a secret. */
    secretInputs: string[];
    /** `urn::id` of the provider instance the resource was registered with, if any. */
    provider?: string;
    id?: string;
    state?: State;
    /** Relative to the previous run given to the mocks; "create" without one. */
    change?: Change;
    options?: RegistrationOptions;
}

function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as State)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Removes secret markers; reports whether any was found. */
function unwrap(value: unknown): { value: unknown; secret: boolean } {
    if (isSecretWrapper(value)) {
        return { value: unwrap(value.value).value, secret: true };
    }
    if (Array.isArray(value)) {
        const items = value.map(unwrap);
        return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
    }
    if (typeof value === "object" && value !== null) {
        let secret = false;
        const out: State = {};
        for (const [k, v] of Object.entries(value)) {
            const u = unwrap(v);
            out[k] = u.value;
            secret ||= u.secret;
        }
        return { value: out, secret };
    }
    return { value, secret: false };
}

/** Whether a value (as the engine received it) contains a secret marker anywhere. */
export function containsSecret(value: unknown): boolean {
    return unwrap(value).secret;
}

export class ProviderMocks implements pulumi.runtime.Mocks {
    readonly registrations: Registration[] = [];
    readonly invokes: pulumi.runtime.MockCallArgs[] = [];
    readonly errors: Error[] = [];

    /**
     * @param previous the mocks of the previous run of the same stack: like the engine, an
     * unchanged resource keeps its id and state (so random bytes and certificates stay the
     * same across runs), and like AWS, reads find what that run created.
     */
    constructor(readonly previous?: ProviderMocks) {}

    /** Custom resources of the previous run that this run no longer registers: deleted by `up`. */
    deleted(): Registration[] {
        const now = new Set(this.registrations.map((r) => `${r.type}::${r.name}`));
        return (this.previous?.registrations ?? []).filter((r) => r.custom && !now.has(`${r.type}::${r.name}`));
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        this.invokes.push(args);
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return {
                    accountId: MOCK_ACCOUNT,
                    arn: MOCK_CALLER_ARN,
                    userId: "AIDAMOCK",
                    id: MOCK_ACCOUNT,
                };
            case "aws:index/getRegion:getRegion":
                return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            case "aws:ssm/getParametersByPath:getParametersByPath":
                return this.parametersByPath(args.inputs as State);
        }
        const error = new Error(`unmocked invoke ${args.token}: add it to testing/mocks.ts if the package needs it`);
        this.errors.push(error);
        throw error;
    }

    /**
     * GetParametersByPath over the parameters the previous run left (none on a first run): those
     * directly under the path, or anywhere below it when recursive, by name; values as the
     * provider returns them, always marked secret.
     */
    private parametersByPath(inputs: State): pulumi.runtime.MockCallResult {
        const path = (inputs.path as string).replace(/\/+$/, "");
        const recursive = inputs.recursive === true;
        const found = (this.previous?.registrations ?? [])
            .filter((r) => r.type === SSM_PARAMETER && r.state !== undefined)
            .map((r) => r.state!)
            .filter((state) => {
                const name = state.name as string;
                return name.startsWith(`${path}/`) && (recursive || !name.slice(path.length + 1).includes("/"));
            })
            .sort((a, b) => (a.name as string).localeCompare(b.name as string));
        return {
            id: path,
            path,
            recursive,
            withDecryption: inputs.withDecryption ?? true,
            region: MOCK_REGION,
            arns: found.map((p) => p.arn),
            names: found.map((p) => p.name),
            types: found.map((p) => p.type),
            values: pulumi.secret(found.map((p) => p.insecureValue ?? p.value)),
        };
    }

    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        const rawInputs = (args.inputs ?? {}) as State;
        const inputs: State = {};
        const secretInputs: string[] = [];
        for (const [k, v] of Object.entries(rawInputs)) {
            const u = unwrap(v);
            inputs[k] = u.value;
            if (u.secret) {
                secretInputs.push(k);
            }
        }
        const registration: Registration = {
            type: args.type,
            name: args.name,
            custom: args.custom ?? false,
            rawInputs,
            inputs,
            secretInputs,
            provider: args.provider || undefined,
        };
        this.registrations.push(registration);
        this.byTypeAndName.set(`${args.type}::${args.name}`, registration);
        try {
            const prior = this.previous?.registrations.find((r) => r.type === args.type && r.name === args.name);
            const { id, state, change } = await this.emulateWithHistory(
                prior,
                args.type,
                args.name,
                inputs,
                registration.custom,
            );
            registration.id = id;
            registration.state = state;
            registration.change = change;
            return { id, state: this.markSecrets(args.type, state, secretInputs) };
        } catch (e) {
            this.errors.push(e as Error);
            throw e;
        }
    }

    private async emulateWithHistory(
        prior: Registration | undefined,
        type: string,
        name: string,
        inputs: State,
        custom: boolean,
    ): Promise<{ id: string | undefined; state: State; change: Change }> {
        const renews = CERTIFICATE_TYPES.has(type) && prior?.state !== undefined && readyForRenewal(prior.state);
        if (prior?.state && sameInputs(prior.inputs, inputs) && !renews) {
            return { id: prior.id, state: prior.state, change: "same" };
        }
        const { id, state } = await this.emulate(type, name, inputs, custom);
        return { id, state, change: prior ? "update" : "create" };
    }

    private async emulate(
        type: string,
        name: string,
        inputs: State,
        custom: boolean,
    ): Promise<{ id: string | undefined; state: State }> {
        if (!custom) {
            return { id: undefined, state: inputs };
        }
        if (type.startsWith("pulumi:providers:")) {
            return { id: `${name}-provider-id`, state: inputs };
        }
        const withId = (state: State) => ({ id: state.id as string, state });
        switch (type) {
            case "tls:index/privateKey:PrivateKey":
                return withId(await emulatePrivateKey(inputs));
            case "tls:index/selfSignedCert:SelfSignedCert":
                return withId(await emulateSelfSignedCert(inputs));
            case "tls:index/certRequest:CertRequest":
                return withId(await emulateCertRequest(inputs));
            case "tls:index/locallySignedCert:LocallySignedCert":
                return withId(await emulateLocallySignedCert(inputs));
            case "random:index/randomBytes:RandomBytes":
                return withId(emulateRandomBytes(inputs));
            case "random:index/randomId:RandomId":
                return withId(emulateRandomId(inputs));
            case "random:index/randomPassword:RandomPassword":
            case "random:index/randomString:RandomString":
                return withId(emulateRandomString(inputs));
        }
        if (type.startsWith("aws:")) {
            return emulateAwsResource(type, name, inputs);
        }
        throw new Error(`no emulation for resource type ${type}: add one to testing/mocks.ts`);
    }

    /** Records the options the engine received with a registration. */
    recordOptions(type: string, name: string, options: RegistrationOptions): void {
        this.pendingOptions.set(`${type}::${name}`, options);
        const r = this.byTypeAndName.get(`${type}::${name}`);
        if (r) {
            r.options = options;
        }
    }

    /** Registrations by `type::name`: the engine sends options for every one (a scan would be quadratic). */
    private readonly byTypeAndName = new Map<string, Registration>();

    /** Options recorded before the registration itself arrived. */
    private readonly pendingOptions = new Map<string, RegistrationOptions>();

    optionsOf(r: Registration): RegistrationOptions | undefined {
        return r.options ?? this.pendingOptions.get(`${r.type}::${r.name}`);
    }

    /** What the engine does and mocks do not: provider-declared secret outputs and echoed secret inputs. */
    private markSecrets(type: string, state: State, secretInputs: string[]): State {
        const secret = new Set([...providerSecretOutputs(type), ...secretInputs]);
        const out: State = {};
        for (const [k, v] of Object.entries(state)) {
            out[k] = secret.has(k) && v !== undefined ? pulumi.secret(v) : v;
        }
        return out;
    }

    // ------------------------------------------------------------ queries for tests

    ofType(type: string): Registration[] {
        return this.registrations.filter((r) => r.type === type);
    }

    named(name: string): Registration {
        const found = this.registrations.filter((r) => r.name === name);
        if (found.length !== 1) {
            throw new Error(`expected one registration named ${name}, found ${found.length}`);
        }
        return found[0];
    }

    /** Counts of registrations by type, for exact resource-set assertions. */
    countsByType(filter: (r: Registration) => boolean = () => true): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const r of this.registrations.filter(filter)) {
            counts[r.type] = (counts[r.type] ?? 0) + 1;
        }
        return counts;
    }
}

function sameInputs(a: State, b: State): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}
