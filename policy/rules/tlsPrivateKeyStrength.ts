// No weak keys anywhere in the stack: RSA below 2048 bits, or ECDSA on P224 (which is also what the
// tls provider picks when ecdsaCurve is omitted). The rule is the same pure predicate that the
// component's own key table is tested against.
import { DEFAULT_KEY_STRENGTH_LIMITS, MIN_RSA_BITS, privateKeyProblem, STRONG_ECDSA_CURVES } from "secure-etcd/rules";
import { numberSetting, stringListSetting } from "../lib/config";
import { EtcdResourcePolicy, TYPES } from "../lib/types";
import { plainProps, readNumber, readString, UNKNOWN } from "../lib/values";

export const tlsPrivateKeyStrength: EtcdResourcePolicy = {
    name: "tls-private-key-strength",
    description: `TLS private keys are RSA of at least ${MIN_RSA_BITS} bits, ECDSA on ${STRONG_ECDSA_CURVES.join("/")} (never P224, the provider's default curve), or ED25519.`,
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Use the component's default keyAlgorithm (ECDSA-P256), or set rsaBits >= 2048 / ecdsaCurve P256 or P384 on the key.",
    configSchema: {
        properties: {
            minRsaBits: {
                type: "integer",
                minimum: MIN_RSA_BITS,
                default: MIN_RSA_BITS,
                description: `The smallest RSA modulus accepted, in bits (never below ${MIN_RSA_BITS}).`,
            },
            ecdsaCurves: {
                type: "array",
                items: { type: "string", enum: [...STRONG_ECDSA_CURVES] },
                minItems: 1,
                default: [...STRONG_ECDSA_CURVES],
                description: "The ECDSA curves accepted.",
            },
        },
    },
    validateResource: (args, reportViolation) => {
        if (args.type !== TYPES.privateKey) {
            args.notApplicable("applies to tls.PrivateKey");
        }
        const config = args.getConfig();
        const limits = {
            // Never below the floor, whatever the config says.
            minRsaBits: Math.max(MIN_RSA_BITS, numberSetting(config, "minRsaBits", MIN_RSA_BITS)),
            ecdsaCurves: stringListSetting(config, "ecdsaCurves", DEFAULT_KEY_STRENGTH_LIMITS.ecdsaCurves).filter((c) =>
                STRONG_ECDSA_CURVES.includes(c),
            ),
        };
        const props = plainProps(args.props);
        const algorithm = readString(props.algorithm);
        const rsaBits = readNumber(props.rsaBits);
        const ecdsaCurve = readString(props.ecdsaCurve);
        if (
            algorithm === UNKNOWN ||
            algorithm === undefined ||
            (algorithm === "RSA" && rsaBits === UNKNOWN) ||
            (algorithm === "ECDSA" && ecdsaCurve === UNKNOWN)
        ) {
            return; // Judged once known.
        }
        const problem = privateKeyProblem(
            {
                algorithm,
                rsaBits: typeof rsaBits === "number" ? rsaBits : undefined,
                ecdsaCurve: typeof ecdsaCurve === "string" ? ecdsaCurve : undefined,
            },
            limits,
        );
        if (problem) {
            reportViolation(`Private key: ${problem}.`);
        }
    },
};
