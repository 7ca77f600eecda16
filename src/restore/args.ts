// Restoring the whole cluster from a backup with `pulumi up`.

export interface RestoreArgs {
    /**
     * Restores the whole cluster from this backup: `"latest"` (the newest backup under the
     * cluster's prefix that passes every check `secure-etcd restore-verify` makes) or the snapshot
     * object's key (`etcd-backups/<cluster>/.../<name>.db.enc`, as `restore-verify` prints it).
     * Every member then gets a restore request: at its boot, before its manifest is written,
     * `secure-etcd restore-member` refuses if a member of the cluster answers or its data dir holds
     * data (see `restoreOverRunningCluster`), fetches, verifies and decrypts the backup as
     * `restore-verify` does, restores it with `--bump-revision` and `--mark-compacted` where etcd's
     * tool has them (3.5.x late, 3.6; on 3.4 the revision restarts at the snapshot's: restart every
     * kube-apiserver afterwards), and keeps clients out (nftables, 2379 except over loopback) until
     * every member is restored and running. The members' instance policies (`memberInstancePolicies`,
     * the writer roles' inline policy and the backup key policy) may read and decrypt backups only
     * while this is set. A restore happens once per member and value: the same value on later
     * `pulumi up`s and reboots does nothing; remove it once the cluster is back. Plain: it names the
     * restore, so a preview shows which backup.
     * @default none (no restore)
     */
    restoreFromBackup?: string;
    /**
     * With `restoreFromBackup`: restore even when a member of the cluster answers on its client port
     * or a member's data dir holds data (moved aside to `<data dir>.before-restore-<id>`, never
     * deleted). Stop etcd on every member first: members restored one by one while others still
     * run the old data do not form one cluster. Plain: with `restoreFromBackup`.
     * @default false
     */
    restoreOverRunningCluster?: boolean;
}

export const RESTORE_DEFAULTS = {
    restoreOverRunningCluster: false,
} as const;
