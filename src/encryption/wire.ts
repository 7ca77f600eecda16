// Wires encryption at rest: generated keys (or the KMS key), the EncryptionConfiguration, and for
// KMS v2 the plugin's static pod and IAM policy.
import * as pulumi from "@pulumi/pulumi";
import { KeyPolicyScope, useStatements } from "../access/keyPolicy";
import { AwsAccount, forAccount } from "../core/account";
import { DeploymentRecords } from "../core/deploymentRecord";
import { encryptionProviderOrderFor } from "../rules/encryptionProviders";
import { encryptionKeyPolicy, kmsPluginPolicy } from "../secrets/policies";
import { toYaml } from "../core/yaml";
import { EncryptionAtRest } from "./encryptionAtRest";
import { EncryptionProvider } from "./encryptionConfig";
import { renderKmsPluginPod } from "./kmsPlugin";
import { rewriteCommand } from "./rotation";

/** The KMS v2 provider's name: stored in every object it encrypts, so never changed. */
export const KMS_PROVIDER_NAME = "aws-encryption-provider";

export interface EncryptionInputs {
    keyAdministratorArns: string[];
    apiServerRoleNames: string[];
    encryptionProvider: EncryptionProvider;
    encryptionKeyNames: string[];
    encryptedResources: pulumi.Input<pulumi.Input<string>[]>;
    encryptionIdentityFallback: pulumi.Input<boolean>;
    encryptionKmsKeyArn?: pulumi.Input<string>;
    kmsPluginImage?: pulumi.Input<string>;
    kmsPluginHealthPort: pulumi.Input<number>;
    kmsKeyDeletionWindowDays: pulumi.Input<number>;
}

export interface EncryptionOutputs {
    encryptionConfigYaml: pulumi.Output<string>;
    encryptionProviderOrder: pulumi.Output<string[]>;
    encryptionRewriteCommand: pulumi.Output<string>;
    encryptionKmsKeyArn: pulumi.Output<string | undefined>;
    kmsPluginManifest: pulumi.Output<string | undefined>;
    kmsPluginPolicy: pulumi.Output<string | undefined>;
    /** `kms` only: the encryption key's use statements (JSON array): in its policy when created, needed in yours. */
    encryptionKeyUseStatements: pulumi.Output<string | undefined>;
}

export function wireEncryption(
    parent: pulumi.Resource,
    name: string,
    args: EncryptionInputs,
    account: AwsAccount,
    records: DeploymentRecords,
): { encryption: EncryptionAtRest; outputs: EncryptionOutputs } {
    const kms = args.encryptionProvider === EncryptionProvider.Kms;
    const keyPolicy = (scope: KeyPolicyScope) =>
        encryptionKeyPolicy(scope, {
            administrators: args.keyAdministratorArns,
            apiServerRoleNames: args.apiServerRoleNames,
        });
    const resources = pulumi.output(args.encryptedResources);
    const encryption = new EncryptionAtRest(
        `${name}-encryption`,
        {
            clusterName: name,
            records,
            provider: args.encryptionProvider,
            keyNames: args.encryptionKeyNames,
            resources,
            identityFallback: args.encryptionIdentityFallback,
            kmsKeyArn: args.encryptionKmsKeyArn,
            kmsKeyPolicy: forAccount(account, keyPolicy),
            kmsDeletionWindowDays: args.kmsKeyDeletionWindowDays,
            kmsProviderName: KMS_PROVIDER_NAME,
        },
        { parent },
    );
    const kmsKeyArn = encryption.kmsKeyArn;
    const outputs: EncryptionOutputs = {
        encryptionConfigYaml: encryption.configYaml,
        encryptionProviderOrder: pulumi
            .output(args.encryptionIdentityFallback)
            .apply((fallback) => encryptionProviderOrderFor(args.encryptionProvider, fallback)),
        encryptionRewriteCommand: resources.apply(rewriteCommand),
        encryptionKmsKeyArn: pulumi.output(kmsKeyArn),
        kmsPluginManifest:
            kms && kmsKeyArn
                ? pulumi
                      .all([args.kmsPluginImage!, kmsKeyArn, account.region, args.kmsPluginHealthPort])
                      .apply(([image, keyArn, region, healthPort]) =>
                          toYaml(renderKmsPluginPod({ image, keyArn, region, healthPort }), { lineWidth: 0 }),
                      )
                : pulumi.output(undefined),
        kmsPluginPolicy:
            kms && kmsKeyArn
                ? kmsKeyArn.apply((arn) => JSON.stringify(kmsPluginPolicy(arn)))
                : pulumi.output(undefined),
        encryptionKeyUseStatements: kms
            ? forAccount(account, (scope) => useStatements(keyPolicy(scope)))
            : pulumi.output(undefined),
    };
    return { encryption, outputs };
}
