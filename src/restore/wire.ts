// What a whole-cluster restore changes in the members' privileges: while `restoreFromBackup` is
// set, and only then, a member's backup policy also reads and decrypts the cluster's backups.
import * as pulumi from "@pulumi/pulumi";
import { combinePolicies } from "../backup/backupPolicies";
import { PolicyDocument } from "../core/policyDocument";

/** The writer policy, and the restore policy beside it while a restore is requested (JSON). */
export function memberBackupPolicy(
    restoreFromBackup: string | undefined,
    backup: {
        backupWriterPolicy: pulumi.Output<string | undefined>;
        backupRestorePolicy: pulumi.Output<string | undefined>;
    },
): pulumi.Output<string | undefined> {
    if (restoreFromBackup === undefined) {
        return backup.backupWriterPolicy;
    }
    return pulumi
        .all([backup.backupWriterPolicy, backup.backupRestorePolicy])
        .apply(([writer, restore]) =>
            writer !== undefined && restore !== undefined
                ? JSON.stringify(
                      combinePolicies(JSON.parse(writer) as PolicyDocument, JSON.parse(restore) as PolicyDocument),
                  )
                : writer,
        );
}
