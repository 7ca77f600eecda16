// Who administers and who uses the KMS keys the component creates: the key policies name them.

export interface KeyAccessArgs {
    /**
     * Who administers every KMS key the component creates: describe, enable, disable, rotate, tag,
     * change the policy, schedule deletion — never encrypt, decrypt or generate data keys. IAM role
     * or user ARNs, or the account root (`arn:aws:iam::<account>:root`, which leaves administration to
     * IAM policies). The identity running `pulumi up` must be one of them: AWS refuses a key policy
     * that would lock out the principal setting it.
     * @default the account root
     */
    keyAdministratorArns?: string[];
    /**
     * Names of the members' instance roles. Named, they are the only roles (with the identity
     * running `pulumi up`, which writes the secrets) that may use the secrets key, and only through
     * Secrets Manager for this cluster's member secrets. Not named, the key policy leaves its use to
     * IAM policies, so any principal in the account whose IAM policy allows `kms:Decrypt` can read the
     * members' keys; the component warns. Plain: the key policy names them.
     * @default none: use left to IAM policies
     */
    memberRoleNames?: string[];
    /**
     * Names of kube-apiserver nodes' roles: the only roles that may decrypt kube-apiserver's bundles
     * through Secrets Manager, and, with `encryptionProvider: "kms"`, use the encryption-at-rest key
     * (the KMS plugin). Not named, those uses are left to IAM policies; the component warns.
     * @default none: use left to IAM policies
     */
    apiServerRoleNames?: string[];
}
