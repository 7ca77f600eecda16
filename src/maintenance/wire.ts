// What every member's maintenance files are rendered from: the schedule, the thresholds, the
// command, and the etcd-backup identity (the root role defragmenting and disarming need).
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { NodeFile } from "../manifests/nodeFiles";
import { IssuedCertificate } from "../pki/etcdPki";
import { maintenanceNodeFiles } from "./maintenance";

export interface MaintenanceInputs {
    quotaBackendBytes: pulumi.Input<number>;
    defragmentation: pulumi.Input<boolean>;
    defragmentationIntervalMinutes: pulumi.Input<number>;
    defragmentationFragmentedRatio: pulumi.Input<number>;
    defragmentationQuotaRatio: pulumi.Input<number>;
    defragmentationMinFragmentedBytes: pulumi.Input<number>;
    backupAgentPath: pulumi.Input<string>;
}

/**
 * The settings every member's maintenance files share, or undefined when defragmentation is off.
 * `onEveryMember` when backups put the etcd-backup identity on every member already; otherwise only
 * the first member (which has it for the RBAC bootstrap) runs maintenance, so no member gains a root
 * credential it did not have.
 */
export function maintenanceSettings(args: MaintenanceInputs, backupClient: IssuedCertificate, onEveryMember: boolean) {
    return allOf([
        args.defragmentation,
        args.defragmentationIntervalMinutes,
        args.quotaBackendBytes,
        args.defragmentationFragmentedRatio,
        args.defragmentationQuotaRatio,
        args.defragmentationMinFragmentedBytes,
        args.backupAgentPath,
        backupClient.certPem,
        backupClient.keyPem,
    ]).apply(([on, intervalMinutes, quota, fragmented, quotaRatio, minFragmented, agentPath, certPem, keyPem]) =>
        on
            ? {
                  intervalMinutes,
                  quotaBackendBytes: quota,
                  fragmentedRatio: fragmented,
                  quotaRatio,
                  minFragmentedBytes: minFragmented,
                  agentPath,
                  backupCertPem: certPem,
                  backupKeyPem: keyPem,
                  onEveryMember,
              }
            : undefined,
    );
}

/** One member's maintenance files; none when defragmentation is off, or on members after the first without backups. */
export function maintenanceFiles(
    settings: pulumi.Unwrap<ReturnType<typeof maintenanceSettings>>,
    m: { cluster: string; member: string; memberIp: string; addresses: { name: string; ip: string }[] },
): NodeFile[] {
    const first = m.addresses[0]?.name === m.member;
    if (!settings || (!settings.onEveryMember && !first)) {
        return [];
    }
    const { onEveryMember, ...rest } = settings;
    const { cluster, member, memberIp } = m;
    const memberIps = m.addresses.map((a) => a.ip);
    return maintenanceNodeFiles({ ...rest, cluster, member, memberIp, memberIps, onlyIfLeader: onEveryMember });
}
