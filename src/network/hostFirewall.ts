// A per-member nftables host firewall for etcd's three ports: defense in depth beside the AWS
// security groups, so a security group opened too wide (or a neighbour on the same subnet) still
// cannot reach the peer port or the metrics. Pure text; the node writes it and runs `nft -f`.
import * as ipaddr from "ipaddr.js";
import { ETCD_PORTS } from "../manifests/nodeLayout";
import { parseStrictAddress } from "./networkRules";

/** Where the rendered rules live on a member node. */
export const HOST_FIREWALL_PATH = "/etc/secure-etcd/firewall.nft";
/** Octal mode of the rules file: root's alone, like the other files under /etc that shape etcd. */
export const HOST_FIREWALL_MODE = "0600";
/** Numeric `uid:gid` owning the rules file. */
export const HOST_FIREWALL_OWNER = "0:0";
/** The one nftables table the rules own (family `inet`: IPv4 and IPv6 in one chain). */
export const HOST_FIREWALL_TABLE = "secure_etcd";

export interface HostFirewallInput {
    /** This member's own address. */
    memberIp: string;
    /** Every member's address, including this one. */
    memberIps: string[];
    /** Sources (CIDRs or bare addresses, IPv4 or IPv6) admitted to the client port 2379 besides loopback and the members. */
    clientCidrs: string[];
    /** Sources admitted to the metrics port 2381 besides loopback; empty by default (metrics stay on loopback). */
    metricsCidrs: string[];
}

/** One normalized source: a network address and its prefix length. */
interface Source {
    address: ipaddr.IPv4 | ipaddr.IPv6;
    prefix: number;
}

const bitsOf = (address: ipaddr.IPv4 | ipaddr.IPv6) => (address.kind() === "ipv4" ? 32 : 128);

/**
 * Parses an address or CIDR strictly (dotted-quad IPv4, IPv6 without a zone), folds IPv4-mapped
 * IPv6 onto IPv4 (an `inet` chain sees those packets as IPv4) and clears host bits, so the file
 * reads exactly as nft will apply it. Throws naming the value: validation proper happens elsewhere.
 */
function parseSource(value: string, what: string, allowPrefix: boolean): Source {
    const bad = (why: string) => new Error(`host firewall: ${what} ${JSON.stringify(value)} ${why}`);
    const parts = value.split("/");
    if (parts.length > 2 || (parts.length === 2 && !allowPrefix)) {
        throw bad(allowPrefix ? "is not an address or CIDR" : "must be a single address, not a CIDR");
    }
    const [text, prefixText] = parts;
    let address = parseStrictAddress(text);
    if (address === undefined) {
        throw bad(`is not an IPv4 or IPv6 ${allowPrefix ? "address or CIDR" : "address"}`);
    }
    let prefix = bitsOf(address);
    if (prefixText !== undefined) {
        if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > prefix) {
            throw bad(`has a prefix length outside 0-${prefix}`);
        }
        prefix = Number(prefixText);
    }
    if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress()) {
        if (prefix < 96) {
            throw bad("reaches beyond the IPv4-mapped range ::ffff:0:0/96; give IPv4 and IPv6 sources separately");
        }
        address = address.toIPv4Address();
        prefix -= 96;
    }
    const bytes = address.toByteArray().map((byte, i) => {
        const keep = Math.min(8, Math.max(0, prefix - 8 * i));
        return byte & ((0xff << (8 - keep)) & 0xff);
    });
    return { address: ipaddr.fromByteArray(bytes), prefix };
}

function render(source: Source): string {
    const text = source.address instanceof ipaddr.IPv6 ? source.address.toRFC5952String() : source.address.toString();
    return source.prefix === bitsOf(source.address) ? text : `${text}/${source.prefix}`;
}

/** Drops duplicates and sources inside another one, keeping input order: nft would merge them anyway. */
function collapse(sources: Source[]): Source[] {
    const covers = (outer: Source, inner: Source) =>
        outer.address.kind() === inner.address.kind() &&
        outer.prefix <= inner.prefix &&
        inner.address.match(outer.address, outer.prefix);
    return sources.filter((s, i) => !sources.some((o, j) => j !== i && covers(o, s) && (o.prefix < s.prefix || j < i)));
}

/** `ip saddr { … }` and `ip6 saddr { … }` accept rules; a family without sources gets no rule. */
function acceptFrom(sources: Source[], port: number, comment: string): string[] {
    const lines: string[] = [];
    for (const [kind, match] of [
        ["ipv4", "ip saddr"],
        ["ipv6", "ip6 saddr"],
    ] as const) {
        const set = collapse(sources.filter((s) => s.address.kind() === kind)).map(render);
        if (set.length > 0) {
            lines.push(`${match} { ${set.join(", ")} } tcp dport ${port} accept comment "${comment}"`);
        }
    }
    return lines;
}

/** Renders the member's nftables rules file, to be written to HOST_FIREWALL_PATH and applied with `nft -f`. */
export function renderHostFirewall(input: HostFirewallInput): string {
    const self = parseSource(input.memberIp, "memberIp", false);
    const members = input.memberIps.map((ip, i) => parseSource(ip, `memberIps[${i}]`, false));
    const clients = input.clientCidrs.map((c, i) => parseSource(c, `clientCidrs[${i}]`, true));
    const scrapers = input.metricsCidrs.map((c, i) => parseSource(c, `metricsCidrs[${i}]`, true));
    const selfText = render(self);
    if (!members.some((m) => render(m) === selfText)) {
        throw new Error(
            `host firewall: memberIp ${JSON.stringify(input.memberIp)} is not among memberIps ${JSON.stringify(input.memberIps)}`,
        );
    }
    // By canonical text, so "fd00::0:12" and "fd00::12" are the same member.
    const others = members.filter((m) => render(m) !== selfText);
    const { client, peer, metrics } = ETCD_PORTS;
    const table = `inet ${HOST_FIREWALL_TABLE}`;

    const rules = [
        `iif "lo" tcp dport ${client} accept comment "etcd client: local kube-apiserver and etcdctl"`,
        ...acceptFrom(members, client, "etcd client: the members"),
        ...acceptFrom(clients, client, "etcd client: admitted clients"),
        `tcp dport ${client} drop comment "etcd client: everyone else"`,
        "",
        ...acceptFrom(others, peer, "etcd peer: the other members"),
        `tcp dport ${peer} drop comment "etcd peer: everyone else, loopback and this member included"`,
        "",
        `iif "lo" tcp dport ${metrics} accept comment "etcd metrics: local probes and scrapers"`,
        ...acceptFrom(scrapers, metrics, "etcd metrics: admitted scrapers"),
        `tcp dport ${metrics} drop comment "etcd metrics: everyone else"`,
    ];

    return [
        `# secure-etcd host firewall for etcd member ${selfText}: nftables rules for the client (${client}),`,
        `# peer (${peer}) and metrics (${metrics}) ports, defense in depth beside the AWS security groups.`,
        "# Generated by secure-etcd; do not edit by hand, change the component's inputs instead.",
        "# Apply (atomically; re-applying replaces the table rather than adding a second one):",
        `#   nft -f ${HOST_FIREWALL_PATH}`,
        `# Only table ${table} is touched, and its chain accepts by default: every other port`,
        "# stays with the node's own firewall, and a drop there still wins over an accept here.",
        "",
        // Declaring first makes the delete succeed on a node that never had the table.
        `table ${table}`,
        `delete table ${table}`,
        "",
        `table ${table} {`,
        "    chain input {",
        "        type filter hook input priority filter; policy accept;",
        "",
        ...rules.map((r) => (r === "" ? "" : `        ${r}`)),
        "    }",
        "}",
        "",
    ].join("\n");
}
