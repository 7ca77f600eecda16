// Ingress in its three AWS spellings (a vpc.SecurityGroupIngressRule, an ec2.SecurityGroupRule of type
// ingress, an inline `ingress` block of an ec2.SecurityGroup) seen as one shape: protocol, port range
// and sources, each possibly unknown during a preview.
import { TYPES } from "./types";
import { Props, Read, readArray, readBoolean, readNumber, readObject, readString, UNKNOWN, Unknown } from "./values";

/** A known source, or one not known yet. */
export type Source = string | Unknown;

const isSource = (v: Read<string>): v is Source => v !== undefined;

export interface IngressView {
    /** How the rule is named in a message, e.g. `inline ingress[1]`. */
    label: string;
    protocol: Read<string>;
    fromPort: Read<number>;
    toPort: Read<number>;
    /** IPv4 and IPv6 sources. */
    cidrs: Source[];
    /** `self: true` (ec2 rules and inline blocks). */
    self: Read<boolean>;
    /** Source security groups: referencedSecurityGroupId, sourceSecurityGroupId, or an inline block's securityGroups. */
    groups: Source[];
    prefixLists: Source[];
}

/** A list property as its items; a whole unknown list becomes one unknown item. */
function items(value: unknown): Source[] {
    const list = readArray(value);
    if (list === UNKNOWN) {
        return [UNKNOWN];
    }
    return (list ?? []).map(readString).filter(isSource);
}

function single(value: unknown): Source[] {
    const v = readString(value);
    return v === undefined ? [] : [v];
}

/** Every ingress a resource declares; [] for other resources and for egress. */
export function ingressOf(type: string, props: Props): IngressView[] | Unknown {
    switch (type) {
        case TYPES.ingressRule:
            return [
                {
                    label: "ingress rule",
                    protocol: readString(props.ipProtocol),
                    fromPort: readNumber(props.fromPort),
                    toPort: readNumber(props.toPort),
                    cidrs: [...single(props.cidrIpv4), ...single(props.cidrIpv6)],
                    self: false,
                    groups: single(props.referencedSecurityGroupId),
                    prefixLists: single(props.prefixListId),
                },
            ];
        case TYPES.securityGroupRule: {
            const direction = readString(props.type);
            if (direction === UNKNOWN) {
                return UNKNOWN;
            }
            if (direction !== "ingress") {
                return [];
            }
            return [
                {
                    label: "security-group rule",
                    protocol: readString(props.protocol),
                    fromPort: readNumber(props.fromPort),
                    toPort: readNumber(props.toPort),
                    cidrs: [...items(props.cidrBlocks), ...items(props.ipv6CidrBlocks)],
                    self: readBoolean(props.self),
                    groups: single(props.sourceSecurityGroupId),
                    prefixLists: items(props.prefixListIds),
                },
            ];
        }
        case TYPES.securityGroup: {
            const blocks = readArray(props.ingress);
            if (blocks === UNKNOWN) {
                return UNKNOWN;
            }
            return (blocks ?? []).map((block, i): IngressView => {
                const b = readObject(block);
                const p: Props = b === UNKNOWN || b === undefined ? {} : b;
                const all = b === UNKNOWN ? UNKNOWN : undefined;
                return {
                    label: `inline ingress[${i}]`,
                    protocol: all ?? readString(p.protocol),
                    fromPort: all ?? readNumber(p.fromPort),
                    toPort: all ?? readNumber(p.toPort),
                    cidrs: all ? [UNKNOWN] : [...items(p.cidrBlocks), ...items(p.ipv6CidrBlocks)],
                    self: all ?? readBoolean(p.self),
                    groups: all ? [UNKNOWN] : items(p.securityGroups),
                    prefixLists: all ? [UNKNOWN] : items(p.prefixListIds),
                };
            });
        }
        default:
            return [];
    }
}

/** Whether a rule admits TCP to a port: true, false, or UNKNOWN when the protocol or range is not known yet. */
export function coversPort(rule: IngressView, port: number): boolean | Unknown {
    if (rule.protocol === UNKNOWN) {
        return UNKNOWN;
    }
    const protocol = (rule.protocol ?? "").toLowerCase();
    if (protocol === "-1" || protocol === "all") {
        return true;
    }
    if (protocol !== "tcp" && protocol !== "6") {
        return false;
    }
    if (rule.fromPort === UNKNOWN || rule.toPort === UNKNOWN) {
        return UNKNOWN;
    }
    if (rule.fromPort === undefined || rule.toPort === undefined) {
        return false;
    }
    return rule.fromPort <= port && port <= rule.toPort;
}
