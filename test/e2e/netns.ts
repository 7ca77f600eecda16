// Three hosts on one machine: a network namespace per etcd member, joined by a bridge this test
// creates and removes. Each member gets its own loopback, so the rendered flags (client port on
// 127.0.0.1 and the member address, metrics on 127.0.0.1) run unchanged. Needs root and iproute2.
import { execFileSync } from "child_process";

export const PREFIX = "se-e2e";
export const SUBNET = "10.213.47";
/** The test process's own address on the bridge (the clients' source address). */
export const HOST_IP = `${SUBNET}.254`;

function ip(...args: string[]): void {
    execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function quietly(fn: () => void): void {
    try {
        fn();
    } catch {
        // already gone
    }
}

export function namespaceOf(index: number): string {
    return `${PREFIX}-m${index}`;
}

export function memberIp(index: number): string {
    return `${SUBNET}.${index + 1}`;
}

export function createHosts(count: number): void {
    removeHosts(count);
    ip("link", "add", `${PREFIX}-br`, "type", "bridge");
    ip("addr", "add", `${HOST_IP}/24`, "dev", `${PREFIX}-br`);
    ip("link", "set", `${PREFIX}-br`, "up");
    for (let i = 0; i < count; i++) {
        const ns = namespaceOf(i);
        ip("netns", "add", ns);
        ip("link", "add", `${PREFIX}-h${i}`, "type", "veth", "peer", "name", `${PREFIX}-n${i}`);
        ip("link", "set", `${PREFIX}-h${i}`, "master", `${PREFIX}-br`, "up");
        ip("link", "set", `${PREFIX}-n${i}`, "netns", ns);
        ip("-n", ns, "addr", "add", `${memberIp(i)}/24`, "dev", `${PREFIX}-n${i}`);
        ip("-n", ns, "link", "set", `${PREFIX}-n${i}`, "up");
        ip("-n", ns, "link", "set", "lo", "up");
    }
}

export function removeHosts(count: number): void {
    for (let i = 0; i < count; i++) {
        quietly(() => ip("netns", "del", namespaceOf(i)));
        quietly(() => ip("link", "del", `${PREFIX}-h${i}`));
    }
    quietly(() => ip("link", "del", `${PREFIX}-br`));
}

export function leftovers(): string[] {
    const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
    return [...namespaces.split("\n"), ...links.split("\n")].filter((l) => l.includes(PREFIX));
}
