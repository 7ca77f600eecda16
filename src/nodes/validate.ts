// Rules for the members: names, DNS names and addresses, across members too, for plain values and
// for addresses that arrive as Outputs alike.
import { argRule, ArgRule } from "../core/rules";
import { addressScope, isDns1123Label, isDns1123Subdomain, parseUnicastText } from "../core/predicates";
import { Problem, quote } from "../core/problems";
import { MAX_MEMBERS, MAX_MEMBERSHIP_CREDENTIAL_HOURS } from "./args";
import { MEMBERSHIP_USER } from "./membership";
import { NODE_SYNC_INTERVALS } from "./nodeSync";

/** The part of the resolved arguments the member rules read. */
interface MemberView {
    members: { name: string; ip: unknown; dnsNames: unknown }[];
    allowPublicMemberIps: boolean;
    nodeSync: unknown;
    nodeSyncIntervalMinutes: unknown;
    membershipCredentialHours: unknown;
}

export function nodeSyncProblems(on: unknown, intervalMinutes: unknown): Problem[] {
    const problems: Problem[] = [];
    if (typeof on !== "boolean") {
        problems.push({ path: "nodeSync", reason: `${quote(on)} is not true or false` });
    }
    if (!(NODE_SYNC_INTERVALS as readonly unknown[]).includes(intervalMinutes)) {
        problems.push({
            path: "nodeSyncIntervalMinutes",
            reason: `${quote(intervalMinutes)} does not divide an hour, so the timer could not fire on the clock; use one of ${NODE_SYNC_INTERVALS.join(", ")} (e.g. 5)`,
        });
    }
    return problems;
}

export function memberNameProblems(names: unknown[]): Problem[] {
    if (names.length === 0) {
        return [
            {
                path: "members",
                reason: 'is empty; give 1 to 9 members, e.g. [{ name: "etcd-0", ip: "10.0.1.10" }] (3 or 5 for production)',
            },
        ];
    }
    const problems: Problem[] = [];
    if (names.length > MAX_MEMBERS) {
        problems.push({
            path: "members",
            reason: `has ${names.length} members; etcd clusters larger than ${MAX_MEMBERS} slow every write, use 3, 5 or 7`,
        });
    }
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
        if (!isDns1123Label(name)) {
            problems.push({
                path: `members[${i}].name`,
                reason: `${quote(name)} is not a DNS-1123 label; use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. "etcd-${i}"`,
            });
        } else if (seen.has(name)) {
            problems.push({
                path: `members[${i}].name`,
                reason: `${quote(name)} is already the name of members[${seen.get(name)}]; give every member a unique name`,
            });
        } else {
            seen.set(name, i);
        }
    });
    return problems;
}

export function memberDnsNameProblems(index: number, dnsNames: unknown): Problem[] {
    if (!Array.isArray(dnsNames)) {
        return [
            { path: `members[${index}].dnsNames`, reason: 'must be a list of DNS names, e.g. ["etcd-0.internal"]' },
        ];
    }
    return dnsNames.flatMap((dns: unknown, j) =>
        isDns1123Subdomain(dns)
            ? []
            : [
                  {
                      path: `members[${index}].dnsNames[${j}]`,
                      reason: `${quote(dns)} is not a DNS name; use lowercase labels of letters, digits and '-' separated by dots, without wildcards, e.g. "etcd-0.internal"`,
                  },
              ],
    );
}

/** Why one member address is unusable on its own, or undefined. */
export function memberIpProblem(ip: unknown, allowPublic: boolean): string | undefined {
    if (ip === undefined || ip === null || ip === "") {
        return "is missing; give the member's private IP address";
    }
    const address = typeof ip === "string" ? parseUnicastText(ip) : undefined;
    if (!address) {
        return `${quote(ip)} is not an IPv4 or IPv6 address; give the member's private address, e.g. "10.0.1.10"`;
    }
    switch (addressScope(address)) {
        case "unusable":
            return `${quote(ip)} is a ${address.range()} address, which no host can be reached at; give the member's own private address`;
        case "link-local":
            return `${quote(ip)} is link-local: it is not routed, so peers on other hosts cannot reach it; give the member's private VPC address`;
        case "public":
            return allowPublic
                ? undefined
                : `${quote(ip)} is a public address, and etcd's ports belong inside the VPC; give the member's private address, or set allowPublicMemberIps: true if the address is meant (an AWS VPC's IPv6 addresses are global)`;
        default:
            return undefined;
    }
}

/** Each address on its own, then across members: no duplicates, and loopback only for a single-host cluster. */
export function memberAddressProblems(ips: unknown[], allowPublic: boolean): Problem[] {
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    const loopback: number[] = [];
    ips.forEach((ip, i) => {
        const reason = memberIpProblem(ip, allowPublic);
        if (reason) {
            problems.push({ path: `members[${i}].ip`, reason });
            return;
        }
        const address = parseUnicastText(ip as string)!;
        const canonical = address.toNormalizedString();
        if (seen.has(canonical)) {
            problems.push({
                path: `members[${i}].ip`,
                reason: `${quote(ip)} is already the address of members[${seen.get(canonical)}]; each member needs a host of its own`,
            });
        } else {
            seen.set(canonical, i);
        }
        if (addressScope(address) === "loopback") {
            loopback.push(i);
        }
    });
    // Loopback members are a local cluster on one host (the demo, the tests); beside members on
    // other hosts, a loopback address is one those hosts can never reach.
    if (loopback.length > 0 && loopback.length < seen.size) {
        for (const i of loopback) {
            problems.push({
                path: `members[${i}].ip`,
                reason: `${quote(ips[i])} is a loopback address while other members are on other hosts, which cannot reach it; give the member's private VPC address`,
            });
        }
    }
    return problems;
}

export const MEMBER_RULES: ArgRule<MemberView>[] = [
    argRule(
        ["members"],
        (a) => a.members.map((m) => m.name),
        (names) => memberNameProblems(names),
    ),
    argRule(
        ["members"],
        (a) => a.members.map((m) => m.dnsNames),
        (lists) => lists.flatMap((dns, i) => memberDnsNameProblems(i, dns)),
    ),
    argRule(
        ["members", "allowPublicMemberIps"],
        (a) => ({ ips: a.members.map((m) => m.ip), allowPublic: a.allowPublicMemberIps }),
        ({ ips, allowPublic }) => memberAddressProblems(ips, allowPublic === true),
    ),
    argRule(
        ["nodeSync", "nodeSyncIntervalMinutes"],
        (a) => [a.nodeSync, a.nodeSyncIntervalMinutes] as const,
        ([on, interval]) => nodeSyncProblems(on, interval),
    ),
    argRule(
        ["membershipCredentialHours"],
        (a) => a.membershipCredentialHours,
        (hours) =>
            Number.isInteger(hours) && (hours as number) >= 1 && (hours as number) <= MAX_MEMBERSHIP_CREDENTIAL_HOURS
                ? []
                : [
                      {
                          path: "membershipCredentialHours",
                          reason: `${quote(hours)} is not a whole number of hours from 1 to ${MAX_MEMBERSHIP_CREDENTIAL_HOURS}; give the time a new instance needs to boot, e.g. 24`,
                      },
                  ],
    ),
    argRule(
        ["members"],
        (a) => a.members.map((m) => m.name),
        (names) =>
            names.includes(MEMBERSHIP_USER)
                ? [
                      {
                          path: "members",
                          reason: `${quote(MEMBERSHIP_USER)} is the etcd user that changes membership; name the member otherwise`,
                      },
                  ]
                : [],
    ),
];
