// The sandbox every secure-etcd service on a node runs in (the backup agent, node sync): what none
// of them needs of the kernel, other processes or the devices. Each service adds what is its own
// (user, capabilities, the paths it may or must not touch).

/** Directives, one per line of a unit's [Service] section. */
export const SERVICE_SANDBOX: readonly string[] = [
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectProc=invisible",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    // Node.js compiles code at run time: MemoryDenyWriteExecute would stop the agent.
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallErrorNumber=EPERM",
];
