// Who may reach etcd's ports: the security group and the host firewall.
import * as pulumi from "@pulumi/pulumi";

export interface NetworkArgs {
    /**
     * The VPC of the etcd members; their security group is created in it. Required unless
     * `securityGroupId` is given.
     */
    vpcId?: pulumi.Input<string>;
    /**
     * An existing security group for the etcd members: then no group is created and only the
     * rules are added to it (it must have no rule that admits more).
     * @default a new group in `vpcId`
     */
    securityGroupId?: pulumi.Input<string>;
    /**
     * Security groups of etcd's clients (kube-apiserver nodes, the backup agent's nodes): each may
     * reach the client port 2379. Plain list: one rule per group.
     * @default none (only the members themselves)
     */
    clientSecurityGroupIds?: pulumi.Input<string>[];
    /**
     * Client subnets admitted to 2379, in addition to `clientSecurityGroupIds`. `0.0.0.0/0`,
     * `::/0` and anything wider than `minClientCidrPrefixLength` are refused. Plain list of plain
     * strings: one rule per CIDR, checked before anything is created.
     * @default none
     */
    clientCidrs?: string[];
    /**
     * The widest IPv4 client source accepted, as a prefix length.
     * @default 16 (a whole VPC at most)
     */
    minClientCidrPrefixLength?: number;
    /**
     * The widest IPv6 client source accepted, as a prefix length.
     * @default 56 (a whole VPC's IPv6 block at most)
     */
    minClientCidrPrefixLengthIpv6?: number;
    /**
     * Monitoring security groups (e.g. Prometheus) that may scrape the metrics port 2381. When
     * given, etcd also serves metrics (plain HTTP: metrics and health, no keys) on the member's
     * address; otherwise metrics stay on loopback and no 2381 rule exists. Plain list: one rule
     * per group.
     * @default none
     */
    metricsSecurityGroupIds?: pulumi.Input<string>[];
    /**
     * Render an nftables host firewall per member (in `nodeFiles`, applied at boot by the
     * user-data): 2379 from loopback, the members and the client addresses; 2380 from the other
     * members only; 2381 from loopback (and `hostFirewallMetricsCidrs`). Defense in depth beside
     * the security group.
     * @default true
     */
    hostFirewall?: pulumi.Input<boolean>;
    /**
     * Client addresses the host firewall admits to 2379. A host firewall cannot see security
     * groups: list the subnets of the clients in `clientSecurityGroupIds` here. Plain strings,
     * checked like `clientCidrs`.
     * @default clientCidrs
     */
    hostFirewallClientCidrs?: string[];
    /**
     * Monitoring addresses the host firewall admits to 2381 when `metricsSecurityGroupIds` is set.
     * @default none
     */
    hostFirewallMetricsCidrs?: string[];
    /**
     * Accept client and metrics CIDRs outside the private ranges (IPv4 beyond 10/8, 172.16/12,
     * 192.168/16 and 100.64/10; IPv6 beyond fc00::/7, which includes the global addresses an AWS VPC
     * hands out). Plain.
     * @default false
     */
    allowPublicClientCidrs?: boolean;
}

export const NETWORK_DEFAULTS = {
    hostFirewall: true,
    allowPublicClientCidrs: false,
} as const;
