// Resource wiring for encryption at rest: one RandomBytes per key name (or a KMS key), the
// rotation guard, and the rendered EncryptionConfiguration.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    encryptionConfigYaml,
    EncryptionProvider,
    GENERATED_KEY_BYTES,
    LocalKey,
    renderEncryptionConfig,
} from "./encryptionConfig";
import { KeyRingGuard } from "./keyRingGuard";
import { KMS_ENDPOINT } from "./kmsPlugin";

export interface EncryptionAtRestArgs {
    provider: EncryptionProvider;
    /** Plain: one key resource per name. Empty for KMS. */
    keyNames: string[];
    resources: pulumi.Input<string[]>;
    identityFallback: pulumi.Input<boolean>;
    /** KMS only: an existing key ARN, else a key is created. */
    kmsKeyArn?: pulumi.Input<string>;
    kmsKeyPolicy: pulumi.Input<string>;
    kmsDeletionWindowDays: pulumi.Input<number>;
    /** KMS v2 provider name, in every object's stored prefix. */
    kmsProviderName: string;
}

export class EncryptionAtRest extends pulumi.ComponentResource {
    /** Secret. */
    public readonly configYaml: pulumi.Output<string>;
    /** Key names with their material, in order. Secret; empty for KMS. */
    public readonly keys: pulumi.Output<LocalKey[]>;
    /** Per key name, the key's material (base64). Secret outputs. */
    public readonly keyMaterial: Record<string, pulumi.Output<string>>;
    /** The KMS key of KMS v2 mode. */
    public readonly kmsKeyArn?: pulumi.Output<string>;

    constructor(name: string, args: EncryptionAtRestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:encryption:EncryptionAtRest", name, {}, opts);
        const guard = new KeyRingGuard(
            `${name}-guard`,
            { provider: args.provider, keyNames: args.keyNames },
            { parent: this },
        );
        // Nothing below changes before the guard has accepted the new key list.
        const guarded = { parent: this, dependsOn: [guard] };

        this.keyMaterial = {};
        for (const keyName of args.keyNames) {
            const bytes = new random.RandomBytes(`${name}-key-${keyName}`, { length: GENERATED_KEY_BYTES }, guarded);
            this.keyMaterial[keyName] = bytes.base64;
        }
        this.keys = pulumi.secret(
            pulumi.all(
                args.keyNames.map((keyName) =>
                    this.keyMaterial[keyName].apply((secret) => ({ name: keyName, secret })),
                ),
            ),
        );

        if (args.provider === EncryptionProvider.Kms) {
            this.kmsKeyArn =
                args.kmsKeyArn !== undefined
                    ? pulumi.output(args.kmsKeyArn)
                    : new aws.kms.Key(
                          `${name}-kms-key`,
                          {
                              description: `Encryption at rest of Kubernetes objects (${name}), KMS v2 through aws-encryption-provider`,
                              keyUsage: "ENCRYPT_DECRYPT",
                              customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                              enableKeyRotation: true,
                              deletionWindowInDays: args.kmsDeletionWindowDays,
                              policy: args.kmsKeyPolicy,
                          },
                          // Deleting it only schedules deletion: the window is the way back.
                          guarded,
                      ).arn;
        }

        this.configYaml = pulumi.secret(
            pulumi
                .all([this.keys, args.resources, args.identityFallback])
                .apply(([keys, resources, identityFallback]) =>
                    encryptionConfigYaml(
                        renderEncryptionConfig({
                            provider: args.provider,
                            keys,
                            kms: { name: args.kmsProviderName, endpoint: KMS_ENDPOINT, timeout: "3s" },
                            resources,
                            identityFallback,
                        }),
                    ),
                ),
        );
        this.registerOutputs({});
    }
}
