// Which provider encrypts Kubernetes objects, as pure rules over the EncryptionConfiguration's provider
// order. kube-apiserver encrypts every write with the first provider of an entry and tries the others
// only to read, so the first one is what matters. The component renders the order (encryptionConfig.ts);
// the policy pack judges it with the same table of discouraged providers the component warns with.
import { DISCOURAGED_PROVIDERS, EncryptionProvider, renderEncryptionConfig } from "../encryption/encryptionConfig";

/** The providers of a configuration that encrypt on write: identity stores plain text. */
export const RECOMMENDED_FIRST_PROVIDERS: readonly string[] = [EncryptionProvider.Secretbox, EncryptionProvider.Kms];

export enum ProviderVerdict {
    /** secretbox or kms first. */
    Recommended = "recommended",
    /** A provider that encrypts, but is discouraged (aescbc, aesgcm, anything unrecognised). */
    Discouraged = "discouraged",
    /** identity first (plain text on write), or no provider at all. */
    Forbidden = "forbidden",
}

export interface ProviderFinding {
    verdict: ProviderVerdict;
    /** What is wrong and how to fix it; absent when recommended. */
    reason?: string;
}

/** The provider types of each resources entry, in order, e.g. `[["secretbox", "identity"]]`. */
export function providerOrderOf(config: unknown): string[][] {
    const resources = (config as { resources?: unknown } | null)?.resources;
    if (!Array.isArray(resources)) {
        return [];
    }
    return resources.map((entry: unknown) => {
        const providers = (entry as { providers?: unknown } | null)?.providers;
        return Array.isArray(providers)
            ? providers.map((p: unknown) => (typeof p === "object" && p !== null ? (Object.keys(p)[0] ?? "") : ""))
            : [];
    });
}

/** The order the component renders for a provider choice: the provider, then identity if kept as a read fallback. */
export function encryptionProviderOrderFor(provider: EncryptionProvider, identityFallback: boolean): string[] {
    const config = renderEncryptionConfig({
        provider,
        keys: [],
        // Placeholders: only the provider types are read back.
        kms: { name: "order", endpoint: "unix:///order.sock", timeout: "3s" },
        resources: ["secrets"],
        identityFallback,
    });
    return providerOrderOf(config)[0];
}

/** Judges one entry's provider order by its first provider. */
export function firstProviderFinding(order: readonly string[]): ProviderFinding {
    const first = order[0];
    if (first === undefined || first === "") {
        return {
            verdict: ProviderVerdict.Forbidden,
            reason: "lists no provider, so kube-apiserver refuses it; put secretbox (or kms) first",
        };
    }
    if (first === "identity") {
        return {
            verdict: ProviderVerdict.Forbidden,
            reason: "has identity first, so kube-apiserver writes every object in plain text; put secretbox (or kms) first and keep identity only last, as a read fallback (encryptionProvider, encryptionIdentityFallback)",
        };
    }
    if (RECOMMENDED_FIRST_PROVIDERS.includes(first)) {
        return { verdict: ProviderVerdict.Recommended };
    }
    const why =
        DISCOURAGED_PROVIDERS[first] ??
        `${first} is not a provider this package renders; use secretbox, or kms for keys that never reach the nodes`;
    return { verdict: ProviderVerdict.Discouraged, reason: `encrypts with ${first} first: ${why}` };
}
