// The AWS account, partition and region the component deploys into, read once through the same
// provider as its resources (an explicit provider reaches these invokes too).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { KeyPolicyScope } from "../access/keyPolicy";
import { allOf } from "./outputs";

export interface AwsAccount {
    region: pulumi.Output<string>;
    partition: pulumi.Output<string>;
    accountId: pulumi.Output<string>;
    /** Partition, account, region and deployer together, joined once for every key policy. */
    policyScope: pulumi.Output<KeyPolicyScope>;
}

export function awsAccount(parent: pulumi.Resource): AwsAccount {
    const opts = { parent };
    const partition = aws.getPartitionOutput({}, opts).partition;
    const caller = aws.getCallerIdentityOutput({}, opts);
    const region = aws.getRegionOutput({}, opts).region;
    return {
        region,
        partition,
        accountId: caller.accountId,
        policyScope: allOf([partition, caller.accountId, region, caller.arn]).apply(
            ([p, accountId, r, deployerArn]) => ({ partition: p, accountId, region: r, deployerArn }),
        ),
    };
}

/** A policy rendered for the account: the renderers take its partition, account, region and deployer. */
export function forAccount(account: AwsAccount, render: (scope: KeyPolicyScope) => unknown): pulumi.Output<string> {
    return account.policyScope.apply((scope) => JSON.stringify(render(scope)));
}

/** The same, for a policy that also names a resource known only once it exists (a bucket, a topic). */
export function forAccountAnd<T>(
    account: AwsAccount,
    value: pulumi.Input<T>,
    render: (scope: KeyPolicyScope, value: pulumi.Unwrap<T>) => unknown,
): pulumi.Output<string> {
    return allOf([account.policyScope, value]).apply(([scope, v]) =>
        JSON.stringify(render(scope, v as pulumi.Unwrap<T>)),
    );
}
