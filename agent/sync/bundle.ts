// Reading a member's bundle from Secrets Manager with the node's own credentials (the instance
// role on EC2; whatever the SDK's default chain finds elsewhere), and checking that it is one.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as fs from "fs";
import { NodeFile } from "../../src/manifests/nodeFiles";
import { MemberBundle } from "../../src/nodes/nodeSync";

export interface BundleSource {
    secretArn: string;
    region: string;
}

export function readBundleSource(file: string): BundleSource {
    let value: unknown;
    try {
        value = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(
            `cannot read ${file} (the boot script writes it after its first successful run): ${(e as Error).message}`,
        );
    }
    const { secretArn, region } = (value ?? {}) as Record<string, unknown>;
    if (typeof secretArn !== "string" || typeof region !== "string" || !secretArn || !region) {
        throw new Error(`${file} must be {"secretArn": "<ARN>", "region": "<region>"}`);
    }
    return { secretArn, region };
}

const ENTRY_FIELDS: [keyof NodeFile, string][] = [
    ["path", "string"],
    ["mode", "string"],
    ["owner", "string"],
    ["content", "string"],
    ["directory", "boolean"],
];

function entryProblem(entry: unknown, i: number): string | undefined {
    if (typeof entry !== "object" || entry === null) {
        return `files[${i}] is not an object`;
    }
    const e = entry as Record<string, unknown>;
    for (const [field, type] of ENTRY_FIELDS) {
        if (typeof e[field] !== type) {
            return `files[${i}].${field} is not a ${type}`;
        }
    }
    if (!(e.path as string).startsWith("/") || (e.path as string).split("/").includes("..")) {
        return `files[${i}].path ${JSON.stringify(e.path)} is not an absolute path without ..`;
    }
    if (!/^0[0-7]{3}$/.test(e.mode as string) || !/^\d+:\d+$/.test(e.owner as string)) {
        return `files[${i}] (${e.path as string}): mode must be 0NNN (octal) and owner uid:gid`;
    }
    if (e.encoding !== undefined && e.encoding !== "base64") {
        return `files[${i}].encoding ${JSON.stringify(e.encoding)} is not "base64"`;
    }
    if (e.apply !== undefined && !(Array.isArray(e.apply) && e.apply.every((a) => typeof a === "string"))) {
        return `files[${i}].apply is not a list of strings`;
    }
    return undefined;
}

/** The bundle in a secret's string, or an error saying why it is not one node sync can apply. */
export function parseMemberBundle(secretString: string): MemberBundle {
    let value: unknown;
    try {
        value = JSON.parse(secretString);
    } catch (e) {
        throw new Error(`the bundle is not JSON: ${(e as Error).message}`);
    }
    const bundle = (value ?? {}) as Record<string, unknown>;
    if (bundle.version !== 2) {
        throw new Error(
            `the bundle has version ${JSON.stringify(bundle.version)}; node sync applies version 2, which secure-etcd writes since node sync exists: run pulumi up with this version of the component`,
        );
    }
    if (!Array.isArray(bundle.files)) {
        throw new Error("the bundle has no files list");
    }
    const problem = bundle.files.map(entryProblem).find((p) => p !== undefined);
    if (problem) {
        throw new Error(`the bundle is malformed: ${problem}`);
    }
    const credential = bundle.membershipCredential as Record<string, unknown> | undefined;
    const membershipCredential =
        credential && typeof credential.certPem === "string" && typeof credential.keyPem === "string"
            ? { certPem: credential.certPem, keyPem: credential.keyPem }
            : undefined;
    return { version: 2, files: bundle.files as NodeFile[], ...(membershipCredential ? { membershipCredential } : {}) };
}

/**
 * The member's bundle as Secrets Manager holds it now. `endpoint` only for a stand-in; the SDK
 * also honours AWS_ENDPOINT_URL_SECRETS_MANAGER.
 */
export async function fetchMemberBundle(source: BundleSource, endpoint?: string): Promise<MemberBundle> {
    const client = new SecretsManagerClient({ region: source.region, ...(endpoint ? { endpoint } : {}) });
    try {
        const answer = await client.send(new GetSecretValueCommand({ SecretId: source.secretArn }));
        if (typeof answer.SecretString !== "string") {
            throw new Error(`${source.secretArn} holds no string`);
        }
        return parseMemberBundle(answer.SecretString);
    } finally {
        client.destroy();
    }
}
