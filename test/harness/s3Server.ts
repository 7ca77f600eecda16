// A real S3-protocol server on loopback (s3rver), with one bucket, and a client for the test's own
// reads. Credentials are s3rver's fixed pair; it checks request signatures like S3 does.
import { S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import S3rver from "s3rver";

export const S3RVER_CREDENTIALS = {
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
};

/** One request as it reached the server: what a bucket policy would be asked about. */
export interface RecordedRequest {
    method: string;
    /** Path and query, e.g. `/bucket/key?partNumber=1&uploadId=...`. */
    url: string;
    headers: http.IncomingHttpHeaders;
}

export interface LocalS3 {
    endpoint: string;
    bucket: string;
    client: S3Client;
    /** Every request the server received, in order (the test's own reads included). */
    requests: RecordedRequest[];
    /** Environment for a child process that talks to it. */
    env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

/** With `address`, it listens there (e.g. the e2e bridge's, so members in network namespaces reach it). */
export async function startS3Server(bucket: string, address = "127.0.0.1"): Promise<LocalS3> {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-s3-"));
    const server = new S3rver({
        address,
        port: 0,
        silent: true,
        directory,
        configureBuckets: [{ name: bucket, configs: [] }],
    });
    const listening = await server.run();
    const requests: RecordedRequest[] = [];
    // s3rver keeps its http.Server once listening; its request headers are the agent's own.
    (server as unknown as { httpServer: http.Server }).httpServer.prependListener(
        "request",
        (req: http.IncomingMessage) =>
            requests.push({ method: req.method ?? "", url: req.url ?? "", headers: { ...req.headers } }),
    );
    const endpoint = `http://${address}:${listening.port}`;
    const client = new S3Client({
        region: S3RVER_CREDENTIALS.AWS_REGION,
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    // The SDK's default chain reads these in this process too (the agent runs in-process in some tests).
    Object.assign(process.env, S3RVER_CREDENTIALS);
    return {
        endpoint,
        bucket,
        client,
        requests,
        env: { ...process.env, ...S3RVER_CREDENTIALS },
        stop: async () => {
            client.destroy();
            await server.close();
            fs.rmSync(directory, { recursive: true, force: true });
        },
    };
}
