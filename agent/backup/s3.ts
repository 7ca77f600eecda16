// The S3 client both commands use: the default credential chain (the instance role on a member),
// and an endpoint override for S3-compatible servers and VPC endpoints.
import { S3Client } from "@aws-sdk/client-s3";

export interface S3Target {
    bucket: string;
    region: string;
    /** e.g. `http://127.0.0.1:4568` for a local S3-protocol server; path-style addressing then. */
    endpoint?: string;
}

export function s3Client(target: S3Target): S3Client {
    return new S3Client({
        region: target.region,
        ...(target.endpoint ? { endpoint: target.endpoint, forcePathStyle: true } : {}),
        // A failed request is retried by the SDK; a snapshot stream cannot be replayed, which is
        // why the upload is aborted (and retried as a whole by the next timer run) instead.
        maxAttempts: 5,
    });
}
