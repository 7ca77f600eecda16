// Every KMS key a SecureEtcdCluster creates (secrets, encryption at rest, backups) rotates its key
// material automatically, at least yearly by default.
import { numberSetting } from "../lib/config";
import { clusterOf, labelOf, ofType, propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { readBoolean, readNumber, UNKNOWN } from "../lib/values";

/** AWS's rotation period when none is given. */
const AWS_DEFAULT_ROTATION_DAYS = 365;

export const etcdKmsKeyRotation: EtcdStackPolicy = {
    name: "etcd-kms-key-rotation",
    description:
        "KMS keys created by a SecureEtcdCluster have automatic rotation enabled (enableKeyRotation), with a period no longer than configured.",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps: "Set enableKeyRotation: true (and rotationPeriodInDays within the limit) on the key.",
    configSchema: {
        properties: {
            maxRotationPeriodDays: {
                type: "integer",
                minimum: 90,
                maximum: 2560,
                default: AWS_DEFAULT_ROTATION_DAYS,
                description: "The longest rotation period accepted, in days (AWS allows 90 to 2560).",
            },
        },
    },
    validateStack: (args, reportViolation) => {
        const keys = ofType(args.resources, TYPES.kmsKey).flatMap((key) => {
            const cluster = clusterOf(key);
            return cluster ? [{ key, cluster }] : [];
        });
        if (keys.length === 0) {
            args.notApplicable("no KMS key inside a SecureEtcdCluster in this stack");
        }
        const maxDays = numberSetting(args.getConfig(), "maxRotationPeriodDays", AWS_DEFAULT_ROTATION_DAYS);
        for (const { key, cluster } of keys) {
            const props = propsOf(key);
            const label = `${labelOf(key)} of SecureEtcdCluster "${cluster.name}"`;
            const rotation = readBoolean(props.enableKeyRotation);
            if (rotation !== true && rotation !== UNKNOWN) {
                reportViolation(
                    `${label} does not rotate its key material; set enableKeyRotation: true (only symmetric ENCRYPT_DECRYPT keys can rotate, and etcd's keys are such keys).`,
                    key.urn,
                );
                continue;
            }
            const period = readNumber(props.rotationPeriodInDays);
            if (typeof period === "number" && period > maxDays) {
                reportViolation(
                    `${label} rotates every ${period} days, longer than ${maxDays}; set rotationPeriodInDays to ${maxDays} or less.`,
                    key.urn,
                );
            }
        }
    },
};
