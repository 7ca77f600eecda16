// Type tokens the policies look at, and the shapes of the pack's own policy objects.
import {
    PolicyConfigSchema,
    ResourceValidation,
    ResourceValidationPolicy,
    Severity,
    StackValidation,
    StackValidationPolicy,
} from "@pulumi/policy";

/** The component's own types (the policy tests check them against what the component registers). */
export const COMPONENT = {
    cluster: "secure-etcd:index:SecureEtcdCluster",
    pki: "secure-etcd:pki:EtcdPki",
    network: "secure-etcd:network:EtcdSecurityGroup",
    secrets: "secure-etcd:secrets:SecretStore",
    encryption: "secure-etcd:encryption:EncryptionAtRest",
    backup: "secure-etcd:backup:BackupBucket",
} as const;

/** Provider resource types, by the tokens the engine reports (V2 names are the aws provider's aliases). */
export const TYPES = {
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    bucketVersioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    bucketEncryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    bucketPublicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    bucketPolicy: ["aws:s3/bucketPolicy:BucketPolicy"],
    kmsKey: "aws:kms/key:Key",
    kmsKeyPolicy: "aws:kms/keyPolicy:KeyPolicy",
    instance: "aws:ec2/instance:Instance",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

interface PolicyMetadata {
    name: string;
    description: string;
    severity: Severity;
    /** What to do about a violation; every message also carries its own fix. */
    remediationSteps: string;
    configSchema?: PolicyConfigSchema;
}

/** One resource rule: checked as each resource is registered, before it is created. */
export type EtcdResourcePolicy = Omit<ResourceValidationPolicy, "validateResource"> &
    PolicyMetadata & { validateResource: ResourceValidation };

/** One stack rule: checked over the whole stack, with parents and dependencies. */
export type EtcdStackPolicy = Omit<StackValidationPolicy, "validateStack"> &
    PolicyMetadata & { validateStack: StackValidation };

export type EtcdPolicy = EtcdResourcePolicy | EtcdStackPolicy;

export function isStackPolicy(policy: EtcdPolicy): policy is EtcdStackPolicy {
    return "validateStack" in policy;
}
