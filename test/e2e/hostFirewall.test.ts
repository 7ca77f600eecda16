// The rendered host firewall on real nftables, probed from outside. Everything happens in network
// namespaces this file creates and removes (prefix se-fw), joined by a bridge that itself sits in a
// namespace of its own, so the host's ruleset, links and addresses are never touched. Needs root,
// nftables and iproute2.
import { strict as assert } from "assert";
import { ChildProcess, execFile, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { HostFirewallInput, renderHostFirewall } from "../../src/network/hostFirewall";

const run = promisify(execFile);

const PREFIX = "se-fw";
const SUBNET = "10.213.48";
const CHECK_NS = `${PREFIX}-check`;
const SWITCH_NS = `${PREFIX}-sw`;
const BRIDGE = `${PREFIX}-br`;
/** A dropped SYN shows as a connect that neither succeeds nor is refused within this long. */
const CONNECT_TIMEOUT_MS = 1000;

type Role = "member" | "peer" | "client" | "stranger";
const HOSTS: Record<Role, { ns: string; ip: string }> = {
    member: { ns: `${PREFIX}-member`, ip: `${SUBNET}.1` },
    peer: { ns: `${PREFIX}-peer`, ip: `${SUBNET}.2` },
    client: { ns: `${PREFIX}-client`, ip: `${SUBNET}.20` },
    stranger: { ns: `${PREFIX}-stranger`, ip: `${SUBNET}.100` },
};
const ROLES = Object.keys(HOSTS) as Role[];
const MEMBER_IP = HOSTS.member.ip;

// The third member (.3) has no namespace: it only has to be listed, not to answer.
const BEHAVIOUR: HostFirewallInput = {
    memberIp: MEMBER_IP,
    memberIps: [MEMBER_IP, HOSTS.peer.ip, `${SUBNET}.3`],
    clientCidrs: [`${SUBNET}.16/29`],
    metricsCidrs: [],
};

function sh(cmd: string, ...args: string[]): string {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

function quietly(fn: () => void): void {
    try {
        fn();
    } catch {
        // already gone
    }
}

const allNamespaces = () => [CHECK_NS, SWITCH_NS, ...ROLES.map((r) => HOSTS[r].ns)];

function removeNamespaces(): void {
    // Deleting a namespace destroys its veth ends, and with them their peers and the bridge.
    for (const ns of allNamespaces()) {
        quietly(() => sh("ip", "netns", "del", ns));
    }
}

function leftovers(): string[] {
    const lines = [...sh("ip", "netns", "list").split("\n"), ...sh("ip", "-o", "link", "show").split("\n")];
    const tmp = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith(`${PREFIX}-`));
    return [...lines.filter((l) => l.includes(PREFIX)), ...tmp.map((d) => path.join(os.tmpdir(), d))];
}

/** No IPv6 link-local addresses: the only non-loopback addresses are the 10.213.48.0/24 ones. */
function quietLink(ns: string, dev: string): void {
    sh("ip", "-n", ns, "link", "set", "dev", dev, "addrgenmode", "none");
}

function createNetwork(): void {
    sh("ip", "netns", "add", SWITCH_NS);
    sh("ip", "-n", SWITCH_NS, "link", "add", BRIDGE, "type", "bridge");
    quietLink(SWITCH_NS, BRIDGE);
    sh("ip", "-n", SWITCH_NS, "link", "set", BRIDGE, "up");
    ROLES.forEach((role, i) => {
        const { ns, ip } = HOSTS[role];
        const port = `${PREFIX}-v${i}`;
        sh("ip", "netns", "add", ns);
        sh("ip", "-n", SWITCH_NS, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        quietLink(SWITCH_NS, port);
        quietLink(ns, "eth0");
        sh("ip", "-n", SWITCH_NS, "link", "set", port, "master", BRIDGE, "up");
        sh("ip", "-n", ns, "addr", "add", `${ip}/24`, "dev", "eth0");
        sh("ip", "-n", ns, "link", "set", "eth0", "up");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
    });
}

// Plain TCP listeners standing in for etcd; IPv6 loopback too, to see the inet table cover it.
const LISTENER = `
const net = require("net");
const binds = [2379, 2380, 2381].flatMap((port) => [[port, "0.0.0.0"], [port, "::1"]]);
let pending = binds.length;
for (const [port, host] of binds) {
    net.createServer((s) => s.end()).listen({ port, host }, () => {
        if (--pending === 0) console.log("ready");
    });
}`;

// Connects to every target at once; prints "open", "refused" or "dropped" (no answer in time) for each.
// "dropped" is decided only after the deadline *and* one more I/O poll (setImmediate runs after it):
// a probe process that a busy machine stalls past the deadline still sees the handshake or the
// refusal that the kernel has already completed, instead of taking an open port for a dropped one.
const PROBE = `
const net = require("net");
const targets = JSON.parse(process.argv[1]);
Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => setImmediate(() => { s.destroy(); resolve("dropped"); }), ${CONNECT_TIMEOUT_MS});
    s.on("connect", () => { clearTimeout(timer); s.destroy(); resolve("open"); });
    s.on("error", (e) => { clearTimeout(timer); resolve(e.code === "ECONNREFUSED" ? "refused" : e.code); });
}))).then((outcomes) => console.log(JSON.stringify(outcomes)));`;

type Outcome = "open" | "refused" | "dropped";
type Expectation = Record<string, Outcome>;

/** Connects from `ns` to each "host:port" key and returns what happened, keyed the same way. */
async function probe(ns: string, targets: string[]): Promise<Expectation> {
    const pairs = targets.map((t) => {
        const at = t.lastIndexOf(":");
        return [t.slice(0, at).replace(/^\[|\]$/g, ""), Number(t.slice(at + 1))];
    });
    const { stdout } = await run("ip", ["netns", "exec", ns, process.execPath, "-e", PROBE, JSON.stringify(pairs)], {
        timeout: 10_000,
    });
    const outcomes = JSON.parse(stdout) as Outcome[];
    return Object.fromEntries(targets.map((t, i) => [t, outcomes[i]]));
}

const onMember = (client: Outcome, peer: Outcome, metrics: Outcome, host = MEMBER_IP): Expectation => ({
    [`${host}:2379`]: client,
    [`${host}:2380`]: peer,
    [`${host}:2381`]: metrics,
});

async function expectFrom(role: Role, expected: Expectation): Promise<void> {
    assert.deepEqual(await probe(HOSTS[role].ns, Object.keys(expected)), expected, `from ${role}`);
}

function nft(ns: string, ...args: string[]): string {
    return sh("ip", "netns", "exec", ns, "nft", ...args);
}

const secureEtcdTables = (ns: string) =>
    nft(ns, "list", "tables")
        .split("\n")
        .filter((l) => l.trim() === "table inet secure_etcd");
const ruleCount = (ns: string) =>
    nft(ns, "list", "chain", "inet", "secure_etcd", "input")
        .split("\n")
        .filter((l) => l.includes(" comment ")).length;
const commentedRules = (text: string) => text.split("\n").filter((l) => l.includes(" comment ")).length;

/** Every long-running process this file starts (`ip netns exec` execs node, so the pid is the listener's). */
const startedPids: number[] = [];

const isRunning = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

let tmpDir: string | undefined;
function writeRules(name: string, input: HostFirewallInput): string {
    tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
    const file = path.join(tmpDir, `${name}.nft`);
    fs.writeFileSync(file, renderHostFirewall(input), { mode: 0o600 });
    return file;
}
function removeTmp(): void {
    if (tmpDir) {
        fs.rmSync(tmpDir, { recursive: true, force: true });
        tmpDir = undefined;
    }
}

describe("host firewall: nft accepts the rendered rules", function () {
    this.timeout(30_000);
    const configs: Record<string, HostFirewallInput> = {
        "three IPv4 members, one client CIDR": {
            memberIp: "10.0.1.10",
            memberIps: ["10.0.1.10", "10.0.1.11", "10.0.1.12"],
            clientCidrs: ["10.0.2.0/24"],
            metricsCidrs: [],
        },
        "IPv6 members and clients": {
            memberIp: "fd00::10",
            memberIps: ["fd00::10", "fd00::11", "fd00::12"],
            clientCidrs: ["fd00:1::/64", "2001:db8::1"],
            metricsCidrs: [],
        },
        "dual-stack members, mixed, overlapping and host-bit clients, metrics exposed": {
            memberIp: "10.0.1.10",
            memberIps: ["10.0.1.10", "fd00::11", "10.0.1.12"],
            clientCidrs: ["10.0.0.0/8", "10.0.2.5/24", "192.168.7.9", "::ffff:172.16.0.0/108", "fd00::/8", "fd00::1"],
            metricsCidrs: ["10.0.9.0/24", "fd00:9::/64"],
        },
        "a single member, no clients": {
            memberIp: "10.0.1.10",
            memberIps: ["10.0.1.10"],
            clientCidrs: [],
            metricsCidrs: [],
        },
    };

    before(() => {
        removeNamespaces();
        sh("ip", "netns", "add", CHECK_NS);
    });
    after(() => {
        quietly(() => sh("ip", "netns", "del", CHECK_NS));
        removeTmp();
    });

    for (const [title, input] of Object.entries(configs)) {
        it(`${title}: passes nft -c, then applies as one table with every rule`, () => {
            const file = writeRules(title.replace(/\W+/g, "-"), input);
            nft(CHECK_NS, "-c", "-f", file);
            // Applied twice over whatever the previous configuration left: replaced, never duplicated.
            nft(CHECK_NS, "-f", file);
            nft(CHECK_NS, "-f", file);
            assert.equal(secureEtcdTables(CHECK_NS).length, 1);
            assert.equal(ruleCount(CHECK_NS), commentedRules(fs.readFileSync(file, "utf8")));
        });
    }
});

describe("host firewall: behaviour seen from other hosts", function () {
    this.timeout(60_000);
    let listener: ChildProcess | undefined;
    let rulesFile: string;
    let unrelated: string;

    before(async () => {
        removeNamespaces();
        createNetwork();
        rulesFile = writeRules("behaviour", BEHAVIOUR);
        const child = spawn("ip", ["netns", "exec", HOSTS.member.ns, process.execPath, "-e", LISTENER], {
            stdio: ["ignore", "pipe", "inherit"],
        });
        listener = child;
        if (child.pid !== undefined) {
            startedPids.push(child.pid);
        }
        // Waited for however long a busy machine takes to start node (the hook's timeout bounds it).
        await new Promise<void>((resolve, reject) => {
            child.stdout.on("data", (chunk: Buffer) => {
                if (chunk.toString().includes("ready")) {
                    resolve();
                }
            });
            child.on("exit", (code) => reject(new Error(`listeners exited early (${code})`)));
        });
    });

    after(async () => {
        const child = listener;
        if (child && child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGKILL");
            await exited;
        }
        removeNamespaces();
        removeTmp();
    });

    it("without the firewall every host reaches every port (so drops below are the firewall's)", async () => {
        await Promise.all(
            (["peer", "client", "stranger"] as Role[]).map((r) => expectFrom(r, onMember("open", "open", "open"))),
        );
        await expectFrom("member", {
            ...onMember("open", "open", "open", "127.0.0.1"),
            ...onMember("open", "open", "open", "[::1]"),
        });
    });

    it("applies with nft -f, leaving the node's own tables alone", () => {
        const ns = HOSTS.member.ns;
        // A table standing in for the node's own firewall.
        const nodeTable = [
            "table inet node_fw {",
            "    chain input {",
            "        type filter hook input priority filter; policy accept;",
            '        tcp dport 22 accept comment "ssh"',
            "    }",
            "}",
            "",
        ].join("\n");
        const nodeFile = path.join(path.dirname(rulesFile), "node.nft");
        fs.writeFileSync(nodeFile, nodeTable, { mode: 0o600 });
        nft(ns, "-f", nodeFile);
        unrelated = nft(ns, "list", "table", "inet", "node_fw");
        nft(ns, "-f", rulesFile);
        assert.equal(secureEtcdTables(ns).length, 1);
        assert.equal(nft(ns, "list", "table", "inet", "node_fw"), unrelated);
    });

    it("another member: client and peer ports open, metrics dropped", async () => {
        await expectFrom("peer", onMember("open", "open", "dropped"));
    });

    it("an admitted client: client port open, peer and metrics dropped", async () => {
        await expectFrom("client", onMember("open", "dropped", "dropped"));
    });

    it("a stranger on the same subnet: everything dropped", async () => {
        await expectFrom("stranger", onMember("dropped", "dropped", "dropped"));
    });

    it("loopback on the member, IPv4 and IPv6 and its own address: client and metrics open, peer dropped", async () => {
        await expectFrom("member", {
            ...onMember("open", "dropped", "open", "127.0.0.1"),
            ...onMember("open", "dropped", "open", "[::1]"),
            // Traffic to the member's own address arrives on lo.
            ...onMember("open", "dropped", "open"),
        });
    });

    it("re-applying the same file leaves exactly one table with the same rules and the same behaviour", async () => {
        const ns = HOSTS.member.ns;
        const before = nft(ns, "list", "table", "inet", "secure_etcd");
        nft(ns, "-f", rulesFile);
        nft(ns, "-f", rulesFile);
        assert.equal(secureEtcdTables(ns).length, 1);
        assert.equal(nft(ns, "list", "table", "inet", "secure_etcd"), before);
        assert.equal(ruleCount(ns), commentedRules(fs.readFileSync(rulesFile, "utf8")));
        assert.equal(nft(ns, "list", "table", "inet", "node_fw"), unrelated);
        await Promise.all([
            expectFrom("peer", onMember("open", "open", "dropped")),
            expectFrom("stranger", onMember("dropped", "dropped", "dropped")),
        ]);
    });

    it("applying a new configuration replaces the old one: metrics opened to the client only", async () => {
        const ns = HOSTS.member.ns;
        const widened = writeRules("metrics", { ...BEHAVIOUR, metricsCidrs: [HOSTS.client.ip] });
        nft(ns, "-f", widened);
        assert.equal(secureEtcdTables(ns).length, 1);
        assert.equal(ruleCount(ns), commentedRules(fs.readFileSync(widened, "utf8")));
        await Promise.all([
            expectFrom("client", onMember("open", "dropped", "open")),
            expectFrom("peer", onMember("open", "open", "dropped")),
            expectFrom("stranger", onMember("dropped", "dropped", "dropped")),
        ]);
    });
});

describe("host firewall: cleanup", function () {
    this.timeout(10_000);
    it("leaves no namespace, link, listener or temporary file with prefix se-fw behind", () => {
        assert.deepEqual(leftovers(), []);
        assert.ok(startedPids.length > 0, "the listener was started");
        assert.deepEqual(startedPids.filter(isRunning), []);
    });
});
