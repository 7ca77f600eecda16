// Space: the backend quota etcd enforces, and the maintenance that keeps a cluster under it
// (defragmentation on a schedule, the NOSPACE alarm cleared once space is back).
import * as pulumi from "@pulumi/pulumi";
import { MAX_QUOTA_BACKEND_BYTES } from "../rules/backendQuota";

export { MAX_QUOTA_BACKEND_BYTES, MIN_QUOTA_BACKEND_BYTES } from "../rules/backendQuota";

export const MAINTENANCE_DEFAULTS = {
    quotaBackendBytes: MAX_QUOTA_BACKEND_BYTES,
    defragmentation: true,
    defragmentationIntervalMinutes: 60,
    defragmentationFragmentedRatio: 0.5,
    defragmentationQuotaRatio: 0.8,
    defragmentationMinFragmentedBytes: 64 * 1024 ** 2,
} as const;

export interface MaintenanceArgs {
    /**
     * etcd's backend quota (`--quota-backend-bytes`): a member whose database file reaches it raises
     * the NOSPACE alarm and the cluster refuses every write until space is back and the alarm is
     * disarmed (what `defragmentation` does). From 1 MiB to 8 GiB, etcd's recommended maximum (a
     * larger database makes every snapshot, restore and new member slower). etcd's own default is
     * 2 GiB; kubeadm leaves it there.
     * @default 8589934592 (8 GiB)
     */
    quotaBackendBytes?: pulumi.Input<number>;
    /**
     * Defragment members on a schedule and recover from the NOSPACE alarm: a systemd timer runs
     * `<backupAgentPath> maintenance` on every member (the run on the member that leads acts), or,
     * with backups off, on the first member only. Under node sync's restart lock (never during a
     * restart) and only while every member is healthy: followers first, the leader last, one at a
     * time, each only when worth it (see the thresholds below). Under NOSPACE it compacts if
     * defragmenting alone would not free enough, defragments every member and disarms the alarm
     * once every database is below the quota. Uses the `etcd-backup` identity (etcd's root role,
     * which defragmenting and disarming need), on no member that does not hold it already.
     * @default true
     */
    defragmentation?: pulumi.Input<boolean>;
    /**
     * Minutes between maintenance runs: a divisor of an hour, or whole hours that divide a day
     * (e.g. 60, 360, 1440). A NOSPACE alarm is cleared within about this long.
     * @default 60
     */
    defragmentationIntervalMinutes?: pulumi.Input<number>;
    /**
     * Defragment a member when this fraction of its database file is free pages (dbSize - dbSizeInUse
     * over dbSize), from 0.05 to 0.95, and at least `defragmentationMinFragmentedBytes` is free.
     * @default 0.5
     */
    defragmentationFragmentedRatio?: pulumi.Input<number>;
    /**
     * Defragment a member when its database file uses this fraction of `quotaBackendBytes`
     * (from 0.1 to 0.95) and at least `defragmentationMinFragmentedBytes` is free, however small a
     * fraction of the file that is.
     * @default 0.8
     */
    defragmentationQuotaRatio?: pulumi.Input<number>;
    /**
     * Free bytes in a member's database below which defragmenting it is not worth blocking it
     * (a whole number, 0 or more). A NOSPACE alarm defragments whatever this says.
     * @default 67108864 (64 MiB)
     */
    defragmentationMinFragmentedBytes?: pulumi.Input<number>;
}
