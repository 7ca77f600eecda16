// AWS resources cannot be reached from here. This stand-in returns what the provider computes
// (ids, ARNs) in the provider's formats, so code that wires ARNs into policies sees real-looking ones.
import * as crypto from "crypto";

type State = Record<string, unknown>;

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "us-east-1";
/** Who `getCallerIdentity` says is running the program. */
export const MOCK_CALLER_ARN = `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`;

/** `aws:secretsmanager/secretVersion:SecretVersion` -> `secretsmanager`. */
function serviceOf(type: string): string {
    return type.split(":")[1].split("/")[0];
}

/**
 * S3 bucket settings are resources of their own whose id is the bucket's name, and which have no
 * ARN of their own.
 */
const BUCKET_SETTINGS = new Set([
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
]);

function shortHex(n: number): string {
    return crypto.randomBytes(n).toString("hex");
}

/** A physical id in the shape the service uses for that kind of resource. */
function physicalId(type: string, name: string, inputs: State): string {
    switch (type) {
        case "aws:kms/key:Key":
            return crypto.randomUUID();
        case "aws:ec2/securityGroup:SecurityGroup":
            return `sg-${shortHex(9).slice(0, 17)}`;
        case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
            return `sgr-${shortHex(9).slice(0, 17)}`;
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return (inputs.bucket as string | undefined) ?? `${name}-${shortHex(4)}`;
        case "aws:secretsmanager/secret:Secret":
            return `arn:aws:secretsmanager:${MOCK_REGION}:${MOCK_ACCOUNT}:secret:${(inputs.name as string | undefined) ?? name}-${shortHex(3)}`;
        case "aws:s3/bucketMetric:BucketMetric":
            // `<bucket>:<configuration id>`, as the provider imports it.
            return `${inputs.bucket as string}:${inputs.name as string}`;
        case "aws:sns/topic:Topic":
            return `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT}:${(inputs.name as string | undefined) ?? `${name}-${shortHex(4)}`}`;
        case "aws:iam/rolePolicy:RolePolicy":
            // `<role>:<policy>`, as the provider imports it.
            return `${inputs.role as string}:${(inputs.name as string | undefined) ?? `terraform-${shortHex(13)}`}`;
        case "aws:sns/topicPolicy:TopicPolicy":
            // The topic's ARN, as the provider imports it.
            return inputs.arn as string;
        case "aws:secretsmanager/secretPolicy:SecretPolicy":
            // The secret's ARN, as the provider imports it.
            return inputs.secretArn as string;
        case "aws:ssm/parameter:Parameter":
            // The parameter's name (`/a/b` in a hierarchy); Pulumi names one given none.
            return (inputs.name as string | undefined) ?? `${name}-${shortHex(4)}`;
        default:
            if (BUCKET_SETTINGS.has(type)) {
                return inputs.bucket as string;
            }
            return `${name}-${shortHex(4)}`;
    }
}

function arnFor(type: string, id: string, inputs: State): string {
    const service = serviceOf(type);
    switch (type) {
        case "aws:kms/key:Key":
            return `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/${id}`;
        case "aws:kms/alias:Alias":
            return `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:${inputs.name as string}`;
        case "aws:s3/bucket:Bucket":
        case "aws:s3/bucketV2:BucketV2":
            return `arn:aws:s3:::${id}`;
        case "aws:secretsmanager/secret:Secret":
        case "aws:sns/topic:Topic":
            return id;
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT}:alarm:${id}`;
        case "aws:iam/role:Role":
        case "aws:iam/policy:Policy":
        case "aws:iam/instanceProfile:InstanceProfile":
            return `arn:aws:iam::${MOCK_ACCOUNT}:${type.split(":")[2].replace(/^./, (c) => c.toLowerCase())}/${id}`;
        case "aws:ec2/securityGroup:SecurityGroup":
            return `arn:aws:ec2:${MOCK_REGION}:${MOCK_ACCOUNT}:security-group/${id}`;
        case "aws:ssm/parameter:Parameter":
            // `parameter/a/b` for `/a/b`: the ARN does not repeat the name's leading slash.
            return `arn:aws:ssm:${MOCK_REGION}:${MOCK_ACCOUNT}:parameter/${id.replace(/^\//, "")}`;
        default:
            return `arn:aws:${service}:${MOCK_REGION}:${MOCK_ACCOUNT}:${type.split(":")[2].toLowerCase()}/${id}`;
    }
}

/** What a policy statement's `Action` grants, as a list. */
const actionsOf = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : [value as string]);

/** Whether an IAM action pattern (`kms:Put*`, `*`) matches an action, case-insensitively as IAM does. */
function actionMatches(pattern: string, action: string): boolean {
    const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");
    return regex.test(action);
}

/**
 * KMS's lockout safety check on CreateKey and PutKeyPolicy: the new policy must let the caller (by
 * its own ARN, or the account root standing for IAM) put a key policy again; otherwise KMS refuses.
 */
function kmsLockoutProblem(policyJson: unknown): string | undefined {
    if (typeof policyJson !== "string") {
        return undefined; // No policy: KMS applies its default, which the account administers.
    }
    const document = JSON.parse(policyJson) as { Statement: State[] };
    const principals = new Set([MOCK_CALLER_ARN, `arn:aws:iam::${MOCK_ACCOUNT}:root`, MOCK_ACCOUNT]);
    const allowsCaller = document.Statement.some((statement) => {
        if (statement.Effect !== "Allow" || statement.Condition !== undefined) {
            return false;
        }
        const principal = statement.Principal as string | { AWS?: string | string[] } | undefined;
        const aws = typeof principal === "string" ? [principal] : actionsOf(principal?.AWS ?? []);
        return (
            aws.some((p) => p === "*" || principals.has(p)) &&
            actionsOf(statement.Action).some((a) => actionMatches(a, "kms:PutKeyPolicy"))
        );
    });
    return allowsCaller
        ? undefined
        : "creating KMS Key: operation error KMS: CreateKey, https response error StatusCode: 400, MalformedPolicyDocumentException: The new key policy will not allow you to update the key policy in the future.";
}

export function emulateAwsResource(type: string, name: string, inputs: State): { id: string; state: State } {
    if (type === "aws:kms/key:Key" && inputs.bypassPolicyLockoutSafetyCheck !== true) {
        const problem = kmsLockoutProblem(inputs.policy);
        if (problem) {
            throw new Error(problem);
        }
    }
    const id = physicalId(type, name, inputs);
    const state: State = { ...inputs, arn: arnFor(type, id, inputs) };
    if (type === "aws:kms/key:Key") {
        state.keyId = id;
    }
    if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2") {
        state.bucket = id;
        state.bucketDomainName = `${id}.s3.amazonaws.com`;
        state.region = MOCK_REGION;
    }
    if (type === "aws:s3/bucket:Bucket" || type === "aws:s3/bucketV2:BucketV2") {
        state.bucketRegionalDomainName = `${id}.s3.${MOCK_REGION}.amazonaws.com`;
        state.hostedZoneId = "Z3AQBSTGFYJSTF";
        state.objectLockEnabled = inputs.objectLockEnabled ?? false;
    }
    if (type === "aws:sns/topicPolicy:TopicPolicy") {
        state.arn = inputs.arn;
        state.owner = MOCK_ACCOUNT;
    }
    if (type === "aws:sns/topic:Topic" || type === "aws:cloudwatch/metricAlarm:MetricAlarm") {
        state.name = inputs.name ?? id.slice(id.lastIndexOf(":") + 1);
    }
    if (
        BUCKET_SETTINGS.has(type) ||
        type === "aws:s3/bucketMetric:BucketMetric" ||
        type === "aws:iam/rolePolicy:RolePolicy" ||
        type === "aws:secretsmanager/secretPolicy:SecretPolicy"
    ) {
        delete state.arn;
    }
    if (type === "aws:iam/rolePolicy:RolePolicy") {
        state.name = id.slice(id.indexOf(":") + 1);
    }
    if (type === "aws:secretsmanager/secretVersion:SecretVersion") {
        state.versionId = crypto.randomUUID();
        state.arn = inputs.secretId;
    }
    if (type === "aws:ssm/parameter:Parameter") {
        // The provider reads back the name, tier and data type.
        state.name = id;
        state.tier = inputs.tier ?? "Standard";
        state.dataType = inputs.dataType ?? "text";
        state.version = 1;
    }
    if (type === "aws:ec2/securityGroup:SecurityGroup") {
        state.ownerId = MOCK_ACCOUNT;
        state.name = inputs.name ?? `terraform-${shortHex(13)}`;
    }
    if (type.startsWith("aws:vpc/securityGroup") && type.endsWith("Rule")) {
        state.securityGroupRuleId = id;
        state.arn = `arn:aws:ec2:${MOCK_REGION}:${MOCK_ACCOUNT}:security-group-rule/${id}`;
    }
    return { id, state };
}

/** The key-policy scope the component computes under these stand-ins. */
export const MOCK_POLICY_SCOPE = {
    partition: "aws",
    accountId: MOCK_ACCOUNT,
    region: MOCK_REGION,
    deployerArn: MOCK_CALLER_ARN,
};
