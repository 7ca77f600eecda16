// Wires network access control: the members' security group (created, or rules on the one given).
import * as pulumi from "@pulumi/pulumi";
import { EtcdSecurityGroup } from "./etcdSecurityGroup";
import { parseCidr, ParsedCidr } from "./networkRules";

export interface NetworkInputs {
    vpcId?: pulumi.Input<string>;
    securityGroupId?: pulumi.Input<string>;
    clientSecurityGroupIds: pulumi.Input<string>[];
    clientCidrs: string[];
    metricsSecurityGroupIds: pulumi.Input<string>[];
}

export interface NetworkOutputs {
    securityGroupId: pulumi.Output<string>;
}

export function wireNetwork(parent: pulumi.Resource, name: string, args: NetworkInputs): NetworkOutputs {
    const group = new EtcdSecurityGroup(
        `${name}-network`,
        name,
        {
            vpcId: args.vpcId,
            securityGroupId: args.securityGroupId,
            clientSecurityGroupIds: args.clientSecurityGroupIds,
            // Validated before this runs: every CIDR parses.
            clientCidrs: args.clientCidrs.map((c) => parseCidr(c) as ParsedCidr),
            metricsSecurityGroupIds: args.metricsSecurityGroupIds,
        },
        { parent },
    );
    return { securityGroupId: group.securityGroupId };
}
