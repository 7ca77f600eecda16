// Rules for the secrets store: names Secrets Manager accepts, AWS's windows, and key ARNs (never aliases).
import { vpcEndpointIdRules } from "../access/validate";
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { kmsKeyArnProblem } from "./policies";

/** A KMS key ARN given by the caller; undefined means "create one". */
export function kmsKeyArnProblems(path: string, value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    const reason = typeof value === "string" ? kmsKeyArnProblem(value) : `${quote(value)} is not a KMS key ARN`;
    return reason ? [{ path, reason }] : [];
}

export function secretNamePrefixProblems(prefix: unknown): Problem[] {
    return typeof prefix === "string" && /^[A-Za-z0-9/_+=.@-]{0,256}$/.test(prefix)
        ? []
        : [
              {
                  path: "secretNamePrefix",
                  reason: `${quote(prefix)} is not usable in a Secrets Manager name; use up to 256 of letters, digits and /_+=.@-, e.g. "platform/etcd/"`,
              },
          ];
}

/** AWS's 7 to 30 days, for a secret's recovery window and a key's deletion window. */
export function windowDaysProblems(path: string, value: unknown): Problem[] {
    return Number.isInteger(value) && (value as number) >= 7 && (value as number) <= 30
        ? []
        : [
              {
                  path,
                  reason: `${quote(value)} is not a whole number of days from 7 to 30 (AWS's range); 30 leaves the most time to undo a mistake`,
              },
          ];
}

interface SecretsView {
    secretsKmsKeyArn?: unknown;
    secretNamePrefix: unknown;
    secretRecoveryWindowDays: unknown;
    kmsKeyDeletionWindowDays: unknown;
    secretsVpcEndpointIds: unknown;
}

export const SECRETS_RULES: ArgRule<SecretsView>[] = [
    argRule(
        ["secretsKmsKeyArn"],
        (a) => a.secretsKmsKeyArn,
        (arn) => kmsKeyArnProblems("secretsKmsKeyArn", arn),
    ),
    argRule(["secretNamePrefix"], (a) => a.secretNamePrefix, secretNamePrefixProblems),
    argRule(
        ["secretRecoveryWindowDays"],
        (a) => a.secretRecoveryWindowDays,
        (d) => windowDaysProblems("secretRecoveryWindowDays", d),
    ),
    argRule(
        ["kmsKeyDeletionWindowDays"],
        (a) => a.kmsKeyDeletionWindowDays,
        (d) => windowDaysProblems("kmsKeyDeletionWindowDays", d),
    ),
    ...vpcEndpointIdRules<SecretsView, "secretsVpcEndpointIds">("secretsVpcEndpointIds"),
];
