// A request recorded at the S3-protocol server, as a bucket policy would be asked about it: S3
// authorizes every object write as s3:PutObject and sets s3:ObjectCreationOperation on those that
// create the object (PutObject, CompleteMultipartUpload), not on CreateMultipartUpload or UploadPart;
// the SSE, If-None-Match and Object Lock headers become their condition keys; a listing is
// s3:ListBucket with its prefix. TLS as the agent uses it against S3 (s3rver here is HTTP).
import { RecordedRequest } from "./s3Server";
import { Request } from "./iam";

const DAY_MS = 24 * 60 * 60 * 1000;

export type Operation =
    | "UploadPart"
    | "CreateMultipartUpload"
    | "CompleteMultipartUpload"
    | "PutObject"
    | "ListObjectsV2"
    | "AbortMultipartUpload"
    | "other";

export interface PolicyRequest extends Request {
    operation: Operation;
    /** The key (or the listing's prefix) the request names. */
    key: string;
}

/** `x-amz-date: 20261130T104110Z` as a time. */
function signedAt(recorded: RecordedRequest): Date {
    const value = String(recorded.headers["x-amz-date"] ?? "");
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
    if (!m) {
        throw new Error(`request without a signature time: ${recorded.method} ${recorded.url}`);
    }
    return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

function operationOf(method: string, url: URL, key: string): Operation {
    if (method === "PUT" && url.searchParams.has("partNumber")) {
        return "UploadPart";
    }
    if (method === "POST" && url.searchParams.has("uploads")) {
        return "CreateMultipartUpload";
    }
    if (method === "POST" && url.searchParams.has("uploadId")) {
        return "CompleteMultipartUpload";
    }
    if (method === "DELETE" && url.searchParams.has("uploadId")) {
        return "AbortMultipartUpload";
    }
    if (method === "PUT") {
        return "PutObject";
    }
    return method === "GET" && key === "" && url.searchParams.get("list-type") === "2" ? "ListObjectsV2" : "other";
}

/**
 * The policy request for one recorded request. `without` drops headers (as if the agent had not sent
 * them); the remaining days of a lock are counted from the request's signature time, rounded down
 * (S3 may round up: the bucket policy allows a day more).
 */
export function asPolicyRequest(recorded: RecordedRequest, without: string[] = []): PolicyRequest {
    const url = new URL(recorded.url, "http://s3");
    const [, bucket, ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const operation = operationOf(recorded.method, url, key);
    const header = (name: string) =>
        without.includes(name) ? undefined : (recorded.headers[name] as string | undefined);
    const context: Record<string, string> = { "s3:TlsVersion": "1.3" };
    if (operation === "ListObjectsV2") {
        context["s3:prefix"] = url.searchParams.get("prefix") ?? "";
        return {
            operation,
            key: context["s3:prefix"],
            action: "s3:ListBucket",
            resource: `arn:aws:s3:::${bucket}`,
            context,
        };
    }
    context["s3:ObjectCreationOperation"] = String(
        operation === "PutObject" || operation === "CompleteMultipartUpload",
    );
    for (const [name, conditionKey] of [
        ["x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"],
        ["x-amz-server-side-encryption-aws-kms-key-id", "s3:x-amz-server-side-encryption-aws-kms-key-id"],
        ["if-none-match", "s3:if-none-match"],
        ["x-amz-object-lock-mode", "s3:object-lock-mode"],
    ]) {
        if (header(name) !== undefined) {
            context[conditionKey] = header(name)!;
        }
    }
    const until = header("x-amz-object-lock-retain-until-date");
    if (until !== undefined) {
        context["s3:object-lock-retain-until-date"] = until;
        const days = Math.floor((Date.parse(until) - signedAt(recorded).getTime()) / DAY_MS);
        context["s3:object-lock-remaining-retention-days"] = String(days);
    }
    return {
        operation,
        key,
        action: operation === "AbortMultipartUpload" ? "s3:AbortMultipartUpload" : "s3:PutObject",
        resource: `arn:aws:s3:::${bucket}/${key}`,
        context,
    };
}

/**
 * Every policy question one recorded request asks: an upload that sets a lock is asked as
 * s3:PutObject and as s3:PutObjectRetention (whichever S3 authorizes it as, both must allow it).
 */
export function policyQuestions(recorded: RecordedRequest, without: string[] = []): PolicyRequest[] {
    const request = asPolicyRequest(recorded, without);
    const locks = Object.keys(request.context ?? {}).filter((k) => k.startsWith("s3:object-lock-"));
    if (request.action !== "s3:PutObject" || locks.length === 0) {
        return [request];
    }
    const lockContext = Object.fromEntries(
        Object.entries(request.context ?? {}).filter(([k]) => k.startsWith("s3:object-lock-") || k === "s3:TlsVersion"),
    );
    return [request, { ...request, action: "s3:PutObjectRetention", context: lockContext }];
}
