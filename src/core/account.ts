// The AWS account, partition and region the component deploys into, read once through the same
// provider as its resources (an explicit provider reaches these invokes too).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AwsAccount {
    region: pulumi.Output<string>;
    partition: pulumi.Output<string>;
    accountId: pulumi.Output<string>;
}

export function awsAccount(parent: pulumi.Resource): AwsAccount {
    const opts = { parent };
    return {
        region: aws.getRegionOutput({}, opts).region,
        partition: aws.getPartitionOutput({}, opts).partition,
        accountId: aws.getCallerIdentityOutput({}, opts).accountId,
    };
}

/** A key policy rendered for the account: the renderers take the partition and account id. */
export function forAccount(
    account: AwsAccount,
    render: (a: { partition: string; accountId: string }) => unknown,
): pulumi.Output<string> {
    return pulumi
        .all([account.partition, account.accountId])
        .apply(([partition, accountId]) => JSON.stringify(render({ partition, accountId })));
}

/** An output record from a record of per-entry outputs. */
export function recordOf<T, U>(
    entries: Record<string, T>,
    toOutput: (entry: T, key: string) => pulumi.Input<U>,
): pulumi.Output<Record<string, U>> {
    const outputs: Record<string, pulumi.Input<U>> = {};
    for (const [key, entry] of Object.entries(entries)) {
        outputs[key] = toOutput(entry, key);
    }
    return pulumi.all(outputs) as pulumi.Output<Record<string, U>>;
}
