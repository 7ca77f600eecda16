// The conformance suite's cluster: the component's own artifacts on real etcd, one network namespace
// per member, so the rendered flags (client port on 127.0.0.1 and the member address, metrics on
// 127.0.0.1) run unchanged. The engine is the one the demo uses (testing/etcdCluster.ts).
import { execFile, execFileSync } from "child_process";
import { promisify } from "util";
import { SecureEtcdClusterArgs } from "../../src";
import { LocalEtcdCluster, LocalMember } from "../../testing/etcdCluster";
import { ProviderMocks } from "../../testing/mocks";
import { createHosts, memberIp, namespaceOf, removeHosts } from "./netns";

export const MEMBER_COUNT = 3;

const run = promisify(execFile);

/** GET on a member's rendered metrics URL from inside its namespace (its own loopback), with curl. */
async function metricsInNamespace(m: LocalMember, urlPath: string): Promise<string> {
    try {
        const exec = m.host.exec ?? [];
        const argv = [...exec, "curl", "-s", "--max-time", "10", `${m.metricsUrl}${urlPath}`];
        return (await run(argv[0], argv.slice(1), { encoding: "utf8" })).stdout;
    } catch {
        return "";
    }
}

/** Kills whatever is left in the namespaces (`ip netns exec` hands over to etcd, so that is etcd). */
function sweepNamespaces(count: number): void {
    for (let i = 0; i < count; i++) {
        try {
            const pids = execFileSync("ip", ["netns", "pids", namespaceOf(i)], { encoding: "utf8" })
                .split("\n")
                .filter(Boolean);
            for (const pid of pids) {
                process.kill(Number(pid), "SIGKILL");
            }
        } catch {
            // namespace already gone
        }
    }
}

/**
 * The three-member cluster, each member in a namespace of its own. `hostCount` namespaces are made
 * (at least three): the ones past the third are spare hosts for members that join later.
 */
export function startNetnsCluster(
    extraArgs: Partial<SecureEtcdClusterArgs> = {},
    previous?: ProviderMocks,
    hostCount = MEMBER_COUNT,
): Promise<LocalEtcdCluster> {
    return LocalEtcdCluster.start({
        name: "e2e",
        hosts: Array.from({ length: MEMBER_COUNT }, (_, i) => ({
            ip: memberIp(i),
            exec: ["ip", "netns", "exec", namespaceOf(i)],
        })),
        tempPrefix: "secure-etcd-e2e-",
        asRenderedUser: true,
        args: extraArgs,
        previous,
        setUpHosts: () => createHosts(Math.max(hostCount, MEMBER_COUNT)),
        tearDownHosts: () => {
            sweepNamespaces(Math.max(hostCount, MEMBER_COUNT));
            removeHosts(Math.max(hostCount, MEMBER_COUNT));
        },
        metricsGet: metricsInNamespace,
    });
}
