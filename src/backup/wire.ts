// Wires the backup bucket and its key (or the ones given), and the outputs that describe them.
import * as pulumi from "@pulumi/pulumi";
import { AwsAccount } from "../core/account";
import { backupPrefix } from "./agentConfig";
import { BackupObjectLockMode } from "./args";
import { BackupBucket } from "./backupBucket";
import { backupKeyPolicy } from "./backupPolicies";

export interface BackupInputs {
    backups: boolean;
    backupBucketName?: pulumi.Input<string>;
    backupKmsKeyArn?: pulumi.Input<string>;
    backupRetentionDays: pulumi.Input<number>;
    backupNoncurrentVersionRetentionDays: pulumi.Input<number>;
    backupObjectLockMode?: BackupObjectLockMode;
    backupObjectLockDays: pulumi.Input<number>;
    backupWriterRoleNames: string[];
    backupReaderRoleNames: string[];
    keyAdministratorArns: string[];
    kmsKeyDeletionWindowDays: pulumi.Input<number>;
}

export interface BackupOutputs {
    backupBucketName: pulumi.Output<string | undefined>;
    backupBucketArn: pulumi.Output<string | undefined>;
    backupKmsKeyArn: pulumi.Output<string | undefined>;
    backupPrefix: pulumi.Output<string | undefined>;
    backupBucketPolicy: pulumi.Output<string | undefined>;
    backupWriterPolicy: pulumi.Output<string | undefined>;
    backupRestorePolicy: pulumi.Output<string | undefined>;
}

/** The bucket comes before the members: every member's node files name it. */
export function wireBackupBucket(
    parent: pulumi.Resource,
    name: string,
    args: BackupInputs,
    account: AwsAccount,
): { bucket?: BackupBucket; outputs: BackupOutputs } {
    const bucket = args.backups
        ? new BackupBucket(
              `${name}-backup`,
              name,
              {
                  bucketName: args.backupBucketName,
                  kmsKeyArn: args.backupKmsKeyArn,
                  keyPolicy: (bucketArn) =>
                      pulumi.all([account.policyScope, bucketArn]).apply(([scope, arn]) =>
                          JSON.stringify(
                              backupKeyPolicy(
                                  scope,
                                  {
                                      administrators: args.keyAdministratorArns,
                                      writerRoleNames: args.backupWriterRoleNames,
                                      readerRoleNames: args.backupReaderRoleNames,
                                  },
                                  { bucketArn: arn, prefix: backupPrefix(name), region: scope.region, cluster: name },
                              ),
                          ),
                      ),
                  keyDeletionWindowDays: args.kmsKeyDeletionWindowDays,
                  retentionDays: args.backupRetentionDays,
                  noncurrentVersionRetentionDays: args.backupNoncurrentVersionRetentionDays,
                  objectLock:
                      args.backupObjectLockMode === undefined
                          ? undefined
                          : { mode: args.backupObjectLockMode, days: args.backupObjectLockDays },
                  partition: account.partition,
                  region: account.region,
                  writerRoleNames: args.backupWriterRoleNames,
                  readerRoleNames: args.backupReaderRoleNames,
              },
              { parent },
          )
        : undefined;
    const none = pulumi.output(undefined);
    return {
        bucket,
        outputs: {
            backupBucketName: bucket?.bucketName ?? none,
            backupBucketArn: bucket?.bucketArn ?? none,
            backupKmsKeyArn: bucket?.kmsKeyArn ?? none,
            backupPrefix: pulumi.output(bucket?.prefix),
            backupBucketPolicy: bucket?.bucketPolicy ?? none,
            backupWriterPolicy: bucket?.writerPolicy ?? none,
            backupRestorePolicy: bucket?.restorePolicy ?? none,
        },
    };
}
