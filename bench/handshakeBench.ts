// Key type: full TLS handshakes per second against one etcd member, with the component's certificates
// issued as ECDSA P-256 (the default) and as RSA-2048 (kubeadm's default). Both members run side by
// side in the same run. Load generator: `openssl s_time -new` (one full handshake after another, no
// session reuse, presenting the kube-apiserver client certificate as every client must); the member's
// CPU time per handshake comes from /proc.
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { KeyAlgorithm } from "../src";
import { onPath } from "../agent/etcdBinary";
import { LocalEtcdCluster } from "../testing/etcdCluster";
import { collectingWarnings } from "../testing/warnings";
import { median, processCpuSeconds } from "./stats";

const execFileAsync = promisify(execFile);

export const HANDSHAKE_KEY_TYPES = [KeyAlgorithm.EcdsaP256, KeyAlgorithm.Rsa2048];

export interface HandshakeMeasurement {
    keyAlgorithm: KeyAlgorithm;
    round: number;
    handshakes: number;
    seconds: number;
    handshakesPerSecond: number;
    /** The member's CPU time per handshake (user + system), in microseconds. */
    serverCpuMicrosPerHandshake: number;
}

export interface HandshakeBenchResult {
    secondsPerRun: number;
    /** What `openssl s_time` negotiated. */
    protocol: string;
    runs: HandshakeMeasurement[];
    /** Medians over rounds. */
    handshakesPerSecond: Partial<Record<KeyAlgorithm, number>>;
    serverCpuMicrosPerHandshake: Partial<Record<KeyAlgorithm, number>>;
    /** Median ECDSA P-256 handshakes/s over median RSA-2048 handshakes/s. */
    ecdsaVsRsa: number;
}

interface Member {
    keyAlgorithm: KeyAlgorithm;
    cluster: LocalEtcdCluster;
    connect: string;
    clientFiles: string[];
}

async function startMember(keyAlgorithm: KeyAlgorithm, ip: string): Promise<Member> {
    const warnings: string[] = [];
    const cluster = await collectingWarnings(
        () =>
            LocalEtcdCluster.start({
                name: `handshake-${keyAlgorithm.toLowerCase()}`,
                hosts: [{ ip }],
                tempPrefix: "secure-etcd-bench-handshake-",
                args: { keyAlgorithm },
            }),
        warnings,
    );
    const creds = cluster.rendered.clientCredentials["kube-apiserver-etcd-client"];
    const file = (name: string, content: string) => {
        const target = path.join(cluster.root, name);
        fs.writeFileSync(target, content, { mode: 0o600 });
        return target;
    };
    return {
        keyAlgorithm,
        cluster,
        connect: `${ip}:2379`,
        clientFiles: [
            "-CAfile",
            file("bench-ca.crt", creds.caCertPem),
            "-cert",
            file("bench-client.crt", creds.certPem),
            "-key",
            file("bench-client.key", creds.keyPem),
        ],
    };
}

/** One `openssl s_time` run: how many full handshakes it completed in how many seconds. */
async function sTime(member: Member, seconds: number): Promise<{ handshakes: number; seconds: number }> {
    const { stdout } = await execFileAsync("openssl", [
        "s_time",
        "-connect",
        member.connect,
        "-new",
        "-time",
        String(seconds),
        ...member.clientFiles,
    ]);
    const m = /(\d+) connections in ([\d.]+) real seconds/.exec(stdout);
    if (!m) {
        throw new Error(`openssl s_time printed no result:\n${stdout}`);
    }
    return { handshakes: Number(m[1]), seconds: Number(m[2]) };
}

/** The protocol and cipher a handshake with the member negotiates. */
function negotiated(member: Member): string {
    // An empty standard input makes s_client close right after the handshake.
    const { stderr } = spawnSync("openssl", ["s_client", "-brief", "-connect", member.connect, ...member.clientFiles], {
        input: "",
        encoding: "utf8",
        timeout: 10_000,
    });
    const version = /Protocol version: (\S+)/.exec(stderr)?.[1] ?? "unknown protocol";
    const cipher = /Ciphersuite: (\S+)/.exec(stderr)?.[1] ?? "unknown cipher";
    return `${version} ${cipher}`;
}

export async function benchHandshakes(
    rounds: number,
    secondsPerRun: number,
    ips: string[],
): Promise<HandshakeBenchResult> {
    if (!onPath("openssl")) {
        throw new Error(
            "openssl is not installed; the key-type benchmark drives it: `sudo apt-get install -y openssl`",
        );
    }
    const members: Member[] = [];
    const runs: HandshakeMeasurement[] = [];
    let protocol = "unknown";
    try {
        for (const [i, keyAlgorithm] of HANDSHAKE_KEY_TYPES.entries()) {
            members.push(await startMember(keyAlgorithm, ips[i]));
        }
        protocol = negotiated(members[0]);
        for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? members : [...members].reverse();
            for (const member of order) {
                const pid = member.cluster.members[0].process.pid!;
                const cpuBefore = processCpuSeconds(pid);
                const { handshakes, seconds } = await sTime(member, secondsPerRun);
                const cpu = processCpuSeconds(pid) - cpuBefore;
                runs.push({
                    keyAlgorithm: member.keyAlgorithm,
                    round,
                    handshakes,
                    seconds,
                    handshakesPerSecond: handshakes / seconds,
                    serverCpuMicrosPerHandshake: (cpu * 1e6) / handshakes,
                });
                process.stderr.write(
                    `handshake bench: round ${round + 1}/${rounds} ${member.keyAlgorithm}: ` +
                        `${(handshakes / seconds).toFixed(0)} handshakes/s, etcd CPU ${((cpu * 1e6) / handshakes).toFixed(0)} us each\n`,
                );
            }
        }
    } finally {
        await Promise.all(members.map((m) => m.cluster.stop()));
    }
    const per = (pick: (r: HandshakeMeasurement) => number) =>
        Object.fromEntries(
            HANDSHAKE_KEY_TYPES.map((k) => [k, median(runs.filter((r) => r.keyAlgorithm === k).map(pick))]),
        ) as Partial<Record<KeyAlgorithm, number>>;
    const handshakesPerSecond = per((r) => r.handshakesPerSecond);
    return {
        secondsPerRun,
        protocol,
        runs,
        handshakesPerSecond,
        serverCpuMicrosPerHandshake: per((r) => r.serverCpuMicrosPerHandshake),
        ecdsaVsRsa: handshakesPerSecond[KeyAlgorithm.EcdsaP256]! / handshakesPerSecond[KeyAlgorithm.Rsa2048]!,
    };
}
