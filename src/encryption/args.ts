// Encryption at rest for the Kubernetes API: provider, keys and the KMS v2 plugin.
import * as pulumi from "@pulumi/pulumi";
import { EncryptionProvider } from "./encryptionConfig";

export interface EncryptionArgs {
    /**
     * How kube-apiserver encrypts Kubernetes objects in etcd. `secretbox` uses local keys;
     * `kms` uses KMS v2 through the AWS KMS plugin, with no key material on the nodes. `aesgcm`
     * and `aescbc` work but are discouraged (a warning says why). Plain: it decides which
     * resources exist. Changing it on a deployed cluster is refused (stored data would become
     * unreadable).
     * @default EncryptionProvider.Secretbox
     */
    encryptionProvider?: EncryptionProvider;
    /**
     * Names of the local encryption keys, in order: the first encrypts, all decrypt. Rotate by
     * plain edits to this list (the key rotation runbook in docs/runbooks.md); unsafe edits are
     * refused at preview. DNS-1123 labels (no ':'). Plain: one key resource per name. Not used with `kms`.
     * @default ["key-1"]
     */
    encryptionKeyNames?: string[];
    /**
     * Resources kube-apiserver encrypts, e.g. `secrets`, `deployments.apps`, or the wildcards
     * `*.` (core group), `*.apps`, `*.*` (everything), without overlaps.
     * @default ["secrets", "configmaps"]
     */
    encryptedResources?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Keep `identity: {}` last, so objects written before encryption was enabled stay readable.
     * Set to false once every object has been rewritten (`encryptionRewriteCommand`).
     * @default true
     */
    encryptionIdentityFallback?: pulumi.Input<boolean>;
    /**
     * Render `--encryption-provider-config-automatic-reload=true`, so key rotation needs no
     * kube-apiserver restarts.
     * @default true
     */
    encryptionConfigAutomaticReload?: pulumi.Input<boolean>;
    /**
     * `kms` only: the ARN of an existing symmetric KMS key (never an alias). A key with rotation
     * enabled is created when omitted. Its policy needs the statements in `keyPolicyStatements`
     * (`encryption`): the KMS plugin's roles use it.
     * @default a new key
     */
    encryptionKmsKeyArn?: pulumi.Input<string>;
    /**
     * `kms` only, and then required: the aws-encryption-provider image to run beside each
     * kube-apiserver, pinned by tag or digest from a registry you trust (no default: pick the
     * release you have vetted and mirrored).
     */
    kmsPluginImage?: pulumi.Input<string>;
    /**
     * `kms` only: the plugin's health port on 127.0.0.1 (kept off 8080).
     * @default 8083
     */
    kmsPluginHealthPort?: pulumi.Input<number>;
}

export const ENCRYPTION_DEFAULTS = {
    encryptionProvider: EncryptionProvider.Secretbox,
    encryptionKeyNames: ["key-1"],
    encryptedResources: ["secrets", "configmaps"],
    encryptionIdentityFallback: true,
    encryptionConfigAutomaticReload: true,
    kmsPluginHealthPort: 8083,
} as const;
