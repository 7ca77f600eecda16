// Cloud-init user-data for a node, derived from its nodeFiles: a bootstrap script and the systemd
// unit that runs it until it succeeds (bootstrapUnit.ts). The script creates the etcd user, fetches
// the node's bundle from AWS Secrets Manager with the instance role, and writes every file with its
// mode and owner. The user-data holds no secret: only paths, modes, owners, the secret's ARN and the
// public static-pod manifest.
import { gzipSync } from "fflate";
import { NodeAgentArtifact } from "../backup/agentArtifact";
import { renderPythonAsset } from "../core/assets";
import { NodeFile } from "../manifests/nodeFiles";
import { toYaml } from "../core/yaml";
import { BOOTSTRAP_STATE, BOOTSTRAP_UNIT, BOOTSTRAP_UNIT_PATH, renderBootstrapUnit } from "./bootstrapUnit";

/** The bundle as stored in Secrets Manager: file contents by absolute path. */
export interface SecretBundle {
    version: 1;
    files: Record<string, string>;
}

export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/secure-etcd-bootstrap";
/**
 * The script at BOOTSTRAP_SCRIPT_PATH, by its path from src/; rendering fills in the node's plan.
 * Python 3 because cloud-init itself is Python 3: it is on every image that runs cloud-init. It
 * fetches the bundle with the AWS CLI (which reads the instance role), retrying while the network
 * and role come up.
 */
export const NODE_BOOTSTRAP_ASSET = "nodes/assets/node_bootstrap.py";
/** EC2 refuses user-data over 16 KiB. */
export const USER_DATA_LIMIT = 16384;

export interface UserDataInput {
    /** The component's name and the node's member name: labels of the bootstrap's metrics. */
    cluster: string;
    member: string;
    files: NodeFile[];
    /** Paths whose content comes from the secret; every other file's content is inline (public). */
    bundlePaths: string[];
    secretArn: string;
    region: string;
    /** The service user to create, if any (the etcd user on members). */
    user?: { name: string; uid: number; gid: number };
    /** The node agent to download, check and install before anything else, if any. */
    agent?: NodeAgentArtifact;
    /** Files the boot leaves to node sync (a joining member's manifest). */
    deferredPaths?: string[];
}

/** The secret's content for a node: the files its user-data fetches. */
export function secretBundle(files: NodeFile[], bundlePaths: string[]): SecretBundle {
    const wanted = new Set(bundlePaths);
    const bundle: SecretBundle = { version: 1, files: {} };
    for (const f of files) {
        if (wanted.has(f.path)) {
            bundle.files[f.path] = f.content;
        }
    }
    return bundle;
}

/** Every non-directory file except the static-pod manifests: keys and certificates. */
export function defaultBundlePaths(files: NodeFile[]): string[] {
    return files.filter((f) => !f.directory && !f.path.startsWith("/etc/kubernetes/manifests/")).map((f) => f.path);
}

interface PlannedFile {
    path: string;
    mode: string;
    owner: string;
    directory: boolean;
    /** Inline content, or absent when it comes from the bundle. */
    content?: string;
    /** `base64`: the content (inline or from the bundle) is decoded before it is written. */
    encoding?: string;
    /** Run right after the file is written (`{path}` is its path). */
    apply?: string[];
}

/**
 * gzip, then base64: the same bytes wherever and with whichever Node.js `pulumi up` runs, or user
 * data would show a diff (and an instance a stop and start). Node's own zlib is only as stable as
 * the zlib it bundles, which differs between Node releases; fflate is pure JavaScript, pinned, and
 * writes no time (mtime 0) and a fixed OS byte into the header.
 */
export function gzipBase64(text: string): string {
    return Buffer.from(gzipSync(Buffer.from(text, "utf8"), { level: 9, mtime: 0 })).toString("base64");
}

export function renderUserData(input: UserDataInput): string {
    const fromBundle = new Set(input.bundlePaths);
    const plan = {
        secretArn: input.secretArn,
        region: input.region,
        user: input.user ?? null,
        agent: input.agent ?? null,
        ...(input.deferredPaths && input.deferredPaths.length > 0 ? { deferred: input.deferredPaths } : {}),
        state: { cluster: input.cluster, member: input.member, ...BOOTSTRAP_STATE },
        files: input.files.map((f): PlannedFile => ({
            path: f.path,
            mode: f.mode,
            owner: f.owner,
            directory: f.directory,
            ...(f.directory || fromBundle.has(f.path) ? {} : { content: f.content }),
            ...(f.encoding ? { encoding: f.encoding } : {}),
            ...(f.apply ? { apply: f.apply } : {}),
        })),
    };
    const config = {
        write_files: [
            {
                path: BOOTSTRAP_SCRIPT_PATH,
                permissions: "0700",
                owner: "root:root",
                // Compressed: the script with its plan is about 17 KB as text, over EC2's limit.
                encoding: "gz+b64",
                content: gzipBase64(renderPythonAsset(NODE_BOOTSTRAP_ASSET, plan)),
            },
            {
                path: BOOTSTRAP_UNIT_PATH,
                permissions: "0644",
                owner: "root:root",
                content: renderBootstrapUnit(BOOTSTRAP_SCRIPT_PATH),
            },
        ],
        // Enabled, so that a reboot before the first success runs it again; started without
        // waiting, so that cloud-init finishes while the unit keeps trying.
        runcmd: [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", BOOTSTRAP_UNIT],
            ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
        ],
    };
    return `#cloud-config\n${toYaml(config, { lineWidth: 0 })}`;
}
