// etcd's ports (client 2379, peer 2380, metrics 2381) are never reachable from the whole internet, in
// any security group of the stack, however the rule is spelled. Resource-level: it stops the rule
// before it is created. The whole-internet test and its wording are the component's own
// (sourceCidrProblem), so a rule the component would refuse as an argument is refused here too.
import { ETCD_PORTS } from "secure-etcd/rules";
import { isOpenToWorld, parseCidr, sourceCidrProblem } from "secure-etcd/rules";
import { numberListSetting, numberSetting } from "../lib/config";
import { coversPort, ingressOf } from "../lib/ingress";
import { EtcdResourcePolicy, TYPES } from "../lib/types";
import { plainProps, UNKNOWN } from "../lib/values";

const APPLIES_TO: string[] = [TYPES.ingressRule, TYPES.securityGroupRule, TYPES.securityGroup];
const DEFAULT_PORTS = [ETCD_PORTS.client, ETCD_PORTS.peer, ETCD_PORTS.metrics];

export const etcdPortsNotOpenToWorld: EtcdResourcePolicy = {
    name: "etcd-ports-not-open-to-world",
    description:
        "Security-group ingress never admits 0.0.0.0/0 or ::/0 (or, if configured, any source wider than a prefix length) to etcd's ports 2379, 2380 and 2381.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Admit etcd clients by their security groups (clientSecurityGroupIds) or their own subnets (clientCidrs); peers only from the etcd group itself.",
    configSchema: {
        properties: {
            ports: {
                type: "array",
                items: { type: "integer", minimum: 1, maximum: 65535 },
                default: DEFAULT_PORTS,
                description: "The ports to protect.",
            },
            minPrefixLengthIpv4: {
                type: "integer",
                minimum: 0,
                maximum: 32,
                default: 0,
                description: "Refuse IPv4 sources wider than this prefix length (0: only 0.0.0.0/0 is refused).",
            },
            minPrefixLengthIpv6: {
                type: "integer",
                minimum: 0,
                maximum: 128,
                default: 0,
                description: "Refuse IPv6 sources wider than this prefix length (0: only ::/0 is refused).",
            },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!APPLIES_TO.includes(args.type)) {
            args.notApplicable("applies to security groups and their ingress rules");
        }
        const config = args.getConfig();
        const ports = numberListSetting(config, "ports", DEFAULT_PORTS);
        const limits = {
            ipv4: numberSetting(config, "minPrefixLengthIpv4", 0),
            ipv6: numberSetting(config, "minPrefixLengthIpv6", 0),
        };
        const rules = ingressOf(args.type, plainProps(args.props));
        if (rules === UNKNOWN) {
            return; // Direction or blocks not known yet: checked when they are.
        }
        for (const rule of rules) {
            const covered = ports.filter((port) => coversPort(rule, port) === true);
            if (covered.length === 0) {
                continue;
            }
            const which = covered.length === 1 ? `port ${covered[0]}` : `ports ${covered.join(", ")}`;
            for (const cidr of rule.cidrs) {
                const parsed = cidr === UNKNOWN ? undefined : parseCidr(cidr);
                if (cidr === UNKNOWN || parsed === undefined || typeof parsed === "string") {
                    continue; // Unknown, or not a CIDR at all (the provider refuses those).
                }
                if (isOpenToWorld(cidr)) {
                    // The component's own wording for the same refusal.
                    reportViolation(`The ${rule.label} opens etcd ${which} to ${cidr}: ${sourceCidrProblem(cidr)}.`);
                } else if (parsed.prefixLength < limits[parsed.family]) {
                    const setting = parsed.family === "ipv4" ? "minPrefixLengthIpv4" : "minPrefixLengthIpv6";
                    reportViolation(
                        `The ${rule.label} opens etcd ${which} to ${cidr}, wider than /${limits[parsed.family]} (this policy's ${setting}); name the clients' own subnets or their security groups instead.`,
                    );
                }
            }
        }
    },
};
