// Every KMS key a SecureEtcdCluster uses lets the users the component names do what they need, by
// name and under the component's conditions: the keys it creates, and keys you bring
// (secretsKmsKeyArn, backupKmsKeyArn, encryptionKmsKeyArn) when they are defined in the same stack.
// The statements needed are the cluster's `keyPolicyStatements` output; a key's policy is its
// `policy`, or an aws.kms.KeyPolicy's for it, or AWS's default when neither sets one. A key defined
// elsewhere is not in the stack and cannot be judged here (docs/least-privilege.md: keys you bring).
import { PolicyResource } from "@pulumi/policy";
import { keyPolicyFindings, keyPolicyFindingText } from "../lib/keyPolicyNeeds";
import { dependencyUrns, isDescendantOf, labelOf, ofType, propsOf } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy, TYPES } from "../lib/types";
import { readObject, readString, UNKNOWN } from "../lib/values";

/** The cluster's key kinds: the output with the key's ARN, and the argument that brings one. */
const KINDS: Record<string, { arnOutput: string; title: string }> = {
    secrets: { arnOutput: "secretsKmsKeyArn", title: "secrets key" },
    backup: { arnOutput: "backupKmsKeyArn", title: "backup key" },
    encryption: { arnOutput: "encryptionKmsKeyArn", title: "encryption-at-rest key" },
};

/** AWS's default key policy: the account delegates everything to IAM. */
function defaultKeyPolicy(keyArn: string): { Statement: unknown[] } {
    const [, partition, , , account] = keyArn.split(":");
    return {
        Statement: [
            {
                Sid: "Enable IAM User Permissions",
                Effect: "Allow",
                Principal: { AWS: `arn:${partition}:iam::${account}:root` },
                Action: "kms:*",
                Resource: "*",
            },
        ],
    };
}

/** The policy in force on a key: a KeyPolicy's for it, else its own, else AWS's default; undefined while unknown. */
function policyOf(key: PolicyResource, keyArn: string, resources: PolicyResource[]): unknown {
    const identifiers = [keyArn, readString(propsOf(key).keyId), readString(propsOf(key).id)];
    const attached = ofType(resources, TYPES.kmsKeyPolicy).find(
        (p) =>
            dependencyUrns(p, "keyId").includes(key.urn) ||
            identifiers.includes(readString(propsOf(p).keyId) as string),
    );
    const text = readString(propsOf(attached ?? key).policy);
    if (text === UNKNOWN) {
        return undefined;
    }
    if (text === undefined || text === "") {
        return attached ? undefined : defaultKeyPolicy(keyArn);
    }
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return { Statement: [] }; // Not JSON: it allows nothing.
    }
}

/** The statements of a JSON array; none when it is not one. */
function parsedList(json: string): { Sid?: unknown }[] {
    try {
        const value = JSON.parse(json) as unknown;
        return Array.isArray(value) ? (value as { Sid?: unknown }[]) : [];
    } catch {
        return [];
    }
}

export const etcdKeyPolicyUsers: EtcdStackPolicy = {
    name: "etcd-key-policy-users",
    description:
        "Every KMS key a SecureEtcdCluster uses (created, or brought and defined in the same stack) has a key policy that lets each user the component names do what it needs, naming it, under the component's conditions (the cluster's keyPolicyStatements output).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Add the statements of the cluster's keyPolicyStatements output (for that key's kind) to the key's policy, beside its administrators' statement; docs/least-privilege.md lists them.",
    validateStack: (args, reportViolation) => {
        const keys = ofType(args.resources, TYPES.kmsKey);
        let judged = 0;
        for (const cluster of ofType(args.resources, COMPONENT.cluster)) {
            const props = propsOf(cluster);
            const statements = readObject(props.keyPolicyStatements);
            if (statements === UNKNOWN || statements === undefined) {
                continue; // Not known yet (first preview), or a component without the output.
            }
            for (const [kind, json] of Object.entries(statements)) {
                const { arnOutput, title } = KINDS[kind] ?? { arnOutput: "", title: `${kind} key` };
                const keyArn = readString(props[arnOutput]);
                const uses = readString(json);
                if (typeof keyArn !== "string" || typeof uses !== "string") {
                    continue;
                }
                const key = keys.find((k) => readString(propsOf(k).arn) === keyArn);
                if (key === undefined) {
                    continue; // A key defined outside this stack: not visible here.
                }
                const policy = policyOf(key, keyArn, args.resources);
                if (policy === undefined) {
                    continue;
                }
                judged++;
                const whose = isDescendantOf(key, cluster)
                    ? `the ${title} of SecureEtcdCluster "${cluster.name}"`
                    : `SecureEtcdCluster "${cluster.name}"'s ${title} (${arnOutput})`;
                for (const finding of keyPolicyFindings(policy as { Statement?: unknown }, parsedList(uses))) {
                    reportViolation(
                        `${labelOf(key)}, ${whose}: its policy lacks statement ${finding.statement} (${keyPolicyFindingText(finding)}); add that statement from the cluster's keyPolicyStatements output ("${kind}") to the key's policy (docs/least-privilege.md, keys you bring).`,
                        key.urn,
                    );
                }
            }
        }
        if (judged === 0) {
            args.notApplicable("no KMS key a SecureEtcdCluster uses is defined in this stack with a known policy");
        }
    },
};
