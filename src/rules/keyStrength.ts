// Private-key strength as a pure rule over the tls provider's arguments. The policy pack checks every
// tls.PrivateKey with it; the component's key table (pki/keyAlgorithm.ts) passes it for every
// KeyAlgorithm (asserted in the policy tests), so the two can never disagree about what is strong.

/** The smallest RSA modulus accepted (NIST SP 800-57: 112-bit security). */
export const MIN_RSA_BITS = 2048;

/** ECDSA curves accepted. The tls provider's default, P224, is not among them. */
export const STRONG_ECDSA_CURVES: readonly string[] = ["P256", "P384", "P521"];

/** What the tls provider uses when an argument is omitted. */
export const TLS_KEY_DEFAULTS = { rsaBits: 2048, ecdsaCurve: "P224" } as const;

/** The arguments of a `tls.PrivateKey`, as plain values. */
export interface PrivateKeyArgs {
    algorithm: string;
    rsaBits?: number;
    ecdsaCurve?: string;
}

export interface KeyStrengthLimits {
    minRsaBits: number;
    ecdsaCurves: readonly string[];
}

export const DEFAULT_KEY_STRENGTH_LIMITS: KeyStrengthLimits = {
    minRsaBits: MIN_RSA_BITS,
    ecdsaCurves: STRONG_ECDSA_CURVES,
};

/** Why a key is too weak, with the fix; undefined when it is strong enough. */
export function privateKeyProblem(
    key: PrivateKeyArgs,
    limits: KeyStrengthLimits = DEFAULT_KEY_STRENGTH_LIMITS,
): string | undefined {
    switch (key.algorithm) {
        case "RSA": {
            const bits = key.rsaBits ?? TLS_KEY_DEFAULTS.rsaBits;
            return bits < limits.minRsaBits
                ? `RSA with ${bits} bits is below the minimum of ${limits.minRsaBits}; set rsaBits to ${limits.minRsaBits} or more, or use ECDSA P256 (the component's default keyAlgorithm)`
                : undefined;
        }
        case "ECDSA": {
            const curve = key.ecdsaCurve ?? TLS_KEY_DEFAULTS.ecdsaCurve;
            const omitted =
                key.ecdsaCurve === undefined ? " (the tls provider's default when ecdsaCurve is omitted)" : "";
            return limits.ecdsaCurves.includes(curve)
                ? undefined
                : `ECDSA on ${curve}${omitted} is not an accepted curve; set ecdsaCurve to one of ${limits.ecdsaCurves.join(", ")}`;
        }
        case "ED25519":
            return undefined;
        default:
            return `${JSON.stringify(key.algorithm)} is not a key algorithm the tls provider supports; use ECDSA (P256) or RSA (${limits.minRsaBits} bits or more)`;
    }
}
