// The secrets store: Secrets Manager under a customer-managed key.
import * as pulumi from "@pulumi/pulumi";

export interface SecretStoreArgs {
    /**
     * The ARN of an existing KMS key for the Secrets Manager secrets. A customer-managed key with
     * rotation enabled and an explicit key policy is created when omitted. Its policy needs the
     * statements in `keyPolicyStatements` (`secrets`): the members' and kube-apiserver's roles
     * decrypt, and the identity running `pulumi up` writes, through Secrets Manager.
     * @default a new key
     */
    secretsKmsKeyArn?: pulumi.Input<string>;
    /**
     * Prefix of every secret name; the cluster name and a random suffix follow, so two clusters
     * in one account never collide.
     * @default "secure-etcd/"
     */
    secretNamePrefix?: pulumi.Input<string>;
    /**
     * Days a deleted secret stays recoverable (7 to 30).
     * @default 30
     */
    secretRecoveryWindowDays?: pulumi.Input<number>;
    /**
     * Waiting period, in days, before a KMS key this component created is deleted (7 to 30).
     * @default 30
     */
    kmsKeyDeletionWindowDays?: pulumi.Input<number>;
    /**
     * Ids of the Secrets Manager interface VPC endpoints (`com.amazonaws.<region>.secretsmanager`)
     * the nodes reach Secrets Manager through. Given, every secret of this cluster gets a resource
     * policy that denies `secretsmanager:GetSecretValue` to any request not arriving through one of
     * them (`aws:SourceVpce`), so a member's or kube-apiserver's instance credentials read nothing
     * from outside the VPC. The identity running `pulumi up` is exempt (it writes the secrets and
     * reads them back on refresh); managing the secrets (describe, tag, policy, delete) is not
     * restricted. The list is plain (one resource policy per secret exists only with it); its ids
     * may be Outputs, e.g. `endpoint.id`.
     * @default none: secrets are readable from wherever IAM and the key policy allow
     */
    secretsVpcEndpointIds?: pulumi.Input<string>[];
}

export const SECRETS_DEFAULTS = {
    secretNamePrefix: "secure-etcd/",
    secretRecoveryWindowDays: 30,
    kmsKeyDeletionWindowDays: 30,
} as const;
