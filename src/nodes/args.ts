// The members: one host, one server certificate and one peer certificate each.
import * as pulumi from "@pulumi/pulumi";

/** etcd clusters larger than this slow every write. */
export const MAX_MEMBERS = 9;

export const MEMBER_DEFAULTS = {
    allowPublicMemberIps: false,
    nodeSync: true,
    nodeSyncIntervalMinutes: 5,
    membershipCredentialHours: 24,
} as const;

/** The longest a membership credential may live: a week. */
export const MAX_MEMBERSHIP_CREDENTIAL_HOURS = 168;

/** One etcd member: one host, one server certificate, one peer certificate. */
export interface MemberArgs {
    /**
     * The member's etcd name, also the CN and a DNS SAN of its certificates. A DNS-1123 label
     * (lowercase letters, digits, '-'). Plain: it names the member's child resources.
     */
    name: string;
    /** The member's private IP address; its certificates carry it as an IP SAN. */
    ip: pulumi.Input<string>;
    /**
     * Extra DNS names clients or peers use to reach this member; added as DNS SANs.
     * @default none
     */
    dnsNames?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface ClusterMembersArgs {
    /**
     * The etcd members, 1 to 9 (an odd number: 3 or 5 for production). Plain: one set of
     * child resources is created per member.
     */
    members: MemberArgs[];
    /**
     * Accept members on public addresses (IPv4 outside the private ranges, or global IPv6, which is
     * what an AWS VPC hands out). Off, such an address is refused: etcd's ports are for the VPC only,
     * and a typo that names a public host is caught before anything is created. Plain.
     * @default false
     */
    allowPublicMemberIps?: boolean;
    /**
     * Keep every running member equal to its bundle: a systemd timer on each member runs
     * `<backupAgentPath> node-sync`, which reads the member's bundle from Secrets Manager with the
     * instance role and writes what changed (renewed certificates, CRLs, trust bundles, firewall),
     * mode and owner first and atomically. A changed static-pod manifest restarts etcd, so it is
     * applied only while every other member is healthy and under a lock held in etcd, one member at
     * a time. Needs the `secure-etcd` command at `backupAgentPath` (installed from `backupAgentUrl`
     * or in the image). Off, a node reads its bundle once, at first boot.
     * @default true
     */
    nodeSync?: pulumi.Input<boolean>;
    /**
     * Minutes between node-sync runs on a member: a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15,
     * 20, 30 or 60). A renewal reaches every member within about this long after `pulumi up`.
     * @default 5
     */
    nodeSyncIntervalMinutes?: pulumi.Input<number>;
    /**
     * Hours the membership credential of a change of `members` lives: from the `pulumi up` that
     * makes the change, the member that joins (and, when one leaves, the member that removes it)
     * holds a client certificate for etcd's root role in memory, to register itself as a learner,
     * promote itself, or remove the leaver. Boot the new instance within this time; after it, the
     * next `pulumi up` drops the credential (a join not yet done then stops, saying so). Plain, 1 to 168.
     * @default 24
     */
    membershipCredentialHours?: number;
}
