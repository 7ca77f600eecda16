// Wires the secrets store: every member's bundle, kube-apiserver's bundles, root's password and the
// encryption keys in Secrets Manager under a customer-managed key, and the read policies per role.
import * as pulumi from "@pulumi/pulumi";
import { allOf, allOfRecord } from "../core/outputs";
import { combinePolicies } from "../backup/backupPolicies";
import { useStatements } from "../access/keyPolicy";
import { AwsAccount, forAccountAnd } from "../core/account";
import { KMS_TMPFILES_CONF } from "../encryption/kmsPlugin";
import { PolicyDocument } from "../core/policyDocument";
import { NodeFile } from "../manifests/nodeFiles";
import { secretBundle } from "../nodes/cloudInit";
import { MemberArtifacts } from "../nodes/memberArtifacts";
import { secretsKeyPolicy, secretsReadPolicy, secretsResourcePolicy } from "./policies";
import { SecretStore, StoredSecret } from "./secretStore";

export interface SecretsInputs {
    secretsKmsKeyArn?: pulumi.Input<string>;
    secretNamePrefix: pulumi.Input<string>;
    secretRecoveryWindowDays: pulumi.Input<number>;
    kmsKeyDeletionWindowDays: pulumi.Input<number>;
    keyAdministratorArns: string[];
    memberRoleNames: string[];
    apiServerRoleNames: string[];
    /** Plain list: its length decides whether the secrets get resource policies. */
    secretsVpcEndpointIds: pulumi.Input<string>[];
}

export interface SecretsDependencies {
    /** The members' names, in order. */
    memberNames: string[];
    artifacts: MemberArtifacts;
    apiServerNodeFiles: pulumi.Output<NodeFile[]>;
    rootPassword: pulumi.Output<string>;
    /** Per key name, the key's material (base64), retained when removed. */
    keyMaterial: Record<string, pulumi.Output<string>>;
    /** The key-ring guard's check: the encryption configuration and keys wait for it. */
    afterKeyRingCheck: pulumi.Output<pulumi.Resource[]>;
    backupWriterPolicy: pulumi.Output<string | undefined>;
    /** Download of the node agent's artifact from S3, when given as an s3:// URL. */
    agentArtifactPolicy: pulumi.Output<string | undefined>;
    account: AwsAccount;
}

export interface SecretsOutputs {
    secretsKmsKeyArn: pulumi.Output<string>;
    /** The secrets key's use statements (JSON array): in its policy when created, needed in yours. */
    secretsKeyUseStatements: pulumi.Output<string>;
    secretArns: pulumi.Output<Record<string, string>>;
    memberSecretsPolicies: pulumi.Output<Record<string, string>>;
    apiServerSecretsPolicy: pulumi.Output<string>;
    memberInstancePolicies: pulumi.Output<Record<string, string>>;
}

/** Encryption at rest's files (the configuration, the KMS plugin's socket directory): one bundle, behind the key-ring check. */
const isEncryptionAtRest = (f: NodeFile) => f.path.endsWith("/encryption-config.yaml") || f.path === KMS_TMPFILES_CONF;

/** One bundle from some of the files: what a node fetches at boot. */
function bundleOf(files: pulumi.Output<NodeFile[]>, select: (f: NodeFile) => boolean): pulumi.Output<string> {
    return files.apply((list) =>
        JSON.stringify(
            secretBundle(
                list,
                list.filter((f) => !f.directory && select(f)).map((f) => f.path),
            ),
        ),
    );
}

function storedSecrets(name: string, deps: SecretsDependencies): StoredSecret[] {
    return [
        ...deps.memberNames.map((member) => ({
            id: `member-${member}`,
            path: `members/${member}`,
            description: `etcd member ${member} of ${name}: keys and certificates (secure-etcd)`,
            value: deps.artifacts.secretBundles[member],
        })),
        {
            id: "kube-apiserver-etcd-client",
            path: "kube-apiserver/etcd-client",
            description: `kube-apiserver's etcd client certificate, key and etcd CA for ${name} (secure-etcd)`,
            value: bundleOf(deps.apiServerNodeFiles, (f) => !isEncryptionAtRest(f)),
        },
        {
            id: "encryption-config",
            path: "kube-apiserver/encryption-config",
            description: `kube-apiserver EncryptionConfiguration for ${name} (secure-etcd)`,
            value: bundleOf(deps.apiServerNodeFiles, isEncryptionAtRest),
            dependsOn: deps.afterKeyRingCheck,
        },
        {
            id: "etcd-root-password",
            path: "etcd/root-password",
            description: `Password of etcd's root user of ${name}; never needed in normal operation (secure-etcd)`,
            value: deps.rootPassword,
        },
        // Key material outlives its place in the list: a key removed by mistake stays in
        // Secrets Manager (retained, not scheduled for deletion), so no object is stranded.
        ...Object.entries(deps.keyMaterial).map(([keyName, material]) => ({
            id: `encryption-key-${keyName}`,
            path: `encryption-keys/${keyName}`,
            description: `Encryption-at-rest key ${keyName} of ${name}, base64 (secure-etcd; retained when removed)`,
            value: material,
            retain: true,
            dependsOn: deps.afterKeyRingCheck,
        })),
    ];
}

export function wireSecrets(
    parent: pulumi.Resource,
    name: string,
    args: SecretsInputs,
    deps: SecretsDependencies,
): { store: SecretStore; outputs: SecretsOutputs } {
    const stored = storedSecrets(name, deps);
    const access = {
        administrators: args.keyAdministratorArns,
        memberRoleNames: args.memberRoleNames,
        apiServerRoleNames: args.apiServerRoleNames,
    };
    const store = new SecretStore(
        `${name}-secrets`,
        name,
        {
            namePrefix: args.secretNamePrefix,
            recoveryWindowDays: args.secretRecoveryWindowDays,
            kmsKeyArn: args.secretsKmsKeyArn,
            keyPolicy: (secretNameBase) =>
                forAccountAnd(deps.account, secretNameBase, (scope, base) => secretsKeyPolicy(scope, access, base)),
            keyDeletionWindowDays: args.kmsKeyDeletionWindowDays,
            resourcePolicy:
                args.secretsVpcEndpointIds.length > 0
                    ? forAccountAnd(deps.account, pulumi.all(args.secretsVpcEndpointIds), (scope, ids) =>
                          secretsResourcePolicy(scope, ids),
                      )
                    : undefined,
            secrets: stored,
        },
        { parent },
    );
    const readPolicy = (arns: pulumi.Output<string>[]) =>
        allOf([store.kmsKeyArn, deps.account.region, ...arns]).apply(([kmsKeyArn, region, ...secretArns]) =>
            JSON.stringify(secretsReadPolicy({ secretArns, kmsKeyArn, region })),
        );
    // Every member's policy from one Output step over every member's secret.
    const memberSecretsPolicies = allOf([
        store.kmsKeyArn,
        deps.account.region,
        ...deps.memberNames.map((m) => store.arns[`member-${m}`]),
    ]).apply(([kmsKeyArn, region, ...memberArns]) =>
        Object.fromEntries(
            deps.memberNames.map((member, i) => [
                member,
                JSON.stringify(secretsReadPolicy({ secretArns: [memberArns[i]], kmsKeyArn, region })),
            ]),
        ),
    );
    return {
        store,
        outputs: {
            secretsKmsKeyArn: store.kmsKeyArn,
            secretsKeyUseStatements: forAccountAnd(deps.account, store.baseName, (scope, base) =>
                useStatements(secretsKeyPolicy(scope, access, base)),
            ),
            secretArns: allOfRecord(
                Object.fromEntries(stored.map((s): [string, pulumi.Output<string>] => [s.path, store.arns[s.id]])),
            ),
            memberSecretsPolicies,
            apiServerSecretsPolicy: readPolicy([
                store.arns["kube-apiserver-etcd-client"],
                store.arns["encryption-config"],
            ]),
            memberInstancePolicies: allOf([
                memberSecretsPolicies,
                deps.backupWriterPolicy,
                deps.agentArtifactPolicy,
            ]).apply(([perMember, ...extra]) =>
                Object.fromEntries(
                    Object.entries(perMember).map(([member, secretsPolicy]) => [
                        member,
                        combined(secretsPolicy, extra),
                    ]),
                ),
            ),
        },
    };
}

/**
 * One member's secrets policy and the others it needs (the backup writer policy, the agent
 * artifact's download) in one document; the secrets policy as it is when there are none.
 */
function combined(secretsPolicy: string, others: (string | undefined)[]): string {
    const present = others.filter((p): p is string => p !== undefined);
    if (present.length === 0) {
        return secretsPolicy;
    }
    return JSON.stringify(combinePolicies(...[secretsPolicy, ...present].map((p) => JSON.parse(p) as PolicyDocument)));
}
