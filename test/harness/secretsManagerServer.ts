// A small local stand-in for AWS Secrets Manager that speaks its JSON protocol for GetSecretValue
// (POST /, `X-Amz-Target: secretsmanager.GetSecretValue`, `application/x-amz-json-1.1`), so the
// node agent is tested through the real AWS SDK client. It refuses unsigned requests and requests
// signed for another service (what Secrets Manager answers with an error, not a secret), keeps a
// version per put, and records every request. It does not check signatures cryptographically nor
// any IAM policy: who may read which secret is proven by the policy simulator in the unit suite.
import * as crypto from "crypto";
import * as http from "http";

export const SECRETS_MANAGER_CREDENTIALS = {
    AWS_ACCESS_KEY_ID: "AKIASTANDIN000000000",
    AWS_SECRET_ACCESS_KEY: "stand-in-secret-access-key",
    AWS_REGION: "eu-west-1",
};

export interface SecretsManagerRequest {
    target: string;
    secretId?: string;
    /** The service in the SigV4 credential scope. */
    service?: string;
}

export interface LocalSecretsManager {
    endpoint: string;
    /** Replaces a secret's value (a new version), as `pulumi up` does with a SecretVersion. */
    put(secretId: string, value: string): void;
    requests: SecretsManagerRequest[];
    /** Environment for a child process that talks to it. */
    env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

function answer(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify(body));
}

function error(res: http.ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": type });
    res.end(JSON.stringify({ __type: type, message }));
}

/** Listens on `host` (an address the members' hosts reach) on a free port. */
export async function startSecretsManager(host = "127.0.0.1"): Promise<LocalSecretsManager> {
    const secrets = new Map<string, { value: string; versionId: string; created: number }>();
    const requests: SecretsManagerRequest[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
            const target = String(req.headers["x-amz-target"] ?? "");
            const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(
                String(req.headers.authorization ?? ""),
            )?.[1];
            let secretId: string | undefined;
            try {
                secretId = (JSON.parse(body || "{}") as { SecretId?: string }).SecretId;
            } catch {
                secretId = undefined;
            }
            requests.push({ target, secretId, service });
            if (service !== "secretsmanager") {
                error(
                    res,
                    400,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                );
                return;
            }
            if (target !== "secretsmanager.GetSecretValue") {
                error(res, 400, "InvalidAction", `the stand-in answers GetSecretValue only, not ${target}`);
                return;
            }
            const secret = secretId ? secrets.get(secretId) : undefined;
            if (!secret) {
                error(res, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
                return;
            }
            answer(res, 200, {
                ARN: secretId,
                Name: secretId!.split(":").pop(),
                SecretString: secret.value,
                VersionId: secret.versionId,
                VersionStages: ["AWSCURRENT"],
                CreatedDate: secret.created,
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const port = (server.address() as { port: number }).port;
    const endpoint = `http://${host}:${port}`;
    return {
        endpoint,
        requests,
        put(secretId, value) {
            secrets.set(secretId, { value, versionId: crypto.randomUUID(), created: Date.now() / 1000 });
        },
        env: { ...SECRETS_MANAGER_CREDENTIALS, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint },
        stop: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
