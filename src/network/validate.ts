// Rules for network access: where the group lives, sources no wider than the limits, private unless
// opted in, no duplicates after canonicalization, never the whole internet by union, and a host
// firewall that knows every client the security group admits.
import * as ipaddr from "ipaddr.js";
import { Problem, quote } from "../core/problems";
import { addressScope } from "../core/predicates";
import { argRule, ArgRule } from "../core/rules";
import { DEFAULT_MIN_PREFIX_LENGTH, parseCidr, ParsedCidr, sourceCidrProblem } from "./networkRules";

interface NetworkView {
    clientSecurityGroupIds: unknown[];
    clientCidrs: unknown;
    minClientCidrPrefixLength: unknown;
    minClientCidrPrefixLengthIpv6: unknown;
    metricsSecurityGroupIds: unknown[];
    hostFirewall: unknown;
    hostFirewallClientCidrs: unknown;
    hostFirewallMetricsCidrs: unknown;
    allowPublicClientCidrs: unknown;
}

const CIDR_LISTS = ["clientCidrs", "hostFirewallClientCidrs", "hostFirewallMetricsCidrs"] as const;

/** The prefix-length limits, or the problems with them. */
export function prefixLimitProblems(v: { ipv4: unknown; ipv6: unknown }): Problem[] {
    return (
        [
            ["minClientCidrPrefixLength", v.ipv4, "ipv4", 32],
            ["minClientCidrPrefixLengthIpv6", v.ipv6, "ipv6", 128],
        ] as const
    ).flatMap(([path, value, family, max]) =>
        Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max
            ? []
            : [
                  {
                      path,
                      reason: `${quote(value)} is not a prefix length from 1 to ${max}; the default ${DEFAULT_MIN_PREFIX_LENGTH[family]} admits at most a whole VPC`,
                  },
              ],
    );
}

/** Whether a canonical CIDR lies inside the private ranges (RFC 1918, 100.64/10, fc00::/7). */
export function isPrivateCidr(cidr: ParsedCidr): boolean {
    const [network, length] = ipaddr.parseCIDR(cidr.cidr);
    const last = lastAddress(network, length);
    return addressScope(network) === "private" && addressScope(last) === "private";
}

function lastAddress(network: ipaddr.IPv4 | ipaddr.IPv6, length: number): ipaddr.IPv4 | ipaddr.IPv6 {
    const bytes = network.toByteArray();
    const hostBits = bytes.length * 8 - length;
    for (let bit = 0; bit < hostBits; bit++) {
        bytes[bytes.length - 1 - Math.floor(bit / 8)] |= 1 << (bit % 8);
    }
    return ipaddr.fromByteArray(bytes);
}

/** Whether a set of CIDRs of one family together covers every address of that family. */
export function unionCoversAll(cidrs: ParsedCidr[], family: "ipv4" | "ipv6"): boolean {
    const bits = family === "ipv4" ? 32 : 128;
    const ranges = cidrs
        .filter((c) => c.family === family)
        .map((c) => {
            const [network, length] = ipaddr.parseCIDR(c.cidr);
            const start = BigInt(`0x${Buffer.from(network.toByteArray()).toString("hex")}`);
            return [start, start + (1n << BigInt(bits - length))] as const;
        })
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let covered = 0n;
    for (const [start, end] of ranges) {
        if (start > covered) {
            return false;
        }
        covered = end > covered ? end : covered;
    }
    return covered >= 1n << BigInt(bits);
}

/** One list of source CIDRs: each valid and within the limits, none twice, private unless opted in, not the world together. */
export function cidrListProblems(
    path: string,
    list: unknown,
    limits: { ipv4: number; ipv6: number },
    allowPublic: boolean,
): Problem[] {
    if (!Array.isArray(list)) {
        return [{ path, reason: 'must be a list of CIDRs, e.g. ["10.0.2.0/24"]' }];
    }
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    const parsed: ParsedCidr[] = [];
    list.forEach((value: unknown, i) => {
        const at = `${path}[${i}]`;
        const reason = sourceCidrProblem(value, limits);
        if (reason) {
            problems.push({ path: at, reason });
            return;
        }
        const cidr = parseCidr(value as string) as ParsedCidr;
        if (seen.has(cidr.cidr)) {
            problems.push({
                path: at,
                reason: `${quote(value)} is ${cidr.cidr}, already given as ${path}[${seen.get(cidr.cidr)}]; give each range once (AWS refuses two identical rules)`,
            });
            return;
        }
        seen.set(cidr.cidr, i);
        parsed.push(cidr);
        if (!allowPublic && !isPrivateCidr(cidr)) {
            problems.push({
                path: at,
                reason: `${quote(value)} reaches beyond the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); name the clients' private subnets, or set allowPublicClientCidrs: true if public sources are meant (an AWS VPC's IPv6 ranges are global)`,
            });
        }
    });
    for (const family of ["ipv4", "ipv6"] as const) {
        if (unionCoversAll(parsed, family)) {
            problems.push({
                path,
                reason: `together admit every ${family === "ipv4" ? "IPv4" : "IPv6"} address, the whole internet; name the clients' own subnets`,
            });
        }
    }
    return problems;
}

/** A host firewall knows addresses, not groups: clients admitted only by group would be dropped at the host. */
export function hostFirewallCoverageProblems(v: {
    hostFirewall: unknown;
    clientSecurityGroupIds: unknown[];
    metricsSecurityGroupIds: unknown[];
    hostFirewallClientCidrs: unknown;
    hostFirewallMetricsCidrs: unknown;
    metricsCidrsGiven: boolean;
}): Problem[] {
    const problems: Problem[] = [];
    const list = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
    if (v.hostFirewall !== false) {
        if (list(v.clientSecurityGroupIds).length > 0 && list(v.hostFirewallClientCidrs).length === 0) {
            problems.push({
                path: "hostFirewallClientCidrs",
                reason: "is empty while clientSecurityGroupIds admits clients the host firewall cannot see; list those clients' subnets here (e.g. the control-plane subnets), or set hostFirewall: false",
            });
        }
        if (list(v.metricsSecurityGroupIds).length > 0 && list(v.hostFirewallMetricsCidrs).length === 0) {
            problems.push({
                path: "hostFirewallMetricsCidrs",
                reason: "is empty while metricsSecurityGroupIds admits scrapers the host firewall cannot see; list their subnets here, or set hostFirewall: false",
            });
        }
    }
    if (v.metricsCidrsGiven && list(v.metricsSecurityGroupIds).length === 0) {
        problems.push({
            path: "hostFirewallMetricsCidrs",
            reason: "only applies when metricsSecurityGroupIds exposes metrics; without it metrics stay on loopback. Remove it, or name the monitoring groups",
        });
    }
    return problems;
}

export const NETWORK_RULES: ArgRule<NetworkView>[] = [
    argRule(
        [],
        (_, given) => given.has("vpcId") || given.has("securityGroupId"),
        (placed): Problem[] =>
            placed
                ? []
                : [
                      {
                          path: "vpcId",
                          reason: "is missing; give the members' VPC (a security group is created there), or securityGroupId to add the rules to a group you manage",
                      },
                  ],
    ),
    argRule(
        ["minClientCidrPrefixLength", "minClientCidrPrefixLengthIpv6"],
        (a) => ({ ipv4: a.minClientCidrPrefixLength, ipv6: a.minClientCidrPrefixLengthIpv6 }),
        (v) => prefixLimitProblems(v),
    ),
    argRule(
        ["minClientCidrPrefixLength", "minClientCidrPrefixLengthIpv6", "allowPublicClientCidrs", ...CIDR_LISTS],
        (a, given) => ({
            lists: CIDR_LISTS.filter((k) => k === "clientCidrs" || given.has(k)).map((k) => [k, a[k]] as const),
            ipv4: a.minClientCidrPrefixLength,
            ipv6: a.minClientCidrPrefixLengthIpv6,
            allowPublic: a.allowPublicClientCidrs,
        }),
        (v) => {
            // Invalid limits are reported on their own; the lists are then judged by the defaults.
            const limits =
                prefixLimitProblems(v).length === 0 ? (v as { ipv4: number; ipv6: number }) : DEFAULT_MIN_PREFIX_LENGTH;
            return v.lists.flatMap(([path, list]) => cidrListProblems(path, list, limits, v.allowPublic === true));
        },
    ),
    argRule(
        [
            "hostFirewall",
            "clientSecurityGroupIds",
            "metricsSecurityGroupIds",
            "hostFirewallClientCidrs",
            "hostFirewallMetricsCidrs",
        ],
        // Only the lists' lengths matter, and those are plain even when their items are Outputs.
        (a, given) => ({
            hostFirewall: a.hostFirewall,
            clientSecurityGroupIds: a.clientSecurityGroupIds.map(() => true),
            metricsSecurityGroupIds: a.metricsSecurityGroupIds.map(() => true),
            hostFirewallClientCidrs: a.hostFirewallClientCidrs,
            hostFirewallMetricsCidrs: a.hostFirewallMetricsCidrs,
            metricsCidrsGiven: given.has("hostFirewallMetricsCidrs"),
        }),
        hostFirewallCoverageProblems,
    ),
];
