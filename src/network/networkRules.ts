// Who may reach etcd's ports, as pure data: the security-group rules a cluster gets, and the
// predicates that keep sources narrow. The component validates its inputs with these predicates
// and the policy pack checks deployed rules with the same ones.
import * as ipaddr from "ipaddr.js";
import { ETCD_PORTS } from "../manifests/nodeLayout";

/** Narrowest-allowed defaults: a whole VPC at most (AWS caps a VPC at /16, and at /56 for IPv6). */
export const DEFAULT_MIN_PREFIX_LENGTH = { ipv4: 16, ipv6: 56 } as const;

export interface ParsedCidr {
    family: "ipv4" | "ipv6";
    /** Canonical text, e.g. `10.0.2.0/24`. */
    cidr: string;
    prefixLength: number;
}

/**
 * A dotted-quad IPv4 or a zone-less IPv6 address, else undefined: the package's one address
 * grammar for sources (no shorthand such as "10.1", no `%eth0`).
 */
export function parseStrictAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) {
        return ipaddr.IPv4.parse(text);
    }
    return ipaddr.IPv6.isValid(text) && !text.includes("%") ? ipaddr.IPv6.parse(text) : undefined;
}

/** A CIDR (or a bare address, taken as /32 or /128), or the reason it is not one. */
export function parseCidr(value: string): ParsedCidr | string {
    const notCidr = `${JSON.stringify(value)} is not a CIDR; give an IPv4 or IPv6 range such as "10.0.2.0/24"`;
    const [addressText, lengthText, ...rest] = value.split("/");
    // No IPv4-mapped IPv6 either: it arrives as IPv4, so name it as IPv4.
    const address = parseStrictAddress(addressText);
    const strict = address !== undefined && !(address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress());
    if (!strict || rest.length > 0 || (lengthText !== undefined && !/^\d{1,3}$/.test(lengthText))) {
        return notCidr;
    }
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
        parsed = lengthText === undefined ? [ipaddr.parse(addressText), -1] : ipaddr.parseCIDR(value);
    } catch {
        return notCidr;
    }
    const [parsedAddress, given] = parsed;
    const family = parsedAddress.kind();
    const prefixLength = given === -1 ? (family === "ipv4" ? 32 : 128) : given;
    const network =
        family === "ipv4"
            ? ipaddr.IPv4.networkAddressFromCIDR(`${parsedAddress.toString()}/${prefixLength}`)
            : ipaddr.IPv6.networkAddressFromCIDR(`${parsedAddress.toString()}/${prefixLength}`);
    return { family, cidr: `${network.toString()}/${prefixLength}`, prefixLength };
}

/** Whether a source admits the whole internet (0.0.0.0/0 or ::/0). */
export function isOpenToWorld(cidr: string): boolean {
    const parsed = parseCidr(cidr);
    return typeof parsed !== "string" && parsed.prefixLength === 0;
}

/**
 * Why a CIDR may not be a source for etcd's ports, or undefined. Sources wider than the limit
 * (and the whole internet, always) are refused: etcd holds every secret of the cluster.
 */
export function sourceCidrProblem(
    value: unknown,
    minPrefixLength: { ipv4: number; ipv6: number } = DEFAULT_MIN_PREFIX_LENGTH,
): string | undefined {
    if (typeof value !== "string") {
        return `${JSON.stringify(value)} is not a CIDR; give a range such as "10.0.2.0/24"`;
    }
    const parsed = parseCidr(value);
    if (typeof parsed === "string") {
        return parsed;
    }
    if (isOpenToWorld(value)) {
        return `${JSON.stringify(value)} admits the whole internet; name the clients' subnets (e.g. "10.0.2.0/24") or their security groups instead`;
    }
    const limit = minPrefixLength[parsed.family];
    if (parsed.prefixLength < limit) {
        return `${JSON.stringify(value)} is wider than /${limit}; name the clients' own subnets, or raise the limit (minClientCidrPrefixLength${parsed.family === "ipv6" ? "Ipv6" : ""}) if that is really meant`;
    }
    return undefined;
}

export enum RuleDirection {
    Ingress = "ingress",
    Egress = "egress",
}

/** One security-group rule: one port, one source or destination. */
export interface PlannedRule<T> {
    /** Stable resource-name suffix, e.g. `client-sg-0`: never renamed (state would replace it). */
    id: string;
    direction: RuleDirection;
    port: number;
    /** `self` for the etcd group itself. */
    peer: { securityGroupId: T | "self" } | { cidrIpv4: string } | { cidrIpv6: string };
    description: string;
}

export interface RulePlanInput<T> {
    clientSecurityGroupIds: T[];
    /** Already canonical (`parseCidr`). */
    clientCidrs: ParsedCidr[];
    metricsSecurityGroupIds: T[];
}

/**
 * The rule set of the etcd security group. 2379 from the named clients and the members; 2380 from
 * the members only; 2381 only for a named monitoring group; egress only between members (the node's
 * own groups carry its general egress).
 */
export function planSecurityGroupRules<T>(input: RulePlanInput<T>): PlannedRule<T>[] {
    const { client, peer, metrics } = ETCD_PORTS;
    const rules: PlannedRule<T>[] = [
        {
            id: "client-self",
            direction: RuleDirection.Ingress,
            port: client,
            peer: { securityGroupId: "self" },
            description: `etcd clients (${client}) from the etcd members themselves`,
        },
        ...input.clientSecurityGroupIds.map((securityGroupId, i): PlannedRule<T> => ({
            id: `client-sg-${i}`,
            direction: RuleDirection.Ingress,
            port: client,
            peer: { securityGroupId },
            description: `etcd clients (${client}) from clientSecurityGroupIds[${i}], e.g. kube-apiserver nodes`,
        })),
        ...input.clientCidrs.map((c, i): PlannedRule<T> => ({
            id: `client-cidr-${i}`,
            direction: RuleDirection.Ingress,
            port: client,
            peer: c.family === "ipv4" ? { cidrIpv4: c.cidr } : { cidrIpv6: c.cidr },
            description: `etcd clients (${client}) from clientCidrs[${i}] ${c.cidr}`,
        })),
        {
            id: "peer-self",
            direction: RuleDirection.Ingress,
            port: peer,
            peer: { securityGroupId: "self" },
            description: `etcd peer traffic (${peer}) between members only`,
        },
        ...input.metricsSecurityGroupIds.map((securityGroupId, i): PlannedRule<T> => ({
            id: `metrics-sg-${i}`,
            direction: RuleDirection.Ingress,
            port: metrics,
            peer: { securityGroupId },
            description: `etcd metrics and health (${metrics}, plain HTTP) from metricsSecurityGroupIds[${i}]`,
        })),
        {
            id: "egress-client-self",
            direction: RuleDirection.Egress,
            port: client,
            peer: { securityGroupId: "self" },
            description: `etcd members reach each other's client port (${client})`,
        },
        {
            id: "egress-peer-self",
            direction: RuleDirection.Egress,
            port: peer,
            peer: { securityGroupId: "self" },
            description: `etcd members reach each other's peer port (${peer})`,
        },
    ];
    return rules;
}
