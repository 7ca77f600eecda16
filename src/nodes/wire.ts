// Wires what lands on each member: the static pod and the node file bundle (certificates, keys, the
// host firewall, the RBAC bootstrap on the first member, the backup agent's files), and the
// cloud-init user-data that fetches that bundle at boot.
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import { NodeAgentArtifact } from "../backup/agentArtifact";
import { BackupBucket } from "../backup/backupBucket";
import { backupNodeFiles, mergeNodeFiles } from "../backup/backupNodeFiles";
import { AwsAccount } from "../core/account";
import { crlBypassWarning } from "../manifests/crlBypass";
import { EtcdVersion, etcdVersionWarning, parseEtcdVersion } from "../manifests/etcdVersion";
import { NodeFile } from "../manifests/nodeFiles";
import { NODE_PATHS } from "../manifests/nodeLayout";
import { configDirFile, hostFirewallNodeFiles } from "../network/hostFirewallFiles";
import { IssuedCertificate } from "../pki/etcdPki";
import { PkiCrls, PkiOutputs } from "../pki/wire";
import { defaultBundlePaths, renderUserData } from "./cloudInit";
import { maintenanceFiles, maintenanceSettings, MaintenanceInputs } from "../maintenance/wire";
import { nodeSyncNodeFiles } from "./nodeSync";
import { restoreNodeFiles } from "../restore/restoreNodeFiles";
import { MemberArtifacts, memberArtifacts, PodSettings } from "./memberArtifacts";
import { MembershipRendering } from "./membershipWire";

export interface MemberInputs extends MaintenanceInputs {
    members: { name: string; ip: pulumi.Input<string> }[];
    etcdVersion: pulumi.Input<string>;
    etcdImageRepository: pulumi.Input<string>;
    etcdImageDigest?: pulumi.Input<string>;
    etcdUid: pulumi.Input<number>;
    etcdGid: pulumi.Input<number>;
    metricsSecurityGroupIds: unknown[];
    hostFirewall: pulumi.Input<boolean>;
    hostFirewallClientCidrs: string[];
    hostFirewallMetricsCidrs: string[];
    backupIntervalMinutes: pulumi.Input<number>;
    backupAgentPath: pulumi.Input<string>;
    nodeSync: pulumi.Input<boolean>;
    nodeSyncIntervalMinutes: pulumi.Input<number>;
    /** Only counted: revoking on a release with the CRL bypass is warned about. */
    revokedCertificates: unknown[];
    /** A whole-cluster restore: every member gets the request (src/restore). */
    restoreFromBackup?: string;
    restoreOverRunningCluster: boolean;
}

export interface MemberDependencies {
    pki: PkiOutputs;
    /** Both CAs' CRLs: every member gets them. */
    crls: pulumi.Output<PkiCrls>;
    backupClient: IssuedCertificate;
    bucket?: BackupBucket;
    account: AwsAccount;
    /** Files only the bootstrapping member (the first) gets. */
    bootstrapFiles: pulumi.Output<NodeFile[]>;
    membership: pulumi.Output<MembershipRendering>;
}

export interface MemberOutputs {
    etcdManifests: pulumi.Output<Record<string, string>>;
    nodeFiles: pulumi.Output<Record<string, NodeFile[]>>;
    etcdVersion: pulumi.Output<string>;
}

export interface MemberWiring {
    artifacts: MemberArtifacts;
    podSettings: pulumi.Output<PodSettings>;
    outputs: MemberOutputs;
    /** Members that join a running cluster: their boot leaves the manifest to node sync. */
    joiners: pulumi.Output<string[]>;
}

export function wireMembers(
    parent: pulumi.Resource,
    name: string,
    args: MemberInputs,
    deps: MemberDependencies,
): MemberWiring {
    const podSettings = podSettingsOf(parent, args);
    const backupSettings = backupAgentSettings(name, args, deps);
    const bootstrapMember = args.members[0].name;
    const maintenance = maintenanceSettings(args, deps.backupClient, deps.bucket !== undefined);
    const artifacts = memberArtifacts(name, args.members, { ...deps.pki, crls: deps.crls }, podSettings, {
        exposeMetrics: args.metricsSecurityGroupIds.length > 0,
        inputs: allOf([args.hostFirewall, deps.bootstrapFiles, backupSettings, nodeSyncSettings(args), maintenance]),
        membership: deps.membership,
        files: (
            member,
            addresses,
            [firewall, bootstrapFiles, backupAgent, nodeSync, maintenanceInput],
            { joining, manifestYaml },
        ) => {
            const memberIp = addresses.find((a) => a.name === member)!.ip;
            // The first member has the backup client's credentials for the RBAC bootstrap already:
            // each path once.
            return mergeNodeFiles([
                configDirFile(),
                ...(firewall
                    ? hostFirewallNodeFiles({
                          memberIp,
                          memberIps: addresses.map((a) => a.ip),
                          clientCidrs: args.hostFirewallClientCidrs,
                          metricsCidrs: args.hostFirewallMetricsCidrs,
                      })
                    : []),
                ...(member === bootstrapMember ? bootstrapFiles : []),
                ...(backupAgent ? backupNodeFiles({ ...backupAgent, memberIp }) : []),
                ...(nodeSync
                    ? nodeSyncNodeFiles({
                          ...nodeSync,
                          cluster: name,
                          member,
                          memberIp,
                          memberIps: addresses.map((a) => a.ip),
                          members: addresses,
                          joining,
                      })
                    : []),
                ...maintenanceFiles(maintenanceInput, { cluster: name, member, memberIp, addresses }),
                // Last before the manifest: the restore runs once every other file is in place.
                ...(backupAgent && args.restoreFromBackup !== undefined
                    ? restoreNodeFiles({
                          cluster: name,
                          restoreFromBackup: args.restoreFromBackup,
                          restoreOverRunningCluster: args.restoreOverRunningCluster,
                          manifestYaml,
                          agentPath: backupAgent.agentPath,
                      })
                    : []),
            ]);
        },
    });
    return {
        artifacts,
        joiners: artifacts.joiners,
        podSettings,
        outputs: {
            etcdManifests: artifacts.manifests,
            nodeFiles: artifacts.nodeFiles,
            etcdVersion: podSettings.version.text,
        },
    };
}

/** What every member's static pod is rendered with; warns once about the release. */
function podSettingsOf(parent: pulumi.Resource, args: MemberInputs): pulumi.Output<PodSettings> {
    return allOf([
        args.etcdVersion,
        args.etcdImageRepository,
        args.etcdImageDigest,
        args.etcdUid,
        args.etcdGid,
        args.quotaBackendBytes,
    ]).apply(([versionText, imageRepository, imageDigest, uid, gid, quotaBackendBytes]) => {
        // Validated before this runs: the version parses.
        const version = parseEtcdVersion(versionText) as EtcdVersion;
        for (const warning of [
            etcdVersionWarning(version),
            crlBypassWarning(version, args.revokedCertificates.length),
        ]) {
            if (warning) {
                void pulumi.log.warn(warning, parent);
            }
        }
        return { version, imageRepository, imageDigest, uid, gid, quotaBackendBytes };
    });
}

/** Node sync's schedule and command, or undefined when it is off. */
function nodeSyncSettings(args: MemberInputs) {
    return allOf([args.nodeSync, args.nodeSyncIntervalMinutes, args.backupAgentPath]).apply(
        ([on, intervalMinutes, agentPath]) => (on ? { intervalMinutes, agentPath } : undefined),
    );
}

/** What every member's backup agent is configured with; the agent uploads only on the leader. */
function backupAgentSettings(name: string, args: MemberInputs, deps: MemberDependencies) {
    if (!deps.bucket) {
        return pulumi.output(undefined);
    }
    return allOf([
        deps.bucket.bucketName,
        deps.bucket.kmsKeyArn,
        deps.account.region,
        args.backupIntervalMinutes,
        args.backupAgentPath,
        deps.backupClient.certPem,
        deps.backupClient.keyPem,
        deps.bucket.tiers,
    ]).apply(([bucket, kmsKeyArn, region, intervalMinutes, agentPath, backupCertPem, backupKeyPem, tiers]) => ({
        // The cluster's identity, not the component name alone: two stacks may share a bucket and a name.
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        cluster: name,
        bucket,
        kmsKeyArn,
        region,
        intervalMinutes,
        agentPath,
        backupCertPem,
        backupKeyPem,
        tiers,
    }));
}

/**
 * Per member, cloud-init user-data that installs the node agent's artifact (when given) and fetches
 * its bundle from Secrets Manager at boot.
 */
export function wireUserData(
    cluster: string,
    members: Pick<MemberWiring, "artifacts" | "podSettings" | "joiners">,
    /** The stored secrets' ARNs by key: each member's is `member-<name>`. */
    storedArns: Record<string, pulumi.Output<string>>,
    account: AwsAccount,
    agent: pulumi.Output<NodeAgentArtifact | undefined>,
): { memberUserData: pulumi.Output<Record<string, string>> } {
    const names = Object.keys(members.artifacts.secretBundles);
    return {
        memberUserData: allOf([
            members.artifacts.layouts,
            account.region,
            members.podSettings,
            agent,
            members.joiners,
            ...names.map((m) => storedArns[`member-${m}`]),
        ]).apply(([layouts, region, s, agentArtifact, joining, ...arns]) =>
            Object.fromEntries(
                names.map((member, i) => [
                    member,
                    renderUserData({
                        cluster,
                        member,
                        files: layouts[member],
                        bundlePaths: defaultBundlePaths(layouts[member]),
                        secretArn: arns[i],
                        region,
                        user: { name: "etcd", uid: s.uid, gid: s.gid },
                        agent: agentArtifact,
                        // A member that joins registers itself as a learner before etcd first starts:
                        // node sync writes its manifest then.
                        deferredPaths: joining.includes(member) ? [NODE_PATHS.manifest] : [],
                    }),
                ]),
            ),
        ),
    };
}
