// The membership guard as Outputs and one record: it compares `members` with the member set the
// last deployment recorded, refuses a change etcd cannot take in one step before any child of the
// component registers (the component's gate waits for it), and records the new set once the
// members' bundles are stored. Plain resources and invokes only (see deploymentRecord.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeploymentRecords, listedValue, recordName, recordParameter } from "../core/deploymentRecord";
import { argumentsError } from "../core/problems";
import { IssuedCertificate } from "../pki/etcdPki";
import { issueMembershipCredential, MembershipCredential } from "../pki/membershipCredential";
import {
    credentialHolders,
    decideMembership,
    MembershipDecision,
    membershipRecordValue,
    MEMBERSHIP_USER,
} from "./membership";

/** The record's leaf under the cluster's record path. */
export const MEMBERSHIP_RECORD_LEAF = "members";

export interface MembershipInputs {
    members: { name: string; ip: pulumi.Input<string> }[];
    membershipCredentialHours: number;
    nodeSync: pulumi.Input<boolean>;
    /** A whole-cluster restore in this update: it re-founds the cluster on the deployed members. */
    restoreFromBackup?: string;
}

/** What the members' rendering needs to know of the membership. */
export interface MembershipRendering {
    /** Members that join an existing cluster: `--initial-cluster-state=existing`, no manifest at boot. */
    joiners: string[];
    /** The members whose bundle carries `credential`. */
    holders: string[];
    credential?: MembershipCredential;
}

export interface MembershipWiring {
    /** Resolves once the change is one etcd can take; rejects with the refusal otherwise. */
    gate: pulumi.Output<never[]>;
    decision: pulumi.Output<MembershipDecision>;
}

export function wireMembership(
    clusterName: string,
    args: MembershipInputs,
    records: DeploymentRecords,
): MembershipWiring {
    const parameterName = recordName(records, MEMBERSHIP_RECORD_LEAF);
    const decision = pulumi
        .all([records.listing, pulumi.all(args.members.map((m) => m.ip)), args.nodeSync])
        .apply(([listing, ips, nodeSync]) => {
            const desired = args.members.map((m, i) => ({ name: m.name, ip: ips[i] }));
            const d = decideMembership(
                listedValue(listing, parameterName),
                desired,
                Date.now(),
                args.membershipCredentialHours,
            );
            const refusal = d.refusal ?? (d.changed ? changeRefusal(nodeSync, args.restoreFromBackup) : undefined);
            return refusal ? { ...d, refusal } : d;
        });
    const gate = decision.apply((d): never[] => {
        if (d.refusal) {
            throw argumentsError(clusterName, [
                { path: "members", reason: `${d.refusal} (recorded in SSM parameter ${parameterName})` },
            ]);
        }
        return [];
    });
    return { gate, decision };
}

/** Why a one-member change cannot be carried out in this update, if it cannot. */
function changeRefusal(nodeSync: boolean, restoreFromBackup: string | undefined): string | undefined {
    if (!nodeSync) {
        return `changes the member set while nodeSync is off: the members carry a change out through node sync. Set nodeSync: true (and deploy that first), or change membership by hand (docs/runbooks.md)`;
    }
    if (restoreFromBackup !== undefined) {
        // A joiner holds its manifest back to join a running cluster, while the restore re-founds
        // the cluster from the backup on every member: the two cannot both happen.
        return `changes the member set in the same update as restoreFromBackup (${restoreFromBackup}): a restore re-founds the cluster on the members deployed. Keep members as deployed (a lost instance comes back under its name and address), restore, remove restoreFromBackup once every member serves the restored data, then make the change (docs/membership.md)`;
    }
    return undefined;
}

/** The credential and who holds it, from the decision and the etcd CA that issues now. */
export function membershipRendering(
    decision: pulumi.Output<MembershipDecision>,
    etcdCa: IssuedCertificate,
    credentialHours: number,
): pulumi.Output<MembershipRendering> {
    return pulumi.all([decision, etcdCa.certPem, etcdCa.keyPem]).apply(([d, caCertPem, caKeyPem]) => {
        const holders = credentialHolders(d.pending);
        return {
            joiners: d.joiners,
            holders,
            ...(d.pending && holders.length > 0
                ? {
                      credential: issueMembershipCredential({
                          caCertPem,
                          caKeyPem,
                          commonName: MEMBERSHIP_USER,
                          changeId: d.pending.id,
                          notBefore: new Date(d.pending.at),
                          validityHours: credentialHours,
                      }),
                  }
                : {}),
        };
    });
}

/**
 * Records the member set (and the pending change) once everything in `after` (where the members'
 * bundles are stored) is deployed: an update that fails before then leaves the previous record.
 */
export function recordMembership(
    parent: pulumi.Resource,
    clusterName: string,
    records: DeploymentRecords,
    decision: pulumi.Output<MembershipDecision>,
    after: pulumi.Resource[],
): aws.ssm.Parameter {
    return recordParameter(
        `${clusterName}-membership-record`,
        {
            parameterName: recordName(records, MEMBERSHIP_RECORD_LEAF),
            value: decision.apply((d) => membershipRecordValue(d.record)),
            description:
                "The etcd members (names and addresses, which of them founded the cluster) and the pending membership change at the last deployment of the etcd cluster the path names; its membership guard compares every update with it (secure-etcd)",
            clusterName,
        },
        { parent, dependsOn: after },
    );
}
