// Resource wiring for encryption at rest: the rotation guard (the last deployed key ring, read
// back from its SSM record and compared with the program's), one RandomBytes per key name (or a
// KMS key), the rendered EncryptionConfiguration, and the record of the ring once deployed.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { withDependency } from "../core/rules";
import * as random from "@pulumi/random";
import {
    encryptionConfigYaml,
    EncryptionProvider,
    GENERATED_KEY_BYTES,
    LocalKey,
    renderEncryptionConfig,
} from "./encryptionConfig";
import { DeploymentRecords, recordName, RECORD_LEAVES, recordParameter } from "../core/deploymentRecord";
import { keyRingCheck, keyRingRecordValue } from "./keyRingRecord";
import { KMS_ENDPOINT } from "./kmsPlugin";
import { KeyRing } from "./rotation";

export interface EncryptionAtRestArgs {
    /** The SecureEtcdCluster's name: it names the ring's record. */
    clusterName: string;
    /** The cluster's deployment records, listed once for every guard. */
    records: DeploymentRecords;
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
    /** The SSM parameter that records the deployed ring. */
    public readonly keyRingParameterName: string;
    /**
     * For `dependsOn` of every resource the key ring decides: resolves (to no resource) once the
     * ring in the program is a safe step from the recorded one, and rejects with the refusal
     * otherwise, so that such a resource is never registered, at preview as at update.
     */
    public readonly afterKeyRingCheck: pulumi.Output<pulumi.Resource[]>;

    private readonly resourceName: string;
    private readonly clusterName: string;
    private readonly ring: KeyRing;
    private readonly keyResources: pulumi.Resource[] = [];

    constructor(name: string, args: EncryptionAtRestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:encryption:EncryptionAtRest", name, {}, opts);
        this.resourceName = name;
        this.clusterName = args.clusterName;
        this.ring = { provider: args.provider, keyNames: [...args.keyNames] };
        const parameterName = recordName(args.records, RECORD_LEAVES.keyRing);
        this.keyRingParameterName = parameterName;
        this.afterKeyRingCheck = args.records.listing.apply((found): pulumi.Resource[] => {
            const refusal = keyRingCheck(args.clusterName, parameterName, found, this.ring);
            if (refusal !== undefined) {
                // Shown as it is, against this component: the stack would say nothing useful.
                throw new pulumi.ResourceError(refusal, this, true);
            }
            return [];
        });
        // Nothing below changes before the guard has accepted the new key list.
        const guarded = { parent: this, dependsOn: this.afterKeyRingCheck };

        this.keyMaterial = {};
        for (const keyName of args.keyNames) {
            const bytes = new random.RandomBytes(`${name}-key-${keyName}`, { length: GENERATED_KEY_BYTES }, guarded);
            this.keyResources.push(bytes);
            this.keyMaterial[keyName] = bytes.base64;
        }
        this.keys = pulumi.secret(
            allOf(args.keyNames.map((keyName) => this.keyMaterial[keyName])).apply((material) =>
                args.keyNames.map((keyName, i): LocalKey => ({ name: keyName, secret: material[i] })),
            ),
        );

        if (args.provider === EncryptionProvider.Kms) {
            if (args.kmsKeyArn !== undefined) {
                this.kmsKeyArn = pulumi.output(args.kmsKeyArn);
            } else {
                const key = new aws.kms.Key(
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
                );
                this.keyResources.push(key);
                this.kmsKeyArn = key.arn;
            }
        }

        this.configYaml = pulumi.secret(
            allOf([this.keys, args.resources, args.identityFallback]).apply(([keys, resources, identityFallback]) =>
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

    /**
     * Records the ring in the program as the deployed one, once the key resources and everything
     * in `after` (where the keys and the configuration are stored) have been created or updated:
     * an update that fails before then leaves the previous record, never one ahead of AWS.
     */
    recordKeyRing(after: pulumi.Resource[]): aws.ssm.Parameter {
        return recordParameter(
            `${this.resourceName}-ring-record`,
            {
                parameterName: this.keyRingParameterName,
                // Key names only, never key material.
                value: keyRingRecordValue(this.ring),
                description:
                    "Encryption-at-rest key ring (provider and key names, no key material) of the last deployment of the etcd cluster the path names; its rotation guard compares every update with it (secure-etcd)",
                clusterName: this.clusterName,
            },
            withDependency({ parent: this, dependsOn: [...this.keyResources, ...after] }, this.afterKeyRingCheck),
        );
    }
}
