import { KeyAlgorithm } from "./args";

/** The `tls.PrivateKey` arguments for a key algorithm. ECDSA always names its curve: the provider's default is P-224. */
export interface PrivateKeySpec {
    algorithm: string;
    ecdsaCurve?: string;
    rsaBits?: number;
}

const SPECS: Record<KeyAlgorithm, PrivateKeySpec> = {
    [KeyAlgorithm.EcdsaP256]: { algorithm: "ECDSA", ecdsaCurve: "P256" },
    [KeyAlgorithm.EcdsaP384]: { algorithm: "ECDSA", ecdsaCurve: "P384" },
    [KeyAlgorithm.Rsa2048]: { algorithm: "RSA", rsaBits: 2048 },
    [KeyAlgorithm.Rsa3072]: { algorithm: "RSA", rsaBits: 3072 },
    [KeyAlgorithm.Rsa4096]: { algorithm: "RSA", rsaBits: 4096 },
};

export function privateKeySpec(algorithm: KeyAlgorithm): PrivateKeySpec {
    const spec = SPECS[algorithm];
    if (!spec) {
        throw new Error(
            `keyAlgorithm: ${JSON.stringify(algorithm)} is not one of ${Object.values(KeyAlgorithm).join(", ")}`,
        );
    }
    return spec;
}
