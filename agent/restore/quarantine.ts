// The quarantine of a restored member: a table of its own in nftables that resets every TCP
// connection to etcd's client port except over loopback, until the whole cluster is restored.
// A table of its own, so that the rendered host firewall (and node sync, which converges it) never
// touches it, and so that it holds whatever the other tables accept: a packet another base chain
// accepts is still rejected here. Peers (2380) and the loopback listener stay open: the members
// find each other, and this member's agent sees the cluster come up.
import { execFileSync } from "child_process";
import { ETCD_PORTS } from "../../src/manifests/nodeLayout";

export const QUARANTINE_TABLE = "secure_etcd_restore";

/** The ruleset that puts the quarantine up (idempotent: the table is emptied first). */
export function quarantineRuleset(): string {
    return [
        `add table inet ${QUARANTINE_TABLE}`,
        `flush table inet ${QUARANTINE_TABLE}`,
        `table inet ${QUARANTINE_TABLE} {`,
        "    chain input {",
        // Before the rendered firewall's chain (priority 0): the quarantine is decided first.
        "        type filter hook input priority -10; policy accept;",
        '        iifname "lo" accept',
        `        tcp dport ${ETCD_PORTS.client} reject with tcp reset`,
        "    }",
        "}",
        "",
    ].join("\n");
}

function nft(args: string[], input?: string): void {
    try {
        execFileSync("nft", args, { input, stdio: ["pipe", "ignore", "pipe"], encoding: "utf8" });
    } catch (e) {
        const err = e as { stderr?: string; message: string; code?: string };
        if (err.code === "ENOENT") {
            throw new Error(
                "nft is not installed; the quarantine needs nftables (Debian: apt-get install -y nftables)",
            );
        }
        throw new Error(`nft ${args.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
}

/** Clients are refused on the client port from anywhere but loopback. */
export function raiseQuarantine(): void {
    nft(["-f", "-"], quarantineRuleset());
}

/** Clients are served again as the rendered firewall allows. */
export function liftQuarantine(): void {
    nft(["-f", "-"], `add table inet ${QUARANTINE_TABLE}\ndelete table inet ${QUARANTINE_TABLE}\n`);
}
