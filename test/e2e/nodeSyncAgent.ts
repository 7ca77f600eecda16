// Runs the one-file agent's `node-sync` on a member's host, as its timer would: inside the member's
// network namespace, against the member's root, reading its bundle from the Secrets Manager stand-in.
import { execFile } from "child_process";
import { promisify } from "util";
import { NODE_SYNC_CONFIG_PATH } from "../../src/nodes/nodeSync";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { agentBundle } from "../harness/agentBundle";
import { LocalSecretsManager } from "../harness/secretsManagerServer";

const run = promisify(execFile);

export interface SyncRun {
    code: number;
    stdout: string;
    stderr: string;
}

export async function runNodeSyncAgent(
    cluster: LocalEtcdCluster,
    member: string,
    namespace: string,
    secrets: LocalSecretsManager,
): Promise<SyncRun> {
    const argv = [
        "ip",
        "netns",
        "exec",
        namespace,
        process.execPath,
        agentBundle(),
        "node-sync",
        "--config",
        cluster.onHost(member, NODE_SYNC_CONFIG_PATH),
        "--root",
        cluster.onHost(member, "/"),
    ];
    try {
        const { stdout, stderr } = await run(argv[0], argv.slice(1), {
            encoding: "utf8",
            env: { ...process.env, ...secrets.env, AWS_EC2_METADATA_DISABLED: "true" },
        });
        return { code: 0, stdout, stderr };
    } catch (e) {
        const failed = e as { code?: number; stdout?: string; stderr?: string };
        return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
}
