// The kube-apiserver EncryptionConfiguration: a pure renderer over plain values, and the
// upstream validation rules (k8s.io/apiserver's validation_encryption.go) restated as predicates
// so that a rendered config is checked the way kube-apiserver checks it at startup.
import { toYaml } from "../core/yaml";

/** Encryption providers for Kubernetes resources at rest. */
export enum EncryptionProvider {
    /** XSalsa20-Poly1305 with a local 32-byte key: the default, and the best local-key provider. */
    Secretbox = "secretbox",
    /** AES-GCM with a local key: only with automated rotation (every 200k writes); discouraged. */
    Aesgcm = "aesgcm",
    /** AES-CBC with PKCS#7 padding: weak (padding oracle), not recommended by the Kubernetes docs. */
    Aescbc = "aescbc",
    /** KMS v2 through the AWS KMS plugin: envelope encryption, no key material on the nodes. */
    Kms = "kms",
}

export const LOCAL_KEY_PROVIDERS: readonly EncryptionProvider[] = [
    EncryptionProvider.Secretbox,
    EncryptionProvider.Aesgcm,
    EncryptionProvider.Aescbc,
];

/** Key lengths (bytes) each local provider accepts; the component always generates 32. */
export const KEY_LENGTHS: Record<string, number[]> = {
    secretbox: [32],
    aesgcm: [16, 24, 32],
    aescbc: [16, 24, 32],
};

export const GENERATED_KEY_BYTES = 32;

/** Why the AES providers are discouraged, for the warning given when one is chosen. */
export const DISCOURAGED_PROVIDERS: Record<string, string> = {
    aescbc: "aescbc is rated weak by the Kubernetes docs (CBC is open to padding-oracle attacks) and is not recommended; use secretbox, or kms for keys that never reach the nodes",
    aesgcm: "aesgcm is only safe with automated key rotation (a new key at least every 200,000 writes, because of its random nonces); use secretbox, or kms",
};

export interface LocalKey {
    name: string;
    /** Base64 of the key bytes. */
    secret: string;
}

export interface KmsV2Settings {
    /** Provider name, stored in every object's prefix: never contains ':'. */
    name: string;
    /** `unix:///...` socket of the KMS plugin. */
    endpoint: string;
    /** Go duration, e.g. "3s". */
    timeout: string;
}

export interface EncryptionConfigInput {
    provider: EncryptionProvider;
    /** Local keys in order; the first encrypts. Empty for KMS. */
    keys: LocalKey[];
    kms?: KmsV2Settings;
    resources: string[];
    /** Keep `identity: {}` last so data written before encryption stays readable. */
    identityFallback: boolean;
}

type ProviderEntry = Record<string, unknown>;

export interface EncryptionConfiguration {
    apiVersion: "apiserver.config.k8s.io/v1";
    kind: "EncryptionConfiguration";
    resources: { resources: string[]; providers: ProviderEntry[] }[];
}

/** One resource entry: the chosen provider first, identity last if kept. One provider type per item. */
export function renderEncryptionConfig(input: EncryptionConfigInput): EncryptionConfiguration {
    const providers: ProviderEntry[] = [];
    if (input.provider === EncryptionProvider.Kms) {
        const kms = input.kms!;
        providers.push({ kms: { apiVersion: "v2", name: kms.name, endpoint: kms.endpoint, timeout: kms.timeout } });
    } else {
        providers.push({ [input.provider]: { keys: input.keys.map((k) => ({ name: k.name, secret: k.secret })) } });
    }
    if (input.identityFallback) {
        providers.push({ identity: {} });
    }
    return {
        apiVersion: "apiserver.config.k8s.io/v1",
        kind: "EncryptionConfiguration",
        resources: [{ resources: [...input.resources], providers }],
    };
}

export function encryptionConfigYaml(config: EncryptionConfiguration): string {
    return toYaml(config);
}

// ------------------------------------------------------------------ upstream rules

const NON_REST_RESOURCES = ["apiserveripinfo", "serviceipallocations", "servicenodeportallocations"];

/** `secrets` -> { group: "", resource: "secrets" }; `deployments.apps` -> group "apps"; `*.` -> core group. */
export function parseGroupResource(value: string): { group: string; resource: string } {
    const dot = value.indexOf(".");
    return dot < 0 ? { group: "", resource: value } : { group: value.slice(dot + 1), resource: value.slice(0, dot) };
}

/** Problems with one resource list, as kube-apiserver reports them; each names the fix. */
export function resourceListProblems(resources: readonly string[]): string[] {
    const problems: string[] = [];
    if (resources.length === 0) {
        return ['is empty; list at least one resource, e.g. ["secrets", "configmaps"]'];
    }
    resources.forEach((res) => {
        const q = JSON.stringify(res);
        const gr = parseGroupResource(res);
        if (typeof res !== "string" || res === "") {
            problems.push(`${q} is not a resource name; use e.g. "secrets" or "deployments.apps"`);
        } else if (res.toLowerCase() !== res) {
            problems.push(
                `${q}: resource names have no capital letters; use the plural lowercase name, e.g. "secrets"`,
            );
        } else if (res === "*") {
            problems.push(
                `${q}: use "*." to encrypt every resource of the core API group, or "*.*" for every resource`,
            );
        } else if (NON_REST_RESOURCES.includes(res)) {
            problems.push(`${q} has no REST API and cannot be encrypted; remove it`);
        } else if (gr.group === "events.k8s.io") {
            problems.push(`${q}: events are stored under the core "events" resource; use "events"`);
        } else if (gr.group === "extensions") {
            problems.push(`${q}: the "extensions" API group has been removed; use the resource's current group`);
        } else if (gr.group === "*" && gr.resource !== "*") {
            problems.push(
                `${q}: one resource across every group cannot be encrypted; name its group, e.g. "${gr.resource}.apps"`,
            );
        }
    });
    const parsed = resources.map(parseGroupResource);
    let duplicate = false;
    let overlap = false;
    parsed.forEach((a, i) =>
        parsed.forEach((b, j) => {
            if (i === j) {
                return;
            }
            if (a.group === b.group && a.resource === b.resource) {
                duplicate = true;
            } else if (
                (a.group === "*" && a.resource === "*") ||
                (a.group === b.group && (a.resource === "*" || b.resource === "*"))
            ) {
                overlap = true;
            }
        }),
    );
    if (duplicate) {
        problems.push("lists the same resource more than once; list each once");
    }
    if (overlap) {
        problems.push(
            'mixes a wildcard with resources it already covers (e.g. "secrets" with "*." or anything with "*.*"), which kube-apiserver refuses because one would mask the other; keep only the wildcard or only the named resources',
        );
    }
    return problems;
}

/** A key name is stored in every object's prefix `k8s:enc:<provider>:v1:<name>:`. */
export function keyNameProblem(name: string): string | undefined {
    if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
        return `${JSON.stringify(name)} is not a usable key name; use a DNS-1123 label (lowercase letters, digits and '-', no ':'), e.g. "key-2026-11"`;
    }
    return undefined;
}

/**
 * Checks a rendered configuration against kube-apiserver's rules: returns every
 * violation, empty when kube-apiserver would accept it.
 */
export function encryptionConfigViolations(config: EncryptionConfiguration): string[] {
    const violations: string[] = [];
    if (config.apiVersion !== "apiserver.config.k8s.io/v1" || config.kind !== "EncryptionConfiguration") {
        violations.push("apiVersion/kind must be apiserver.config.k8s.io/v1 EncryptionConfiguration");
    }
    if (!config.resources?.length) {
        violations.push("resources: at least one entry is required");
    }
    const kmsNames = new Set<string>();
    config.resources?.forEach((entry, i) => {
        violations.push(...resourceListProblems(entry.resources ?? []).map((p) => `resources[${i}].resources ${p}`));
        if (!entry.providers?.length) {
            violations.push(`resources[${i}].providers: at least one provider is required`);
        }
        entry.providers?.forEach((provider, j) => {
            const at = `resources[${i}].providers[${j}]`;
            const types = Object.keys(provider);
            if (types.length !== 1) {
                violations.push(`${at}: exactly one provider type per list item, found ${types.length}`);
                return;
            }
            const type = types[0];
            const body = provider[type] as { keys?: LocalKey[] } & Partial<KmsV2Settings> & Record<string, unknown>;
            if (type in KEY_LENGTHS) {
                if (!body.keys?.length) {
                    violations.push(`${at}.${type}.keys: at least one key is required`);
                }
                body.keys?.forEach((key, k) => {
                    if (!key.name || key.name.includes(":")) {
                        violations.push(`${at}.${type}.keys[${k}].name: required, without ':'`);
                    }
                    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(key.secret ?? "")
                        ? Buffer.from(key.secret, "base64").length
                        : -1;
                    if (!KEY_LENGTHS[type].includes(bytes)) {
                        violations.push(
                            `${at}.${type}.keys[${k}].secret: ${bytes} bytes, expected one of ${KEY_LENGTHS[type].join(", ")}`,
                        );
                    }
                });
            } else if (type === "kms") {
                if (body.apiVersion !== "v2") {
                    violations.push(`${at}.kms.apiVersion: only v2 is rendered (v1 is deprecated)`);
                }
                if (!body.name || body.name.includes(":")) {
                    violations.push(`${at}.kms.name: required, without ':'`);
                } else if (kmsNames.has(body.name)) {
                    violations.push(`${at}.kms.name: ${body.name} is not unique`);
                }
                kmsNames.add(body.name ?? "");
                if (!/^unix:\/\/\//.test(body.endpoint ?? "")) {
                    violations.push(`${at}.kms.endpoint: must be a unix:/// socket`);
                }
                if (!/^\d+(ms|s|m)$/.test(body.timeout ?? "") || /^0+(ms|s|m)$/.test(body.timeout ?? "")) {
                    violations.push(`${at}.kms.timeout: must be a positive duration`);
                }
                if ("cachesize" in body) {
                    violations.push(`${at}.kms.cachesize: not supported in v2`);
                }
            } else if (type !== "identity") {
                violations.push(`${at}: unknown provider type ${type}`);
            }
        });
    });
    return violations;
}
