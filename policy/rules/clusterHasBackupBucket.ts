// Every SecureEtcdCluster keeps its backups: its BackupBucket child, with a bucket it created or the
// caller's own (backupBucketName). Turning backups off (backups: false) is allowed only by a named
// suppression with a reason (e.g. where the backups go instead).
import { isDescendantOf, ofType } from "../lib/stack";
import { COMPONENT, EtcdStackPolicy, TYPES } from "../lib/types";

export const clusterHasBackupBucket: EtcdStackPolicy = {
    name: "etcd-cluster-has-backup-bucket",
    description:
        "Every SecureEtcdCluster has its backup bucket; none goes without backups unless suppressed by name with a reason.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
        "Keep the component's backups on (backups: true, the default), or suppress this policy for the cluster with the reason (and where its backups go instead).",
    validateStack: (args, reportViolation) => {
        const clusters = ofType(args.resources, COMPONENT.cluster);
        if (clusters.length === 0) {
            args.notApplicable("no SecureEtcdCluster in this stack");
        }
        const backups = ofType(args.resources, [COMPONENT.backup, ...TYPES.bucket]);
        for (const cluster of clusters) {
            if (!backups.some((b) => isDescendantOf(b, cluster))) {
                reportViolation(
                    `SecureEtcdCluster "${cluster.name}" has no backup bucket, so nothing can restore it after a loss of quorum or a bad write; keep the component's backups on (backups: true, the default), or suppress this policy for "${cluster.name}" with the reason and where its backups go instead.`,
                    cluster.urn,
                );
            }
        }
    },
};
