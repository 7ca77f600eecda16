// Resource wiring for network access control: the etcd members' security group (or the caller's),
// with one rule resource per port and source, as planned in networkRules.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ParsedCidr, planSecurityGroupRules, RuleDirection } from "./networkRules";

export interface EtcdSecurityGroupArgs {
    /** Where to create the group; unused when `securityGroupId` is given. */
    vpcId?: pulumi.Input<string>;
    /** An existing group: then only the rules are added to it. */
    securityGroupId?: pulumi.Input<string>;
    clientSecurityGroupIds: pulumi.Input<string>[];
    /** Plain and canonical: one rule per CIDR (validated before this is built). */
    clientCidrs: ParsedCidr[];
    metricsSecurityGroupIds: pulumi.Input<string>[];
}

export class EtcdSecurityGroup extends pulumi.ComponentResource {
    public readonly securityGroupId: pulumi.Output<string>;

    constructor(
        name: string,
        clusterName: string,
        args: EtcdSecurityGroupArgs,
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super("secure-etcd:network:EtcdSecurityGroup", name, {}, opts);
        // No inline rules: the aws provider removes the default allow-all egress rule of a group it
        // creates, so the group admits and sends exactly the rule resources below.
        this.securityGroupId =
            args.securityGroupId !== undefined
                ? pulumi.output(args.securityGroupId)
                : new aws.ec2.SecurityGroup(
                      `${name}-group`,
                      {
                          vpcId: args.vpcId,
                          description: `etcd members of ${clusterName} (secure-etcd): client 2379 and peer 2380 from named sources only`,
                          revokeRulesOnDelete: true,
                          tags: { Name: `${clusterName}-etcd`, "secure-etcd:cluster": clusterName },
                      },
                      { parent: this },
                  ).id;

        const rules = planSecurityGroupRules<pulumi.Input<string>>({
            clientSecurityGroupIds: args.clientSecurityGroupIds,
            clientCidrs: args.clientCidrs,
            metricsSecurityGroupIds: args.metricsSecurityGroupIds,
        });
        for (const rule of rules) {
            const peer =
                "securityGroupId" in rule.peer
                    ? {
                          referencedSecurityGroupId:
                              rule.peer.securityGroupId === "self" ? this.securityGroupId : rule.peer.securityGroupId,
                      }
                    : rule.peer;
            const ruleArgs = {
                securityGroupId: this.securityGroupId,
                ipProtocol: "tcp",
                fromPort: rule.port,
                toPort: rule.port,
                description: rule.description,
                tags: { "secure-etcd:cluster": clusterName },
                ...peer,
            };
            if (rule.direction === RuleDirection.Ingress) {
                new aws.vpc.SecurityGroupIngressRule(`${name}-${rule.id}`, ruleArgs, { parent: this });
            } else {
                new aws.vpc.SecurityGroupEgressRule(`${name}-${rule.id}`, ruleArgs, { parent: this });
            }
        }
        this.registerOutputs({ securityGroupId: this.securityGroupId });
    }
}
