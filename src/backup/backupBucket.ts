// Resource wiring for backups: a hardened S3 bucket under a KMS key of its own (or the caller's
// bucket and key), the rendered policies, and optionally those policies attached to named roles.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import * as random from "@pulumi/random";
import { BackupObjectLockMode } from "./args";
import { backupPrefix, BackupTiers, DAILY_TIER, FREQUENT_TIER, UNTIERED_KEY_START } from "./agentConfig";
import {
    backupBucketPolicy,
    BackupPolicyInput,
    backupRestorePolicy,
    combinePolicies,
    backupWriterPolicy,
    DailyLock,
} from "./backupPolicies";
import { BUCKET_SUFFIX_BYTES, derivedBucketName } from "./bucketNaming";

export interface BackupBucketArgs {
    /** An existing bucket: then no bucket resources are created, only the policies rendered. */
    bucketName?: pulumi.Input<string>;
    /** An existing key ARN, else a key is created with `keyPolicy`. */
    kmsKeyArn?: pulumi.Input<string>;
    /** The key's policy, given the bucket's ARN (its users' conditions name the bucket). */
    keyPolicy: (bucketArn: pulumi.Output<string>) => pulumi.Input<string>;
    keyDeletionWindowDays: pulumi.Input<number>;
    /**
     * Created bucket only: days until a backup of the daily tier (and one written before tiers)
     * expires, until one of the frequent tier does, and then until its version is deleted.
     */
    retentionDays: pulumi.Input<number>;
    frequentRetentionDays: pulumi.Input<number>;
    noncurrentVersionRetentionDays: pulumi.Input<number>;
    /** Created bucket only: Object Lock's default retention. */
    objectLock?: { mode: Exclude<BackupObjectLockMode, BackupObjectLockMode.Off>; days: pulumi.Input<number> };
    /** Created bucket only: an existing bucket for its S3 server access logs. */
    accessLogBucketName?: pulumi.Input<string>;
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** Who may delete backups and change their retention by hand (`aws:PrincipalArn` patterns). */
    administratorArns: string[];
    /** Plain: one inline policy per role. */
    writerRoleNames: string[];
    readerRoleNames: string[];
    /** A whole-cluster restore is requested: the writer roles' inline policy includes the restore policy. */
    writersRestore?: boolean;
    /** S3 VPC endpoints: object operations only through them (the bucket policy says so). */
    vpcEndpointIds: pulumi.Input<string>[];
}

export class BackupBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    /** The cluster's object-key prefix, e.g. `etcd-backups/prod/`. */
    public readonly prefix: string;
    /** JSON documents. */
    public readonly bucketPolicy: pulumi.Output<string>;
    public readonly writerPolicy: pulumi.Output<string>;
    public readonly restorePolicy: pulumi.Output<string>;
    /** What every member's agent is told about the tiers (the daily lock only on a bucket created with one). */
    public readonly tiers: pulumi.Output<BackupTiers>;

    constructor(name: string, clusterName: string, args: BackupBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("secure-etcd:backup:BackupBucket", name, {}, opts);
        // Backups must outlive the cluster they protect: removing the component (or turning
        // backups off) leaves the bucket as configured, its key and its lifecycle in the account.
        // Nothing is force-deleted: a bucket with backups in it is never emptied by `destroy`.
        const kept = { parent: this, retainOnDelete: true };
        const tags = { "secure-etcd:cluster": clusterName };
        this.prefix = backupPrefix(clusterName);

        let bucket: aws.s3.Bucket | undefined;
        if (args.bucketName !== undefined) {
            this.bucketName = pulumi.output(args.bucketName);
            this.bucketArn = pulumi.interpolate`arn:${args.partition}:s3:::${this.bucketName}`;
        } else {
            // Bucket names are global across AWS: a random part, so two clusters (in one stack
            // or anywhere) never collide, and a re-created cluster gets a fresh name.
            const suffix = new random.RandomId(`${name}-suffix`, { byteLength: BUCKET_SUFFIX_BYTES }, { parent: this });
            bucket = new aws.s3.Bucket(
                `${name}-bucket`,
                {
                    bucket: suffix.hex.apply((hex) => derivedBucketName(clusterName, hex)),
                    forceDestroy: false,
                    tags,
                },
                kept,
            );
            this.bucketName = bucket.bucket;
            this.bucketArn = bucket.arn;
        }

        this.kmsKeyArn =
            args.kmsKeyArn !== undefined
                ? pulumi.output(args.kmsKeyArn)
                : new aws.kms.Key(
                      `${name}-kms-key`,
                      {
                          description: `etcd backups of cluster ${clusterName}: envelope and SSE-KMS (secure-etcd)`,
                          keyUsage: "ENCRYPT_DECRYPT",
                          customerMasterKeySpec: "SYMMETRIC_DEFAULT",
                          enableKeyRotation: true,
                          deletionWindowInDays: args.keyDeletionWindowDays,
                          policy: args.keyPolicy(this.bucketArn),
                          tags,
                      },
                      kept,
                  ).arn;

        const dailyLock = dailyLockOf(args);
        this.tiers = dailyLock.apply((lock): BackupTiers => (lock ? { dailyLock: lock } : {}));
        const policyInput = policyInputOf(clusterName, this, args, dailyLock);
        this.bucketPolicy = policyInput.apply((p) => JSON.stringify(backupBucketPolicy(p)));
        this.writerPolicy = policyInput.apply((p) => JSON.stringify(backupWriterPolicy(p)));
        this.restorePolicy = policyInput.apply((p) => JSON.stringify(backupRestorePolicy(p)));

        if (bucket !== undefined) {
            this.configureBucket(name, bucket, args, kept);
        }

        // Inline policies: they go when the role or this component goes, and are named after the
        // cluster, so two clusters' policies on one role do not replace each other.
        const attach = (kind: string, roles: string[], document: pulumi.Output<string>) => {
            for (const role of roles) {
                new aws.iam.RolePolicy(
                    `${name}-${kind}-${role}`,
                    { role, name: `secure-etcd-${clusterName.slice(0, 80)}-backup-${kind}`, policy: document },
                    { parent: this },
                );
            }
        };
        attach(
            "writer",
            args.writerRoleNames,
            args.writersRestore
                ? policyInput.apply((p) =>
                      JSON.stringify(combinePolicies(backupWriterPolicy(p), backupRestorePolicy(p))),
                  )
                : this.writerPolicy,
        );
        attach("reader", args.readerRoleNames, this.restorePolicy);

        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            kmsKeyArn: this.kmsKeyArn,
        });
    }

    private configureBucket(
        name: string,
        bucket: aws.s3.Bucket,
        args: BackupBucketArgs,
        kept: pulumi.CustomResourceOptions,
    ): void {
        const versioning = new aws.s3.BucketVersioning(
            `${name}-versioning`,
            { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
            kept,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            {
                bucket: bucket.id,
                rules: [
                    {
                        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKeyArn },
                        // One KMS call per bucket key rather than per object: cheaper, and fewer throttles.
                        bucketKeyEnabled: true,
                        blockedEncryptionTypes: ["SSE-C"],
                    },
                ],
            },
            kept,
        );
        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            },
            kept,
        );
        // ACLs off: the bucket owner owns every object, and access is decided by policies alone.
        if (args.accessLogBucketName !== undefined) {
            accessLogging(name, bucket, args.accessLogBucketName, kept);
        }
        new aws.s3.BucketOwnershipControls(
            `${name}-ownership`,
            { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
            kept,
        );
        // After the public access block: S3 refuses policy changes while it is being applied.
        new aws.s3.BucketPolicy(
            `${name}-policy`,
            { bucket: bucket.id, policy: this.bucketPolicy },
            { ...kept, dependsOn: [publicAccessBlock] },
        );
        new aws.s3.BucketLifecycleConfiguration(
            `${name}-lifecycle`,
            { bucket: bucket.id, rules: lifecycleRules(this.prefix, args) },
            { ...kept, dependsOn: [versioning] },
        );
        if (args.objectLock !== undefined) {
            // Enabled by this resource rather than by the bucket's objectLockEnabled, which only
            // takes effect at creation: turning the lock on later must not replace a bucket full
            // of backups. S3 needs versioning on first.
            new aws.s3.BucketObjectLockConfiguration(
                `${name}-object-lock`,
                {
                    bucket: bucket.id,
                    objectLockEnabled: "Enabled",
                    rule: { defaultRetention: { mode: args.objectLock.mode, days: args.objectLock.days } },
                },
                { ...kept, dependsOn: [versioning] },
            );
        }
    }
}

/** What the policies are rendered from, once every name and ARN is known. */
function policyInputOf(
    clusterName: string,
    bucket: Pick<BackupBucket, "bucketArn" | "kmsKeyArn" | "prefix">,
    args: BackupBucketArgs,
    dailyLock: pulumi.Output<DailyLock | undefined>,
): pulumi.Output<BackupPolicyInput> {
    return allOf([bucket.bucketArn, bucket.kmsKeyArn, args.region, allOf(args.vpcEndpointIds), dailyLock]).apply(
        ([bucketArn, kmsKeyArn, region, vpcEndpointIds, lock]): BackupPolicyInput => ({
            bucketArn,
            prefix: bucket.prefix,
            kmsKeyArn,
            project: pulumi.getProject(),
            stack: pulumi.getStack(),
            region,
            cluster: clusterName,
            administratorArns: args.administratorArns,
            vpcEndpointIds,
            ...(lock ? { dailyLock: lock } : {}),
        }),
    );
}

/**
 * The daily tier's lock: the bucket's mode, for as long as a daily backup stays current or the
 * bucket's default lock, whichever is longer. None without Object Lock or on a bucket you bring
 * (whose lock this component does not know).
 */
function dailyLockOf(args: BackupBucketArgs): pulumi.Output<DailyLock | undefined> {
    const lock = args.objectLock;
    if (lock === undefined || args.bucketName !== undefined) {
        return pulumi.output(undefined);
    }
    return allOf([args.retentionDays, lock.days]).apply(([retention, days]) => ({
        mode: lock.mode,
        days: Math.max(retention, days),
    }));
}

/**
 * One lifecycle rule per tier, each on its own folder, so neither overlaps the other (overlapping
 * expirations: S3 applies the shorter). Backups written before tiers lie directly under the prefix,
 * in folders named by their year: their rule filters on the year's first digit, so it matches
 * neither tier, and they expire on the schedule they were written under.
 */
export function lifecycleRules(
    prefix: string,
    days: Pick<BackupBucketArgs, "retentionDays" | "frequentRetentionDays" | "noncurrentVersionRetentionDays">,
) {
    const rule = (id: string, filterPrefix: string, expirationDays: pulumi.Input<number>) => ({
        id,
        status: "Enabled",
        filter: { prefix: filterPrefix },
        // With Days, S3 also removes delete markers that no version is left behind.
        expiration: { days: expirationDays },
        noncurrentVersionExpiration: { noncurrentDays: days.noncurrentVersionRetentionDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
    });
    return [
        rule("expire-frequent-backups", `${prefix}${FREQUENT_TIER}`, days.frequentRetentionDays),
        rule("expire-daily-backups", `${prefix}${DAILY_TIER}`, days.retentionDays),
        rule("expire-backups-before-tiers", `${prefix}${UNTIERED_KEY_START}`, days.retentionDays),
    ];
}

/** Every request to the backups, who made it and its result, in a bucket of the caller's. */
function accessLogging(
    name: string,
    bucket: aws.s3.Bucket,
    logBucketName: pulumi.Input<string>,
    kept: pulumi.CustomResourceOptions,
): void {
    new aws.s3.BucketLogging(
        `${name}-access-logging`,
        { bucket: bucket.id, targetBucket: logBucketName, targetPrefix: pulumi.interpolate`${bucket.bucket}/` },
        kept,
    );
}
