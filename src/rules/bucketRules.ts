// The backup bucket's hardening as pure rules over plain S3 settings: default encryption under a
// customer-managed KMS key, versioning, every public-access block, and a bucket policy that refuses
// plain HTTP. The policy pack applies them to deployed buckets; the backup wiring can assert its own
// rendered settings against the same rules.

/** AWS-managed S3 key aliases: not customer-managed, their key policy cannot be narrowed. */
const AWS_MANAGED_S3_KEY = /(^|:)alias\/aws\/s3$/;

/** `rule.applyServerSideEncryptionByDefault` of a bucket's default encryption. */
export interface SseDefault {
    sseAlgorithm?: string;
    kmsMasterKeyId?: string;
}

/** Why default encryption is not SSE-KMS under a customer-managed key, or undefined. */
export function sseKmsProblem(sse: SseDefault | undefined): string | undefined {
    const algorithm = sse?.sseAlgorithm;
    if (algorithm !== "aws:kms" && algorithm !== "aws:kms:dsse") {
        return `default encryption is ${algorithm === undefined ? "not configured" : JSON.stringify(algorithm)}, not SSE-KMS; set sseAlgorithm "aws:kms" with kmsMasterKeyId set to the backup KMS key's ARN`;
    }
    const key = sse?.kmsMasterKeyId;
    if (key === undefined || key === "") {
        return 'default encryption uses SSE-KMS without kmsMasterKeyId, i.e. the AWS-managed "aws/s3" key; set kmsMasterKeyId to the backup KMS key\'s ARN (a customer-managed key whose policy you control)';
    }
    if (AWS_MANAGED_S3_KEY.test(key)) {
        return `default encryption uses the AWS-managed key ${JSON.stringify(key)}; set kmsMasterKeyId to the backup KMS key's ARN (a customer-managed key whose policy you control)`;
    }
    return undefined;
}

/** Why versioning does not protect backups from overwrites and deletes, or undefined. */
export function versioningProblem(status: string | undefined): string | undefined {
    return status === "Enabled"
        ? undefined
        : `versioning is ${status === undefined ? "not configured" : JSON.stringify(status)}; set versioningConfiguration.status "Enabled" so an overwritten or deleted snapshot can be recovered`;
}

export const PUBLIC_ACCESS_BLOCK_FLAGS = [
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
] as const;

export type PublicAccessBlockFlag = (typeof PUBLIC_ACCESS_BLOCK_FLAGS)[number];

/** The public-access blocks that are not on. */
export function missingPublicAccessBlocks(
    block: Partial<Record<PublicAccessBlockFlag, unknown>>,
): PublicAccessBlockFlag[] {
    return PUBLIC_ACCESS_BLOCK_FLAGS.filter((flag) => block[flag] !== true);
}

interface Statement {
    Effect?: unknown;
    Principal?: unknown;
    Action?: unknown;
    Condition?: unknown;
}

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

/** Whether a statement denies every S3 action to everyone when the request is not over TLS. */
export function isTlsOnlyDeny(statement: unknown): boolean {
    if (typeof statement !== "object" || statement === null) {
        return false;
    }
    const s = statement as Statement;
    const principal = s.Principal;
    const everyone =
        principal === "*" ||
        (typeof principal === "object" &&
            principal !== null &&
            asList((principal as { AWS?: unknown }).AWS).includes("*"));
    const actions = asList(s.Action);
    const everyAction = actions.includes("s3:*") || actions.includes("*");
    const condition = (s.Condition ?? {}) as Record<string, unknown>;
    const insecure = ["Bool", "BoolIfExists"].some((operator) => {
        const value = (condition[operator] as Record<string, unknown> | undefined)?.["aws:SecureTransport"];
        return asList(value).some((v) => v === false || v === "false");
    });
    return s.Effect === "Deny" && everyone && everyAction && insecure;
}

/** Parses a policy given as JSON text or as a document; undefined when it is neither. */
export function policyStatements(policy: unknown): unknown[] | undefined {
    let document: unknown = policy;
    if (typeof policy === "string") {
        try {
            document = JSON.parse(policy);
        } catch {
            return undefined;
        }
    }
    if (typeof document !== "object" || document === null) {
        return undefined;
    }
    return asList((document as { Statement?: unknown }).Statement);
}

/** Why a bucket policy does not refuse plain HTTP, or undefined. */
export function tlsOnlyPolicyProblem(policy: unknown): string | undefined {
    const statements = policyStatements(policy);
    if (statements === undefined) {
        return "has no readable bucket policy; attach one that denies s3:* to everyone when aws:SecureTransport is false";
    }
    return statements.some(isTlsOnlyDeny)
        ? undefined
        : 'has no statement refusing plain HTTP; add { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }';
}
