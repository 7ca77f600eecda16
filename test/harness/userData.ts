// Reads rendered cloud-init user-data back as a node would: the files cloud-init writes, decoded
// (the boot script is gzip + base64).
import * as YAML from "yaml";
import * as zlib from "zlib";

export interface WriteFile {
    path: string;
    permissions: string;
    owner: string;
    encoding?: string;
    content: string;
}

export interface CloudConfig {
    write_files: WriteFile[];
    runcmd: string[][];
}

export function cloudConfigOf(userData: string): CloudConfig {
    return YAML.parse(userData) as CloudConfig;
}

/** A write_files entry's content as cloud-init writes it. */
export function decodedContent(file: WriteFile): string {
    switch (file.encoding) {
        case undefined:
            return file.content;
        case "gz+b64":
            return zlib.gunzipSync(Buffer.from(file.content, "base64")).toString("utf8");
        default:
            throw new Error(`unexpected write_files encoding ${file.encoding}`);
    }
}

/** The content of the file cloud-init writes at `path`. */
export function writtenFile(userData: string, path: string): string {
    const file = cloudConfigOf(userData).write_files.find((f) => f.path === path);
    if (!file) {
        throw new Error(`user-data writes no ${path}`);
    }
    return decodedContent(file);
}

/** The plan a member's boot script runs with, read back from its user-data. */
export function bootstrapPlanOf<T = Record<string, unknown>>(userData: string): T {
    const script = writtenFile(userData, "/usr/local/sbin/secure-etcd-bootstrap");
    const m = /^PLAN = json\.loads\(r"""(.*)"""\)$/m.exec(script);
    if (!m) {
        throw new Error("the boot script has no plan line");
    }
    return JSON.parse(m[1]) as T;
}

/** Everything cloud-init writes from this user-data, decoded, one file after another: what a check for leaked keys reads. */
export function writtenText(userData: string): string {
    return cloudConfigOf(userData).write_files.map(decodedContent).join("\n");
}

/** A member bundle (version 2, as stored in Secrets Manager) as file contents by path. */
export function bundleContents(secretString: string): { files: Record<string, string> } {
    const bundle = JSON.parse(secretString) as {
        version: number;
        files: { path: string; content: string; directory: boolean }[];
    };
    if (bundle.version !== 2) {
        throw new Error(`a member bundle of version ${bundle.version}`);
    }
    return { files: Object.fromEntries(bundle.files.filter((f) => !f.directory).map((f) => [f.path, f.content])) };
}
