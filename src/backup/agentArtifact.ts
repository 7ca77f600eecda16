// The node agent as one artifact (`npm run build:agent`: secure-etcd.cjs and its .sha256): where
// members download it from, the checksum their boot script holds it to before installing it at
// `backupAgentPath`, and the one S3 permission that download needs. Pure: tested without mocks.
import { Problem, quote } from "../core/problems";
import { policy, PolicyDocument } from "../core/policyDocument";

/** What a member's boot script installs, and where (rendered into its plan; no secret). */
export interface NodeAgentArtifact {
    /** `s3://<bucket>/<key>` (read with the instance role) or `https://...`. */
    url: string;
    /** The artifact's SHA-256, lowercase hex: nothing else is installed. */
    sha256: string;
    /** `backupAgentPath`. */
    path: string;
}

/** `s3://<bucket>/<key>`: the bucket and key, else undefined. */
export function parseS3Url(url: string): { bucket: string; key: string } | undefined {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
    return m ? { bucket: m[1], key: m[2] } : undefined;
}

const URL_FIX =
    "give s3://<bucket>/<key> (the members' instance role reads it; the component grants s3:GetObject on that object) or an https:// URL that needs no credential";

/** Query parameters that make a URL a credential (S3 presigned URLs and the like). */
const CREDENTIAL_PARAMETER = /^(x-amz-(signature|credential|security-token)|signature|sig|token|access_token)$/i;

function s3UrlProblem(url: string): string | undefined {
    const s3 = parseS3Url(url);
    if (!s3 || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket)) {
        return `${quote(url)} is not an s3://<bucket>/<key> URL; ${URL_FIX}`;
    }
    // The key becomes part of an IAM policy's resource, where these are wildcards and variables.
    if (/[*?$\s]/.test(s3.key) || s3.key.endsWith("/")) {
        return `${quote(url)}: the key must name one object, without *, ?, $ or whitespace (an IAM policy would read them as wildcards or variables); e.g. "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs"`;
    }
    return undefined;
}

function httpsUrlProblem(url: string): string | undefined {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `${quote(url)} is not a URL; ${URL_FIX}`;
    }
    if (parsed.protocol !== "https:") {
        return `${quote(url)} is neither s3:// nor https://; ${URL_FIX}`;
    }
    const secretParameter = [...parsed.searchParams.keys()].find((k) => CREDENTIAL_PARAMETER.test(k));
    if (parsed.username || parsed.password || secretParameter) {
        return `${quote(url)} carries a credential (${secretParameter ?? "user:password@"}), and memberUserData, which holds the URL, is not secret; ${URL_FIX}`;
    }
    return undefined;
}

export function backupAgentUrlProblems(value: unknown): Problem[] {
    if (typeof value !== "string") {
        return [{ path: "backupAgentUrl", reason: `${quote(value)} is not a URL; ${URL_FIX}` }];
    }
    const reason = value.startsWith("s3://") ? s3UrlProblem(value) : httpsUrlProblem(value);
    return reason ? [{ path: "backupAgentUrl", reason }] : [];
}

export function backupAgentSha256Problems(value: unknown): Problem[] {
    if (typeof value === "string" && /^[0-9a-fA-F]{64}$/.test(value)) {
        return [];
    }
    const line = typeof value === "string" && /^[0-9a-fA-F]{64}\s/.test(value);
    return [
        {
            path: "backupAgentSha256",
            reason: `${quote(value)} is not a SHA-256 (64 hex digits)${line ? ": it is a whole sha256sum line" : ""}; give the first field of secure-etcd.cjs.sha256, which npm run build:agent writes beside the artifact`,
        },
    ];
}

/** The URL and the checksum come together: an artifact is installed only when its checksum is known. */
export function backupAgentPairProblems(given: { url: boolean; sha256: boolean }): Problem[] {
    if (given.url && !given.sha256) {
        return [
            {
                path: "backupAgentSha256",
                reason: "is required with backupAgentUrl: members install the artifact only when its SHA-256 matches; give the first field of secure-etcd.cjs.sha256, or remove backupAgentUrl",
            },
        ];
    }
    if (given.sha256 && !given.url) {
        return [
            {
                path: "backupAgentUrl",
                reason: "is required with backupAgentSha256: give where members download the artifact (s3://<bucket>/<key> or https://...), or remove backupAgentSha256",
            },
        ];
    }
    return [];
}

/**
 * What a member's instance role needs to download the artifact: `s3:GetObject` on that one object
 * for an s3:// URL; nothing for https://.
 */
export function agentArtifactReadPolicy(input: { url: string; partition: string }): PolicyDocument | undefined {
    const s3 = parseS3Url(input.url);
    if (!s3) {
        return undefined;
    }
    return policy({
        Sid: "ReadNodeAgentArtifact",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: `arn:${input.partition}:s3:::${s3.bucket}/${s3.key}`,
    });
}
