// The host firewall as node files: the nftables rules, loaded as soon as they are written, and a
// systemd unit that loads them again on every boot, before the kubelet starts etcd.
import { NodeFile } from "../manifests/nodeFiles";
import {
    HOST_FIREWALL_MODE,
    HOST_FIREWALL_OWNER,
    HOST_FIREWALL_PATH,
    HostFirewallInput,
    renderHostFirewall,
} from "./hostFirewall";

export const SECURE_ETCD_CONFIG_DIR = "/etc/secure-etcd";
export const HOST_FIREWALL_UNIT = "secure-etcd-firewall.service";
export const HOST_FIREWALL_UNIT_PATH = `/etc/systemd/system/${HOST_FIREWALL_UNIT}`;

export function renderHostFirewallUnit(): string {
    return [
        "[Unit]",
        "Description=secure-etcd host firewall for etcd's ports 2379, 2380, 2381 (table inet secure_etcd)",
        "# Up before the kubelet starts the etcd static pod.",
        "Before=kubelet.service network-pre.target",
        "Wants=network-pre.target",
        "DefaultDependencies=no",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=/usr/sbin/nft -f ${HOST_FIREWALL_PATH}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/** The config directory; other secure-etcd node files (the RBAC bootstrap) live there too. */
export function configDirFile(): NodeFile {
    return { path: SECURE_ETCD_CONFIG_DIR, mode: "0755", owner: "0:0", content: "", directory: true };
}

export function hostFirewallNodeFiles(input: HostFirewallInput): NodeFile[] {
    return [
        {
            path: HOST_FIREWALL_PATH,
            mode: HOST_FIREWALL_MODE,
            owner: HOST_FIREWALL_OWNER,
            content: renderHostFirewall(input),
            directory: false,
            apply: ["nft", "-f", "{path}"],
        },
        {
            path: HOST_FIREWALL_UNIT_PATH,
            mode: "0644",
            owner: "0:0",
            content: renderHostFirewallUnit(),
            directory: false,
            apply: ["systemctl", "enable", HOST_FIREWALL_UNIT],
        },
    ];
}
