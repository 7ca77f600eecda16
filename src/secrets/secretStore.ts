// Resource wiring for AWS Secrets Manager: a customer-managed KMS key (or the caller's), and one
// secret per bundle under a name unique to this cluster.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface StoredSecret {
    /** Resource-name suffix, stable across releases: never rename (state would replace it). */
    id: string;
    /** Path under the cluster's base name, e.g. `members/etcd-0`. */
    path: string;
    description: string;
    value: pulumi.Output<string>;
    /** Kept in Secrets Manager when it leaves the program (encryption key material). */
    retain?: boolean;
    /** What the secret and its version wait for besides their inputs (the key-ring guard). */
    dependsOn?: pulumi.Input<pulumi.Resource[]>;
}

export interface SecretStoreArgs {
    namePrefix: pulumi.Input<string>;
    recoveryWindowDays: pulumi.Input<number>;
    /** An existing key ARN, else a key is created with `keyPolicy`. */
    kmsKeyArn?: pulumi.Input<string>;
    /** The key's policy, given the secrets' common name (their ARNs are in its conditions). */
    keyPolicy: (secretNameBase: pulumi.Output<string>) => pulumi.Input<string>;
    keyDeletionWindowDays: pulumi.Input<number>;
    /** Every secret's resource policy (JSON), when there is one: the VPC-endpoint restriction. */
    resourcePolicy?: pulumi.Input<string>;
    secrets: StoredSecret[];
}

export class SecretStore extends pulumi.ComponentResource {
    public readonly kmsKeyArn: pulumi.Output<string>;
    /** `<prefix><cluster>-<random>`: unique per cluster, so two clusters in one account never collide. */
    public readonly baseName: pulumi.Output<string>;
    /** Secret ARNs by `StoredSecret.id`. */
    public readonly arns: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, clusterName: string, args: SecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:secrets:SecretStore", name, {}, opts);
        // A random part, not the stack name: a deleted secret's name stays taken for the whole
        // recovery window, and a re-created cluster must not wait for it.
        const suffix = new random.RandomId(`${name}-suffix`, { byteLength: 3 }, { parent: this });
        this.baseName = pulumi.interpolate`${args.namePrefix}${clusterName}-${suffix.hex}`;
        this.kmsKeyArn =
            args.kmsKeyArn !== undefined
                ? pulumi.output(args.kmsKeyArn)
                : new aws.kms.Key(
                      `${name}-kms-key`,
                      {
                          description: `Secrets Manager secrets of etcd cluster ${clusterName} (secure-etcd)`,
                          keyUsage: "ENCRYPT_DECRYPT",
                          customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                          enableKeyRotation: true,
                          deletionWindowInDays: args.keyDeletionWindowDays,
                          policy: args.keyPolicy(this.baseName),
                      },
                      { parent: this },
                  ).arn;

        for (const entry of args.secrets) {
            const retain = entry.retain ?? false;
            const secret = new aws.secretsmanager.Secret(
                `${name}-${entry.id}`,
                {
                    name: this.baseName.apply((base) => `${base}/${entry.path}`),
                    description: entry.description,
                    kmsKeyId: this.kmsKeyArn,
                    recoveryWindowInDays: args.recoveryWindowDays,
                },
                { parent: this, retainOnDelete: retain, dependsOn: entry.dependsOn },
            );
            new aws.secretsmanager.SecretVersion(
                `${name}-${entry.id}-version`,
                // The SDK marks secretString secret itself (another pulumi.secret would only cost Outputs).
                { secretId: secret.arn, secretString: entry.value },
                { parent: this, retainOnDelete: retain, dependsOn: entry.dependsOn },
            );
            if (args.resourcePolicy !== undefined) {
                // Retained with its secret: kept key material keeps its restriction too.
                new aws.secretsmanager.SecretPolicy(
                    `${name}-${entry.id}-policy`,
                    { secretArn: secret.arn, policy: args.resourcePolicy, blockPublicPolicy: true },
                    { parent: this, retainOnDelete: retain },
                );
            }
            this.arns[entry.id] = secret.arn;
        }
        this.registerOutputs({});
    }
}
