// The AWS account, partition and region the component deploys into, read once through the same
// provider as its resources (an explicit provider reaches these invokes too).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AwsAccount {
    region: pulumi.Output<string>;
    partition: pulumi.Output<string>;
    accountId: pulumi.Output<string>;
    /** Partition and account id together, joined once for every key policy. */
    policyScope: pulumi.Output<PolicyScope>;
}

export interface PolicyScope {
    partition: string;
    accountId: string;
}

export function awsAccount(parent: pulumi.Resource): AwsAccount {
    const opts = { parent };
    const partition = aws.getPartitionOutput({}, opts).partition;
    const accountId = aws.getCallerIdentityOutput({}, opts).accountId;
    return {
        region: aws.getRegionOutput({}, opts).region,
        partition,
        accountId,
        policyScope: pulumi.all([partition, accountId]).apply(([p, a]) => ({ partition: p, accountId: a })),
    };
}

/** A key policy rendered for the account: the renderers take the partition and account id. */
export function forAccount(account: AwsAccount, render: (scope: PolicyScope) => unknown): pulumi.Output<string> {
    return account.policyScope.apply((scope) => JSON.stringify(render(scope)));
}
