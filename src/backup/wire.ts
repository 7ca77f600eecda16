// Wires the backup bucket and its key (or the ones given), and the outputs that describe them.
import * as pulumi from "@pulumi/pulumi";
import { KeyPolicyScope, useStatements } from "../access/keyPolicy";
import { allOf } from "../core/outputs";
import { AwsAccount, forAccountAnd } from "../core/account";
import { agentArtifactReadPolicy, NodeAgentArtifact } from "./agentArtifact";
import { backupPrefix } from "./agentConfig";
import { BackupObjectLockMode } from "./args";
import { BackupBucket } from "./backupBucket";
import { backupKeyPolicy } from "./backupPolicies";

export interface BackupInputs {
    backups: boolean;
    backupBucketName?: pulumi.Input<string>;
    backupKmsKeyArn?: pulumi.Input<string>;
    backupRetentionDays: pulumi.Input<number>;
    backupFrequentRetentionDays: pulumi.Input<number>;
    backupNoncurrentVersionRetentionDays: pulumi.Input<number>;
    backupObjectLockMode: BackupObjectLockMode;
    backupObjectLockDays: pulumi.Input<number>;
    backupAccessLogBucketName?: pulumi.Input<string>;
    backupWriterRoleNames: string[];
    backupReaderRoleNames: string[];
    backupVpcEndpointIds: pulumi.Input<string>[];
    keyAdministratorArns: string[];
    kmsKeyDeletionWindowDays: pulumi.Input<number>;
    /** While set, the writer roles (the members') may read and decrypt backups too. */
    restoreFromBackup?: string;
}

export interface BackupOutputs {
    backupBucketName: pulumi.Output<string | undefined>;
    backupBucketArn: pulumi.Output<string | undefined>;
    backupKmsKeyArn: pulumi.Output<string | undefined>;
    backupPrefix: pulumi.Output<string | undefined>;
    backupBucketPolicy: pulumi.Output<string | undefined>;
    backupWriterPolicy: pulumi.Output<string | undefined>;
    backupRestorePolicy: pulumi.Output<string | undefined>;
    /** The backup key's use statements (JSON array): in its policy when created, needed in yours. */
    backupKeyUseStatements: pulumi.Output<string | undefined>;
}

/** The bucket comes before the members: every member's node files name it. */
export function wireBackupBucket(
    parent: pulumi.Resource,
    name: string,
    args: BackupInputs,
    account: AwsAccount,
): { bucket?: BackupBucket; outputs: BackupOutputs } {
    const restoring = args.restoreFromBackup !== undefined;
    // During a restore the members' roles restore too; each role once.
    const readerRoleNames = restoring
        ? [...new Set([...args.backupReaderRoleNames, ...args.backupWriterRoleNames])]
        : args.backupReaderRoleNames;
    const keyPolicy = (scope: KeyPolicyScope, bucketArn: string) =>
        backupKeyPolicy(
            scope,
            {
                administrators: args.keyAdministratorArns,
                writerRoleNames: args.backupWriterRoleNames,
                readerRoleNames,
            },
            {
                bucketArn,
                prefix: backupPrefix(name),
                region: scope.region,
                project: pulumi.getProject(),
                stack: pulumi.getStack(),
                cluster: name,
            },
        );
    const bucket = args.backups
        ? new BackupBucket(
              `${name}-backup`,
              name,
              {
                  bucketName: args.backupBucketName,
                  kmsKeyArn: args.backupKmsKeyArn,
                  keyPolicy: (bucketArn) => forAccountAnd(account, bucketArn, keyPolicy),
                  keyDeletionWindowDays: args.kmsKeyDeletionWindowDays,
                  retentionDays: args.backupRetentionDays,
                  frequentRetentionDays: args.backupFrequentRetentionDays,
                  noncurrentVersionRetentionDays: args.backupNoncurrentVersionRetentionDays,
                  objectLock:
                      args.backupObjectLockMode === BackupObjectLockMode.Off
                          ? undefined
                          : { mode: args.backupObjectLockMode, days: args.backupObjectLockDays },
                  accessLogBucketName: args.backupAccessLogBucketName,
                  partition: account.partition,
                  region: account.region,
                  administratorArns: args.keyAdministratorArns,
                  writerRoleNames: args.backupWriterRoleNames,
                  readerRoleNames: args.backupReaderRoleNames,
                  writersRestore: restoring,
                  vpcEndpointIds: args.backupVpcEndpointIds,
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
            backupKeyUseStatements: bucket
                ? forAccountAnd(account, bucket.bucketArn, (scope, arn) => useStatements(keyPolicy(scope, arn)))
                : none,
        },
    };
}

export interface NodeAgentInputs {
    backups: boolean;
    backupAgentPath: pulumi.Input<string>;
    backupAgentUrl?: pulumi.Input<string>;
    backupAgentSha256?: pulumi.Input<string>;
}

export interface NodeAgentWiring {
    /** What each member's boot script installs; undefined when no artifact was given. */
    artifact: pulumi.Output<NodeAgentArtifact | undefined>;
    /** The IAM policy (JSON) that lets the instance role download it: an s3:// URL only. */
    readPolicy: pulumi.Output<string | undefined>;
}

/** The node agent's artifact, when given (backups on: the rules refuse it otherwise). */
export function wireNodeAgent(args: NodeAgentInputs, account: AwsAccount): NodeAgentWiring {
    if (!args.backups || args.backupAgentUrl === undefined || args.backupAgentSha256 === undefined) {
        const none = pulumi.output(undefined);
        return { artifact: none, readPolicy: none };
    }
    const artifact = allOf([args.backupAgentUrl, args.backupAgentSha256, args.backupAgentPath]).apply(
        ([url, sha256, path]): NodeAgentArtifact => ({ url, sha256: sha256.toLowerCase(), path }),
    );
    return {
        artifact,
        readPolicy: allOf([artifact, account.partition]).apply(([a, partition]) => {
            const policy = agentArtifactReadPolicy({ url: a.url, partition });
            return policy && JSON.stringify(policy);
        }),
    };
}
