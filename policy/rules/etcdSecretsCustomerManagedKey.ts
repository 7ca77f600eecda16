// The Secrets Manager secrets of a SecureEtcdCluster (member keys, the encryption configuration,
// etcd's root password) are encrypted under a customer-managed KMS key, never the account's
// AWS-managed aws/secretsmanager key, whose policy lets every principal of the account with
// secretsmanager access decrypt. An alias is refused as the component refuses it (kmsKeyArnProblem).
import { kmsKeyArnProblem } from "secure-etcd/rules";
import { clusterOf, labelOf, ofType, propsOf } from "../lib/stack";
import { EtcdStackPolicy, TYPES } from "../lib/types";
import { readString, UNKNOWN } from "../lib/values";

const AWS_MANAGED = /(^|:)alias\/aws\/secretsmanager$/;

export const etcdSecretsCustomerManagedKey: EtcdStackPolicy = {
    name: "etcd-secrets-customer-managed-key",
    description:
        "Secrets Manager secrets created by a SecureEtcdCluster set kmsKeyId to a customer-managed KMS key (not alias/aws/secretsmanager, not an alias).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Leave secretsKmsKeyArn unset (the component then creates a customer-managed key) or give the ARN of your own key.",
    validateStack: (args, reportViolation) => {
        const secrets = ofType(args.resources, TYPES.secret).flatMap((secret) => {
            const cluster = clusterOf(secret);
            return cluster ? [{ secret, cluster }] : [];
        });
        if (secrets.length === 0) {
            args.notApplicable("no Secrets Manager secret inside a SecureEtcdCluster in this stack");
        }
        for (const { secret, cluster } of secrets) {
            const label = `${labelOf(secret)} of SecureEtcdCluster "${cluster.name}"`;
            const key = readString(propsOf(secret).kmsKeyId);
            if (key === UNKNOWN) {
                continue;
            }
            if (key === undefined || key === "" || AWS_MANAGED.test(key)) {
                reportViolation(
                    `${label} is encrypted under the AWS-managed aws/secretsmanager key, which any principal of the account allowed to read secrets can use; set kmsKeyId to a customer-managed key's ARN (leave the component's secretsKmsKeyArn unset to get one).`,
                    secret.urn,
                );
            } else if (key.includes("alias/")) {
                reportViolation(`${label}: kmsKeyId ${kmsKeyArnProblem(key)}.`, secret.urn);
            }
        }
    },
};
