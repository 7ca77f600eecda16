// Encrypted backups: the bucket, its key and lifecycle, and the agent's schedule on every member.
import * as pulumi from "@pulumi/pulumi";

/** How S3 Object Lock protects each backup version for `backupObjectLockDays`. */
export enum BackupObjectLockMode {
    /**
     * Principals with `s3:BypassGovernanceRetention` can still shorten or lift a lock: protects from
     * mistakes and from a compromised writer, while an administrator can clean up.
     */
    Governance = "GOVERNANCE",
    /** Nobody, not even the account's root user, can delete a locked version or shorten its lock. */
    Compliance = "COMPLIANCE",
    /** No Object Lock: a version can be deleted by whoever may delete it. */
    Off = "OFF",
}

export interface BackupArgs {
    /**
     * Encrypted backups to S3: a bucket under a KMS key of its own (versioned, SSE-KMS, public
     * access blocked, TLS-only, expiring old backups), and on every member the backup agent's
     * configuration, the backup client's credentials and a systemd timer. Every member runs the
     * timer; only the member that leads takes the snapshot. Plain: it decides which resources exist.
     * @default true
     */
    backups?: boolean;
    /**
     * An existing bucket for the backups, instead of a new one: then no bucket resources are
     * created, and only the policies are rendered. It must meet what a created bucket has: in the
     * provider's region, versioning on, default encryption SSE-KMS with `backupKmsKeyArn` and bucket
     * keys, all four public access blocks, ownership `BucketOwnerEnforced`, `backupBucketPolicy`
     * as (part of) its policy, and lifecycle rules for the tiers `etcd-backups/<cluster>/daily/` and
     * `etcd-backups/<cluster>/frequent/`. Daily backups carry no lock of their own in a bucket you bring.
     * @default a new bucket named `etcd-backup-<cluster>-<random hex>`
     */
    backupBucketName?: pulumi.Input<string>;
    /**
     * The ARN of an existing symmetric KMS key for the backups (envelope encryption and SSE-KMS);
     * never an alias. A key with rotation enabled and an explicit key policy is created when omitted.
     * Its policy needs the statements in `keyPolicyStatements` (`backup`): the writer and restore
     * roles use it.
     * @default a new key
     */
    backupKmsKeyArn?: pulumi.Input<string>;
    /**
     * Days the daily tier keeps a backup current before the bucket's lifecycle expires it (1 to
     * 36500): the first backup of each UTC day goes under `<prefix>daily/` and is kept this long
     * (and locked this long, or `backupObjectLockDays` if longer); every other backup goes under
     * `<prefix>frequent/` for `backupFrequentRetentionDays`. Backups written before tiers (directly
     * under `<prefix>`) keep expiring after this many days. Not with `backupBucketName`: the
     * lifecycle of a bucket you bring is yours.
     * @default 30
     */
    backupRetentionDays?: pulumi.Input<number>;
    /**
     * Days the frequent tier keeps every backup current (1 to 36500, at most `backupRetentionDays`):
     * every backup but the first of each UTC day goes under `<prefix>frequent/` and expires after
     * this many days, then stays recoverable as a noncurrent version for
     * `backupNoncurrentVersionRetentionDays`. Equal to `backupRetentionDays`, every backup is kept
     * as long as the daily ones. Not with `backupBucketName`.
     * @default 1
     */
    backupFrequentRetentionDays?: pulumi.Input<number>;
    /**
     * Days an expired or overwritten backup version stays recoverable before it is deleted for
     * good (1 to 36500). Not with `backupBucketName`.
     * @default 7
     */
    backupNoncurrentVersionRetentionDays?: pulumi.Input<number>;
    /**
     * Locks every backup version against deletion with S3 Object Lock, for `backupObjectLockDays`:
     * a compromised writer (or anyone without `s3:BypassGovernanceRetention`) cannot destroy a
     * backup before then. Object Lock cannot be turned off again on a bucket once on; `OFF` leaves
     * it off. Not with `backupBucketName`. Plain: it decides whether the lock configuration exists.
     * @default BackupObjectLockMode.Governance
     */
    backupObjectLockMode?: BackupObjectLockMode;
    /**
     * Days each backup version stays locked by the bucket's default retention (1 to 36500), at least
     * `backupNoncurrentVersionRetentionDays` so that an overwritten or expired version stays locked
     * for as long as it is kept. Every frequent backup gets this lock; a daily backup carries its own,
     * for `backupRetentionDays` or this, whichever is longer (the bucket policy refuses a daily
     * backup locked for less, in another mode, or for more than a day longer). Not with
     * `backupObjectLockMode` `OFF`.
     * @default the larger of backupFrequentRetentionDays and backupNoncurrentVersionRetentionDays
     */
    backupObjectLockDays?: pulumi.Input<number>;
    /**
     * An existing bucket that receives the backup bucket's S3 server access logs — every request, who
     * made it and its result — for audits of who read, wrote or tried to delete backups. Logs go under
     * `<backup bucket name>/`. The log bucket's policy must let `logging.s3.amazonaws.com` write there
     * (AWS's documented policy); it must not be the backup bucket. A bucket this component creates
     * only (on yours, configure logging yourself).
     * @default none (no access logs; CloudTrail S3 data events are the alternative)
     */
    backupAccessLogBucketName?: pulumi.Input<string>;
    /**
     * Minutes between backups. Every member's timer fires at the same wall-clock moments (UTC), so
     * the interval must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60) or a day in
     * whole hours (120, 180, 240, 360, 480, 720, 1440).
     * @default 30
     */
    backupIntervalMinutes?: pulumi.Input<number>;
    /**
     * Where the `secure-etcd` command (the backup agent) is installed on the members: the timer
     * runs `<backupAgentPath> backup --config /etc/secure-etcd/backup.json`. An absolute path.
     * @default "/usr/local/bin/secure-etcd"
     */
    backupAgentPath?: pulumi.Input<string>;
    /**
     * Where members download the `secure-etcd` command as one file (`npm run build:agent` builds
     * `secure-etcd.cjs`; it needs Node.js 20 or later on the member): `s3://<bucket>/<key>`, read
     * with the instance role (`memberInstancePolicies` then allows `s3:GetObject` on that object
     * alone), or an `https://` URL that needs no credential (the URL is in the user-data, which is
     * not secret). At boot the member downloads it, checks it against `backupAgentSha256` and only
     * then installs it at `backupAgentPath`; on a mismatch it installs nothing and the boot fails.
     * Only with `backupAgentSha256`.
     * @default none (install the agent at `backupAgentPath` in the node image yourself)
     */
    backupAgentUrl?: pulumi.Input<string>;
    /**
     * The SHA-256 of the artifact at `backupAgentUrl`, 64 hex digits: the first field of the
     * `secure-etcd.cjs.sha256` file `npm run build:agent` writes beside it. Only with `backupAgentUrl`.
     * @default none
     */
    backupAgentSha256?: pulumi.Input<string>;
    /**
     * Names of existing IAM roles that get the writer policy (`backupWriterPolicy`) as an inline
     * policy, typically the members' instance roles. Plain: one policy resource per role.
     * @default none (attach `backupWriterPolicy` or `memberInstancePolicies` yourself)
     */
    backupWriterRoleNames?: string[];
    /**
     * Names of existing IAM roles that get the restore policy (`backupRestorePolicy`) as an inline
     * policy, e.g. a disaster-recovery role. Plain: one policy resource per role.
     * @default none
     */
    backupReaderRoleNames?: string[];
    /**
     * Ids of the S3 VPC endpoints (gateway or interface, `com.amazonaws.<region>.s3`) the members
     * and the restore host reach S3 through. Given, `backupBucketPolicy` denies every object
     * operation on the bucket (`s3:*` on its objects: upload, read, delete, tag, ...) to any request
     * not arriving through one of them (`aws:SourceVpce`), whoever makes it: the backup writer's
     * credentials write nothing from outside the VPC, and backups are read only from inside, so a
     * restore outside these VPCs needs its endpoint listed. Bucket-level operations (the bucket's
     * configuration and policy, listing, which the provider's reads need) are not restricted, so the
     * identity running `pulumi up` keeps managing the bucket. Applied to a bucket this component
     * creates; on `backupBucketName`, `backupBucketPolicy` carries it for you to apply. Its ids may
     * be Outputs, e.g. `endpoint.id`.
     * @default none: backups are reachable from wherever IAM and the bucket policy allow
     */
    backupVpcEndpointIds?: pulumi.Input<string>[];
}

export const BACKUP_DEFAULTS = {
    backups: true,
    backupRetentionDays: 30,
    backupFrequentRetentionDays: 1,
    backupNoncurrentVersionRetentionDays: 7,
    backupObjectLockMode: BackupObjectLockMode.Governance,
    backupIntervalMinutes: 30,
    backupAgentPath: "/usr/local/bin/secure-etcd",
} as const;
