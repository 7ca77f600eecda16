// Input validation: pure functions over plain values. Each problem names the argument, the bad
// value and the fix. The component runs them before it registers anything; values only known at
// deployment time are checked when they resolve. The policy pack imports the same predicates.
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import {
    BackupObjectLockMode,
    ClientArgs,
    DEFAULTS,
    KeyAlgorithm,
    MAX_MEMBERS,
    MemberArgs,
    SecureEtcdClusterArgs,
} from "./args";
import { bucketNameProblem } from "./backup/bucketNaming";
import {
    DISCOURAGED_PROVIDERS,
    EncryptionProvider,
    keyNameProblem,
    resourceListProblems,
} from "./encryption/encryptionConfig";
import { etcdVersionProblem } from "./manifests/etcdVersion";
import { MAX_ALARM_WINDOW_MINUTES, snsTopicArnProblem } from "./monitoring/backupAlarms";
import { kmsKeyArnProblem } from "./secrets/policies";
import { DEFAULT_MIN_PREFIX_LENGTH, sourceCidrProblem } from "./network/networkRules";
import { BUILT_IN_CLIENTS } from "./pki/profiles";
import { RbacArgs, rbacProblems } from "./rbac/roles";

export interface Problem {
    /** The argument's path, e.g. `members[1].name`. */
    path: string;
    /** What is wrong and how to fix it. */
    reason: string;
}

// ------------------------------------------------------------------ predicates

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDns1123Label(value: string): boolean {
    return DNS_1123_LABEL.test(value);
}

/** A lowercase RFC 1123 DNS name (no wildcards), at most 253 characters. */
export function isDns1123Subdomain(value: string): boolean {
    return value.length <= 253 && value.split(".").every(isDns1123Label);
}

/**
 * A unicast IPv4 (dotted quad, no leading zeros) or IPv6 address, usable as an advertised address
 * and an IP SAN. Returns the reason it is not, or undefined.
 */
export function ipAddressProblem(value: string): string | undefined {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    if (ipaddr.IPv4.isValidFourPartDecimal(value)) {
        parsed = ipaddr.IPv4.parse(value);
    } else if (ipaddr.IPv6.isValid(value) && !value.includes("%") && !value.includes(".")) {
        parsed = ipaddr.IPv6.parse(value);
    } else {
        return 'is not an IPv4 or IPv6 address; give the member\'s private address, e.g. "10.0.1.10"';
    }
    const range = parsed.range();
    if (["unspecified", "broadcast", "multicast"].includes(range)) {
        return `is a ${range} address, which no host can be reached at; give the member's own private address`;
    }
    return undefined;
}

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
    return Object.values(KeyAlgorithm).includes(value as KeyAlgorithm);
}

const quote = (v: unknown) => JSON.stringify(v);

// ------------------------------------------------------------------ argument checks

/** Problems with one member IP (used on plain values now, and on outputs when they resolve). */
export function memberIpProblems(index: number, ip: string): Problem[] {
    const reason = ipAddressProblem(ip);
    return reason ? [{ path: `members[${index}].ip`, reason: `${quote(ip)} ${reason}` }] : [];
}

export function memberDnsNameProblems(index: number, dnsNames: readonly string[]): Problem[] {
    return dnsNames.flatMap((dns, j) =>
        isDns1123Subdomain(dns)
            ? []
            : [
                  {
                      path: `members[${index}].dnsNames[${j}]`,
                      reason: `${quote(dns)} is not a DNS name; use lowercase labels of letters, digits and '-' separated by dots, without wildcards, e.g. "etcd-0.internal"`,
                  },
              ],
    );
}

function memberProblems(members: MemberArgs[] | undefined): Problem[] {
    if (!Array.isArray(members) || members.length === 0) {
        return [
            {
                path: "members",
                reason: 'is empty; give 1 to 9 members, e.g. [{ name: "etcd-0", ip: "10.0.1.10" }] (3 or 5 for production)',
            },
        ];
    }
    const problems: Problem[] = [];
    if (members.length > MAX_MEMBERS) {
        problems.push({
            path: "members",
            reason: `has ${members.length} members; etcd clusters larger than ${MAX_MEMBERS} slow every write, use 3, 5 or 7`,
        });
    }
    const names = new Map<string, number>();
    const ips = new Map<string, number>();
    members.forEach((member, i) => {
        const name = member?.name;
        if (typeof name !== "string" || !isDns1123Label(name)) {
            problems.push({
                path: `members[${i}].name`,
                reason: `${quote(name)} is not a DNS-1123 label; use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. "etcd-${i}"`,
            });
        } else if (names.has(name)) {
            problems.push({
                path: `members[${i}].name`,
                reason: `${quote(name)} is already the name of members[${names.get(name)}]; give every member a unique name`,
            });
        } else {
            names.set(name, i);
        }
        if (member?.ip === undefined || member.ip === null || member.ip === "") {
            problems.push({ path: `members[${i}].ip`, reason: "is missing; give the member's private IP address" });
        } else if (typeof member.ip === "string") {
            problems.push(...memberIpProblems(i, member.ip));
            const canonical = ipaddr.isValid(member.ip) ? ipaddr.parse(member.ip).toNormalizedString() : member.ip;
            if (ips.has(canonical)) {
                problems.push({
                    path: `members[${i}].ip`,
                    reason: `${quote(member.ip)} is already the address of members[${ips.get(canonical)}]; each member needs a host of its own`,
                });
            } else {
                ips.set(canonical, i);
            }
        }
        if (Array.isArray(member?.dnsNames) && member.dnsNames.every((d) => typeof d === "string")) {
            problems.push(...memberDnsNameProblems(i, member.dnsNames));
        }
    });
    return problems;
}

function clientProblems(clients: ClientArgs[] | undefined, members: MemberArgs[] | undefined): Problem[] {
    if (clients === undefined) {
        return [];
    }
    if (!Array.isArray(clients)) {
        return [{ path: "clients", reason: "must be a list of { name, commonName? }" }];
    }
    const problems: Problem[] = [];
    const builtInNames = new Set(BUILT_IN_CLIENTS.map((c) => c.name));
    const builtInCns = new Set(BUILT_IN_CLIENTS.map((c) => c.commonName));
    const memberNames = new Set((members ?? []).map((m) => m?.name));
    const names = new Map<string, number>();
    const cns = new Map<string, number>();
    clients.forEach((client, i) => {
        const name = client?.name;
        if (typeof name !== "string" || !isDns1123Label(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is not a DNS-1123 label; use lowercase letters, digits and '-', e.g. "prometheus"`,
            });
            return;
        }
        if (builtInNames.has(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is a built-in client, which every cluster already has; choose another name`,
            });
        } else if (names.has(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is already the name of clients[${names.get(name)}]; give every client a unique name`,
            });
        } else {
            names.set(name, i);
        }
        const cn = client.commonName ?? name;
        if (typeof cn !== "string" || cn.trim() === "" || cn.length > 64) {
            problems.push({
                path: `clients[${i}].commonName`,
                reason: `${quote(cn)} is not a usable common name; give 1 to 64 characters, e.g. the client's name`,
            });
        } else if (builtInCns.has(cn)) {
            problems.push({
                path: `clients[${i}].commonName`,
                reason: `${quote(cn)} is the common name of a built-in client; etcd would treat both as the same user, choose another`,
            });
        } else if (memberNames.has(cn)) {
            problems.push({
                path: `clients[${i}].commonName`,
                reason: `${quote(cn)} is a member's name, the CN of its server certificate; etcd would treat both as the same user, choose another`,
            });
        } else if (cns.has(cn)) {
            problems.push({
                path: `clients[${i}].commonName`,
                reason: `${quote(cn)} is already the common name of clients[${cns.get(cn)}]; each client needs its own identity`,
            });
        } else {
            cns.set(cn, i);
        }
    });
    return problems;
}

export interface Validity {
    caValidityHours: number;
    certificateValidityHours: number;
    certificateRenewalHours: number;
}

/** Checks the validity settings that are known; `undefined` means not known yet (an output). */
export function validityProblems(v: Partial<Validity>): Problem[] {
    const problems: Problem[] = [];
    const positive = (path: keyof Validity, value: number | undefined, allowZero = false) => {
        if (value !== undefined && (!Number.isInteger(value) || value < (allowZero ? 0 : 1))) {
            problems.push({
                path,
                reason: `${quote(value)} is not a whole number of hours${allowZero ? "" : " above 0"}`,
            });
            return false;
        }
        return value !== undefined;
    };
    const ca = positive("caValidityHours", v.caValidityHours);
    const leaf = positive("certificateValidityHours", v.certificateValidityHours);
    // Above 0: a certificate with no early-renewal window is only replaced after it has expired.
    const renewal = positive("certificateRenewalHours", v.certificateRenewalHours);
    if (leaf && renewal && v.certificateRenewalHours! >= v.certificateValidityHours!) {
        problems.push({
            path: "certificateRenewalHours",
            reason: `${v.certificateRenewalHours} is not shorter than certificateValidityHours (${v.certificateValidityHours}), so every \`pulumi up\` would re-issue every certificate; use a window well inside the validity, e.g. ${DEFAULTS.certificateRenewalHours}`,
        });
    }
    if (ca && leaf && v.certificateValidityHours! > v.caValidityHours!) {
        problems.push({
            path: "certificateValidityHours",
            reason: `${v.certificateValidityHours} is longer than caValidityHours (${v.caValidityHours}); a certificate cannot outlive the CA that signs it`,
        });
    }
    return problems;
}

export function keyAlgorithmProblems(value: unknown): Problem[] {
    return value === undefined || isKeyAlgorithm(value)
        ? []
        : [
              {
                  path: "keyAlgorithm",
                  reason: `${quote(value)} is not a supported key algorithm; use one of ${Object.values(KeyAlgorithm).join(", ")}`,
              },
          ];
}

export function etcdVersionProblems(value: string | undefined): Problem[] {
    const reason = value === undefined ? undefined : etcdVersionProblem(value);
    return reason ? [{ path: "etcdVersion", reason }] : [];
}

/** Runtime identity and image pinning of the static pod. */
export function podProblems(v: { etcdUid?: number; etcdGid?: number; etcdImageDigest?: string }): Problem[] {
    const problems: Problem[] = [];
    for (const key of ["etcdUid", "etcdGid"] as const) {
        const id = v[key];
        if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 2147483647)) {
            problems.push({
                path: key,
                reason: `${quote(id)} is not a non-root id; give a whole number from 1 to 2147483647, e.g. 2379 (etcd must not run as root)`,
            });
        }
    }
    const digest = v.etcdImageDigest;
    if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
        problems.push({
            path: "etcdImageDigest",
            reason: `${quote(digest)} is not an image digest; give "sha256:" followed by 64 lowercase hex digits`,
        });
    }
    return problems;
}

export function isEncryptionProvider(value: unknown): value is EncryptionProvider {
    return Object.values(EncryptionProvider).includes(value as EncryptionProvider);
}

/** Encryption at rest: provider, key names and the KMS-only arguments that go with them. */
export function encryptionProblems(v: {
    encryptionProvider?: unknown;
    encryptionKeyNames?: unknown;
    kmsArgsGiven: string[];
    kmsPluginImageGiven: boolean;
}): Problem[] {
    const problems: Problem[] = [];
    const provider = v.encryptionProvider ?? DEFAULTS.encryptionProvider;
    if (!isEncryptionProvider(provider)) {
        return [
            {
                path: "encryptionProvider",
                reason: `${quote(provider)} is not a supported provider; use one of ${Object.values(EncryptionProvider).join(", ")} (secretbox by default)`,
            },
        ];
    }
    if (provider === EncryptionProvider.Kms) {
        if (v.encryptionKeyNames !== undefined) {
            problems.push({
                path: "encryptionKeyNames",
                reason: "names local keys, which kms does not use (the key stays in AWS KMS); remove it, or choose a local provider",
            });
        }
        if (!v.kmsPluginImageGiven) {
            problems.push({
                path: "kmsPluginImage",
                reason: 'is required with encryptionProvider kms: give the aws-encryption-provider image you have vetted, pinned by tag or digest, e.g. "<registry>/aws-encryption-provider:v1.0.0"',
            });
        }
        return problems;
    }
    for (const arg of v.kmsArgsGiven) {
        problems.push({
            path: arg,
            reason: `only applies to encryptionProvider kms, and the provider is ${provider}; remove it or set encryptionProvider to kms`,
        });
    }
    const names = v.encryptionKeyNames ?? DEFAULTS.encryptionKeyNames;
    if (!Array.isArray(names) || names.length === 0) {
        return [
            ...problems,
            {
                path: "encryptionKeyNames",
                reason: 'is empty; give at least one key name, e.g. ["key-1"] (the first encrypts)',
            },
        ];
    }
    const seen = new Map<string, number>();
    names.forEach((name: unknown, i) => {
        const reason = keyNameProblem(name as string);
        if (reason) {
            problems.push({ path: `encryptionKeyNames[${i}]`, reason });
        } else if (seen.has(name as string)) {
            problems.push({
                path: `encryptionKeyNames[${i}]`,
                reason: `${quote(name)} is already encryptionKeyNames[${seen.get(name as string)}]; each key needs its own name (it is stored in every object it encrypts)`,
            });
        } else {
            seen.set(name as string, i);
        }
    });
    return problems;
}

export function encryptedResourcesProblems(resources: unknown): Problem[] {
    if (resources === undefined) {
        return [];
    }
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string")) {
        return [
            { path: "encryptedResources", reason: 'must be a list of resource names, e.g. ["secrets", "configmaps"]' },
        ];
    }
    return resourceListProblems(resources).map((reason) => ({ path: "encryptedResources", reason }));
}

/** KMS key ARNs given by the caller. */
export function kmsKeyArnProblems(path: string, value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    const reason = typeof value === "string" ? kmsKeyArnProblem(value) : `${quote(value)} is not a KMS key ARN`;
    return reason ? [{ path, reason }] : [];
}

/** Secrets Manager names: letters, digits and /_+=.@- ; the prefix leaves room for the rest. */
export function secretSettingsProblems(v: {
    secretNamePrefix?: unknown;
    secretRecoveryWindowDays?: unknown;
    kmsKeyDeletionWindowDays?: unknown;
    kmsPluginHealthPort?: unknown;
}): Problem[] {
    const problems: Problem[] = [];
    const prefix = v.secretNamePrefix;
    if (prefix !== undefined && (typeof prefix !== "string" || !/^[A-Za-z0-9/_+=.@-]{0,256}$/.test(prefix))) {
        problems.push({
            path: "secretNamePrefix",
            reason: `${quote(prefix)} is not usable in a Secrets Manager name; use up to 256 of letters, digits and /_+=.@-, e.g. "platform/etcd/"`,
        });
    }
    const days = (path: string, value: unknown) => {
        if (value !== undefined && (!Number.isInteger(value) || (value as number) < 7 || (value as number) > 30)) {
            problems.push({
                path,
                reason: `${quote(value)} is not a whole number of days from 7 to 30 (AWS's range); 30 leaves the most time to undo a mistake`,
            });
        }
    };
    days("secretRecoveryWindowDays", v.secretRecoveryWindowDays);
    days("kmsKeyDeletionWindowDays", v.kmsKeyDeletionWindowDays);
    const port = v.kmsPluginHealthPort;
    if (
        port !== undefined &&
        (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535 || port === 8080)
    ) {
        problems.push({
            path: "kmsPluginHealthPort",
            reason: `${quote(port)} is not a usable port; give 1 to 65535 other than 8080 (kube-apiserver's), e.g. 8083`,
        });
    }
    return problems;
}

/** Network access control: where the group lives, and sources no wider than the limits. */
export function networkProblems(args: SecureEtcdClusterArgs): Problem[] {
    const problems: Problem[] = [];
    if (args.vpcId === undefined && args.securityGroupId === undefined) {
        problems.push({
            path: "vpcId",
            reason: "is missing; give the members' VPC (a security group is created there), or securityGroupId to add the rules to a group you manage",
        });
    }
    const limits: { ipv4: number; ipv6: number } = { ...DEFAULT_MIN_PREFIX_LENGTH };
    (
        [
            ["minClientCidrPrefixLength", args.minClientCidrPrefixLength, "ipv4", 32],
            ["minClientCidrPrefixLengthIpv6", args.minClientCidrPrefixLengthIpv6, "ipv6", 128],
        ] as const
    ).forEach(([path, value, family, max]) => {
        if (value === undefined) {
            return;
        }
        if (!Number.isInteger(value) || value < 1 || value > max) {
            problems.push({
                path,
                reason: `${quote(value)} is not a prefix length from 1 to ${max}; the default ${DEFAULT_MIN_PREFIX_LENGTH[family]} admits at most a whole VPC`,
            });
        } else {
            limits[family] = value;
        }
    });
    const cidrList = (path: string, list: unknown) => {
        if (list === undefined) {
            return;
        }
        if (!Array.isArray(list)) {
            problems.push({ path, reason: 'must be a list of CIDRs, e.g. ["10.0.2.0/24"]' });
            return;
        }
        list.forEach((cidr: unknown, i) => {
            const reason = sourceCidrProblem(cidr, limits);
            if (reason) {
                problems.push({ path: `${path}[${i}]`, reason });
            }
        });
    };
    cidrList("clientCidrs", args.clientCidrs);
    cidrList("hostFirewallClientCidrs", args.hostFirewallClientCidrs);
    cidrList("hostFirewallMetricsCidrs", args.hostFirewallMetricsCidrs);
    // A host firewall knows addresses, not security groups: clients admitted only by group
    // would be dropped at the host, and the cluster would look down to them.
    if (known(args.hostFirewall) !== false) {
        const hostClients = args.hostFirewallClientCidrs ?? args.clientCidrs ?? [];
        if ((args.clientSecurityGroupIds ?? []).length > 0 && hostClients.length === 0) {
            problems.push({
                path: "hostFirewallClientCidrs",
                reason: "is empty while clientSecurityGroupIds admits clients the host firewall cannot see; list those clients' subnets here (e.g. the control-plane subnets), or set hostFirewall: false",
            });
        }
        if ((args.metricsSecurityGroupIds ?? []).length > 0 && (args.hostFirewallMetricsCidrs ?? []).length === 0) {
            problems.push({
                path: "hostFirewallMetricsCidrs",
                reason: "is empty while metricsSecurityGroupIds admits scrapers the host firewall cannot see; list their subnets here, or set hostFirewall: false",
            });
        }
    }
    if (args.hostFirewallMetricsCidrs !== undefined && (args.metricsSecurityGroupIds ?? []).length === 0) {
        problems.push({
            path: "hostFirewallMetricsCidrs",
            reason: "only applies when metricsSecurityGroupIds exposes metrics; without it metrics stay on loopback. Remove it, or name the monitoring groups",
        });
    }
    return problems;
}

// ------------------------------------------------------------------ backups

/** Every backup argument other than the `backups` switch. */
export const BACKUP_ARGS = [
    "backupBucketName",
    "backupKmsKeyArn",
    "backupRetentionDays",
    "backupNoncurrentVersionRetentionDays",
    "backupObjectLockMode",
    "backupObjectLockDays",
    "backupIntervalMinutes",
    "backupAgentPath",
    "backupWriterRoleNames",
    "backupReaderRoleNames",
] as const;

/** Arguments that configure a bucket this component creates. */
const CREATED_BUCKET_ARGS = [
    "backupRetentionDays",
    "backupNoncurrentVersionRetentionDays",
    "backupObjectLockMode",
    "backupObjectLockDays",
] as const;

/**
 * Intervals that repeat evenly every day, so every member's timer fires at the same wall-clock
 * moments: divisors of an hour, or whole hours that divide a day.
 */
export function isBackupInterval(minutes: unknown): minutes is number {
    return (
        Number.isInteger(minutes) &&
        (minutes as number) > 0 &&
        (60 % (minutes as number) === 0 || ((minutes as number) % 60 === 0 && 1440 % (minutes as number) === 0))
    );
}

export function backupIntervalProblems(value: unknown): Problem[] {
    if (value === undefined || isBackupInterval(value)) {
        return [];
    }
    const valid = Array.from({ length: 1440 }, (_, i) => i + 1).filter(isBackupInterval);
    return [
        {
            path: "backupIntervalMinutes",
            reason: `${quote(value)} does not repeat evenly every day, so the members' timers could not fire at the same moments; use a divisor of an hour or a whole number of hours that divides a day: ${valid.join(", ")} (e.g. ${DEFAULTS.backupIntervalMinutes})`,
        },
    ];
}

export function backupAgentPathProblems(value: unknown): Problem[] {
    if (value === undefined || (typeof value === "string" && /^(\/[A-Za-z0-9._+-]+)+$/.test(value))) {
        return [];
    }
    return [
        {
            path: "backupAgentPath",
            reason: `${quote(value)} is not an absolute path of letters, digits and ._+- (the systemd unit runs it as is); give where the secure-etcd command is installed, e.g. "${DEFAULTS.backupAgentPath}"`,
        },
    ];
}

export function backupBucketNameProblems(value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    const reason = typeof value === "string" ? bucketNameProblem(value) : `${quote(value)} is not a bucket name`;
    return reason ? [{ path: "backupBucketName", reason }] : [];
}

/** Day counts of the lifecycle and the lock: whole days, 1 to 100 years. */
export function backupDaysProblems(path: string, value: unknown): Problem[] {
    return value === undefined || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 36500)
        ? []
        : [{ path, reason: `${quote(value)} is not a whole number of days from 1 to 36500` }];
}

export function isBackupObjectLockMode(value: unknown): value is BackupObjectLockMode {
    return Object.values(BackupObjectLockMode).includes(value as BackupObjectLockMode);
}

/** IAM role names: 1 to 64 of letters, digits and +=,.@_- (a name, not an ARN). */
function roleNameListProblems(path: string, list: unknown): Problem[] {
    if (list === undefined) {
        return [];
    }
    if (!Array.isArray(list)) {
        return [{ path, reason: 'must be a list of IAM role names, e.g. ["etcd-member"]' }];
    }
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    list.forEach((role: unknown, i) => {
        if (typeof role !== "string" || !/^[\w+=,.@-]{1,64}$/.test(role)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(role)} is not an IAM role name; give the role's name (not its ARN): 1 to 64 letters, digits and +=,.@_-`,
            });
        } else if (seen.has(role)) {
            problems.push({
                path: `${path}[${i}]`,
                reason: `${quote(role)} is already ${path}[${seen.get(role)}]; name each role once`,
            });
        } else {
            seen.set(role, i);
        }
    });
    return problems;
}

/** Backups: the arguments that go with the switch, and each one's own check. */
export function backupProblems(args: SecureEtcdClusterArgs): Problem[] {
    const backups = args.backups ?? DEFAULTS.backups;
    if (typeof backups !== "boolean") {
        return [{ path: "backups", reason: `${quote(backups)} is not true or false` }];
    }
    if (!backups) {
        return BACKUP_ARGS.filter((k) => args[k] !== undefined).map((k) => ({
            path: k,
            reason: "only applies when backups are on, and backups is false; remove it, or set backups to true",
        }));
    }
    const problems: Problem[] = [];
    if (args.backupBucketName !== undefined) {
        for (const k of CREATED_BUCKET_ARGS.filter((key) => args[key] !== undefined)) {
            problems.push({
                path: k,
                reason: "configures the bucket this component creates, and backupBucketName names a bucket you manage; configure that bucket's lifecycle and lock yourself, or remove backupBucketName",
            });
        }
    }
    const mode = args.backupObjectLockMode;
    if (mode !== undefined && !isBackupObjectLockMode(mode)) {
        problems.push({
            path: "backupObjectLockMode",
            reason: `${quote(mode)} is not an Object Lock mode; use one of ${Object.values(BackupObjectLockMode).join(", ")}`,
        });
    }
    if (args.backupObjectLockDays !== undefined && mode === undefined) {
        problems.push({
            path: "backupObjectLockDays",
            reason: "only applies with backupObjectLockMode; set the mode (BackupObjectLockMode.Governance or Compliance), or remove it",
        });
    }
    problems.push(
        ...backupBucketNameProblems(known(args.backupBucketName)),
        ...kmsKeyArnProblems("backupKmsKeyArn", known(args.backupKmsKeyArn)),
        ...backupDaysProblems("backupRetentionDays", known(args.backupRetentionDays)),
        ...backupDaysProblems("backupNoncurrentVersionRetentionDays", known(args.backupNoncurrentVersionRetentionDays)),
        ...backupDaysProblems("backupObjectLockDays", known(args.backupObjectLockDays)),
        ...backupIntervalProblems(known(args.backupIntervalMinutes)),
        ...backupAgentPathProblems(known(args.backupAgentPath)),
        ...roleNameListProblems("backupWriterRoleNames", args.backupWriterRoleNames),
        ...roleNameListProblems("backupReaderRoleNames", args.backupReaderRoleNames),
    );
    return problems;
}

/**
 * The component's name becomes the backups' object-key prefix and the encryption context: no
 * character that a policy would read as a wildcard or variable (`*`, `?`, `$`), and no `/`.
 */
export function backupClusterNameProblems(name: string, args: SecureEtcdClusterArgs | undefined): Problem[] {
    if (!(args?.backups ?? DEFAULTS.backups) || /^[A-Za-z0-9._-]{1,128}$/.test(name)) {
        return [];
    }
    return [
        {
            path: "name",
            reason: `${quote(name)} becomes the backups' key prefix and encryption context, where only letters, digits and ._- are safe (1 to 128); rename the component, e.g. "prod-etcd", or set backups to false`,
        },
    ];
}

// ------------------------------------------------------------------ monitoring

/** Days above 0, at most 3650 (fractions allowed: short-lived certificates need them). */
function expiryDaysProblem(value: unknown): string | undefined {
    return typeof value === "number" && Number.isFinite(value) && value > 0 && value <= 3650
        ? undefined
        : `${quote(value)} is not a number of days above 0 and at most 3650`;
}

export interface ExpiryThresholds {
    warningDays: number;
    criticalDays: number;
}

/**
 * The expiry thresholds in effect: those given, else 30 and 7 days, scaled down for certificates
 * too short-lived for them (a quarter of the validity, and a quarter of the warning).
 */
export function expiryThresholds(v: {
    certificateExpiryWarningDays?: number;
    certificateExpiryCriticalDays?: number;
    certificateValidityHours: number;
}): ExpiryThresholds {
    const warningDays =
        v.certificateExpiryWarningDays ??
        Math.min(DEFAULTS.certificateExpiryWarningDays, v.certificateValidityHours / 24 / 4);
    const criticalDays =
        v.certificateExpiryCriticalDays ?? Math.min(DEFAULTS.certificateExpiryCriticalDays, warningDays / 4);
    return { warningDays, criticalDays };
}

/**
 * The expiry thresholds as given (undefined: not given) against the leaf validity. With `partial`
 * some of them are outputs not known yet: only each value's own range is checked then.
 */
export function certificateExpiryProblems(v: {
    certificateExpiryWarningDays?: number;
    certificateExpiryCriticalDays?: number;
    certificateValidityHours?: number;
    partial?: boolean;
}): Problem[] {
    const problems: Problem[] = [];
    for (const path of ["certificateExpiryWarningDays", "certificateExpiryCriticalDays"] as const) {
        const reason = v[path] === undefined ? undefined : expiryDaysProblem(v[path]);
        if (reason) {
            problems.push({ path, reason });
        }
    }
    const validity = v.certificateValidityHours;
    if (problems.length > 0 || v.partial || !Number.isInteger(validity) || validity! < 1) {
        return problems;
    }
    const { warningDays, criticalDays } = expiryThresholds({ ...v, certificateValidityHours: validity! });
    if (criticalDays >= warningDays) {
        problems.push({
            path: "certificateExpiryCriticalDays",
            reason: `${criticalDays} is not fewer days than certificateExpiryWarningDays (${warningDays}): the warning comes first; e.g. ${DEFAULTS.certificateExpiryCriticalDays} and ${DEFAULTS.certificateExpiryWarningDays}`,
        });
    }
    if (warningDays * 24 >= validity!) {
        problems.push({
            path: "certificateExpiryWarningDays",
            reason: `${warningDays} days is not shorter than certificateValidityHours (${validity} hours), so every certificate would alert from the moment it is issued; use fewer days, e.g. the renewal window (certificateRenewalHours / 24)`,
        });
    }
    return problems;
}

/** A Prometheus `job` label value: any text but empty, control characters or longer than 256. */
export function jobLabelProblems(path: string, value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    return typeof value === "string" && value.length >= 1 && value.length <= 256 && !/[\x00-\x1f\x7f]/.test(value)
        ? []
        : [
              {
                  path,
                  reason: `${quote(value)} is not a Prometheus job name; give the job_name of the scrape job, 1 to 256 printable characters, e.g. "etcd"`,
              },
          ];
}

/** Alert thresholds: whole counts from 0, or rates above 0. */
export function alertThresholdProblems(v: {
    etcdDeniedRequestsThreshold?: number;
    secretReadRateThreshold?: number;
}): Problem[] {
    const problems: Problem[] = [];
    const denied = v.etcdDeniedRequestsThreshold;
    if (denied !== undefined && !(Number.isInteger(denied) && denied >= 0)) {
        problems.push({
            path: "etcdDeniedRequestsThreshold",
            reason: `${quote(denied)} is not a whole number of requests from 0; 0 alerts on any refused request`,
        });
    }
    const rate = v.secretReadRateThreshold;
    if (rate !== undefined && !(typeof rate === "number" && Number.isFinite(rate) && rate > 0)) {
        problems.push({
            path: "secretReadRateThreshold",
            reason: `${quote(rate)} is not a rate above 0 (requests per second); use 2 to 3 times your cluster's normal secret reads, e.g. ${DEFAULTS.secretReadRateThreshold}`,
        });
    }
    return problems;
}

export function prometheusRuleNamespaceProblems(value: unknown): Problem[] {
    return value === undefined || (typeof value === "string" && isDns1123Label(value))
        ? []
        : [
              {
                  path: "prometheusRuleNamespace",
                  reason: `${quote(value)} is not a Kubernetes namespace name (a DNS-1123 label), e.g. "monitoring"`,
              },
          ];
}

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;

/** Kubernetes label keys (`[prefix/]name`) and values. */
export function prometheusRuleLabelsProblems(value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return [
            {
                path: "prometheusRuleLabels",
                reason: 'must be a map of label names to values, e.g. { release: "prometheus" }',
            },
        ];
    }
    const problems: Problem[] = [];
    for (const [key, labelValue] of Object.entries(value as Record<string, unknown>)) {
        const slash = key.lastIndexOf("/");
        const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
        const name = key.slice(slash + 1);
        if (!LABEL_NAME.test(name) || (prefix !== undefined && !isDns1123Subdomain(prefix))) {
            problems.push({
                path: `prometheusRuleLabels.${key}`,
                reason: `${quote(key)} is not a Kubernetes label key; use [prefix/]name, the name of 1 to 63 letters, digits and -_. starting and ending with a letter or digit`,
            });
        } else if (
            labelValue !== undefined &&
            !pulumi.Output.isInstance(labelValue) &&
            !(typeof labelValue === "string" && LABEL_VALUE.test(labelValue))
        ) {
            problems.push({
                path: `prometheusRuleLabels.${key}`,
                reason: `${quote(labelValue)} is not a Kubernetes label value; use up to 63 letters, digits and -_. starting and ending with a letter or digit`,
            });
        }
    }
    return problems;
}

/** The freshness window: longer than the interval, within CloudWatch's longest alarm window. */
export function backupMaxAgeProblems(v: { backupMaxAgeMinutes?: number; backupIntervalMinutes?: number }): Problem[] {
    const maxAge = v.backupMaxAgeMinutes;
    if (maxAge === undefined) {
        return [];
    }
    if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > MAX_ALARM_WINDOW_MINUTES) {
        return [
            {
                path: "backupMaxAgeMinutes",
                reason: `${quote(maxAge)} is not a whole number of minutes from 1 to ${MAX_ALARM_WINDOW_MINUTES} (a week, CloudWatch's longest alarm window)`,
            },
        ];
    }
    const interval = v.backupIntervalMinutes;
    if (isBackupInterval(interval) && maxAge <= interval) {
        return [
            {
                path: "backupMaxAgeMinutes",
                reason: `${maxAge} is not longer than backupIntervalMinutes (${interval}), so the alarm would fire between two good backups; give at least one interval more, e.g. ${2 * interval}`,
            },
        ];
    }
    return [];
}

export function alarmTopicArnProblems(value: unknown): Problem[] {
    if (value === undefined) {
        return [];
    }
    const reason = typeof value === "string" ? snsTopicArnProblem(value) : `${quote(value)} is not an SNS topic ARN`;
    return reason ? [{ path: "alarmTopicArn", reason }] : [];
}

/** Whether the backup alarms exist: backups on, and the alarm switch not off. */
export function backupAlarmsEnabled(args: SecureEtcdClusterArgs): boolean {
    return (
        (args.backups ?? DEFAULTS.backups) === true &&
        (args.backupFreshnessAlarm ?? DEFAULTS.backupFreshnessAlarm) === true
    );
}

/** Monitoring: the rule settings, and the backup alarm arguments with what they depend on. */
export function monitoringProblems(args: SecureEtcdClusterArgs): Problem[] {
    const problems: Problem[] = [
        ...certificateExpiryProblems({
            certificateExpiryWarningDays: known(args.certificateExpiryWarningDays),
            certificateExpiryCriticalDays: known(args.certificateExpiryCriticalDays),
            certificateValidityHours: known(args.certificateValidityHours ?? DEFAULTS.certificateValidityHours),
            partial: (
                ["certificateExpiryWarningDays", "certificateExpiryCriticalDays", "certificateValidityHours"] as const
            ).some((k) => args[k] !== undefined && known(args[k]) === undefined),
        }),
        ...jobLabelProblems("monitoringEtcdJob", known(args.monitoringEtcdJob)),
        ...jobLabelProblems("monitoringApiServerJob", known(args.monitoringApiServerJob)),
        ...alertThresholdProblems({
            etcdDeniedRequestsThreshold: known(args.etcdDeniedRequestsThreshold),
            secretReadRateThreshold: known(args.secretReadRateThreshold),
        }),
        ...prometheusRuleNamespaceProblems(known(args.prometheusRuleNamespace)),
        ...prometheusRuleLabelsProblems(known(args.prometheusRuleLabels)),
    ];
    const alarmSwitch = args.backupFreshnessAlarm;
    if (alarmSwitch !== undefined && typeof alarmSwitch !== "boolean") {
        problems.push({ path: "backupFreshnessAlarm", reason: `${quote(alarmSwitch)} is not true or false` });
        return problems;
    }
    const alarmArgs = (["backupMaxAgeMinutes", "alarmTopicArn"] as const).filter((k) => args[k] !== undefined);
    if ((args.backups ?? DEFAULTS.backups) !== true) {
        for (const k of [...(alarmSwitch !== undefined ? (["backupFreshnessAlarm"] as const) : []), ...alarmArgs]) {
            problems.push({
                path: k,
                reason: "only applies when backups are on, and backups is false; remove it, or set backups to true",
            });
        }
        return problems;
    }
    if (alarmSwitch === false) {
        for (const k of alarmArgs) {
            problems.push({
                path: k,
                reason: "configures the backup alarms, and backupFreshnessAlarm is false; remove it, or turn the alarms on",
            });
        }
        return problems;
    }
    problems.push(
        ...backupMaxAgeProblems({
            backupMaxAgeMinutes: known(args.backupMaxAgeMinutes),
            backupIntervalMinutes: known(args.backupIntervalMinutes ?? DEFAULTS.backupIntervalMinutes),
        }),
        ...alarmTopicArnProblems(known(args.alarmTopicArn)),
    );
    return problems;
}

/** A plain value, or undefined when the input is an output or promise not known yet (or unset). */
function known<T>(value: pulumi.Input<T> | undefined): T | undefined {
    return value === undefined || pulumi.Output.isInstance(value) || value instanceof Promise ? undefined : value;
}

/** Every problem that can be found in the arguments as given, before anything is created. */
export function validateArgs(args: SecureEtcdClusterArgs | undefined): Problem[] {
    if (args === undefined || args === null || typeof args !== "object") {
        return [{ path: "args", reason: "is missing; give at least { members: [...] }" }];
    }
    return [
        ...memberProblems(args.members),
        ...keyAlgorithmProblems(known(args.keyAlgorithm)),
        ...validityProblems({
            caValidityHours: known(args.caValidityHours ?? DEFAULTS.caValidityHours),
            certificateValidityHours: known(args.certificateValidityHours ?? DEFAULTS.certificateValidityHours),
            certificateRenewalHours: known(args.certificateRenewalHours ?? DEFAULTS.certificateRenewalHours),
        }),
        ...clientProblems(args.clients, args.members),
        ...etcdVersionProblems(known(args.etcdVersion)),
        ...podProblems({
            etcdUid: known(args.etcdUid),
            etcdGid: known(args.etcdGid),
            etcdImageDigest: known(args.etcdImageDigest),
        }),
        ...encryptionProblems({
            encryptionProvider: args.encryptionProvider,
            encryptionKeyNames: args.encryptionKeyNames,
            kmsArgsGiven: (["encryptionKmsKeyArn", "kmsPluginImage", "kmsPluginHealthPort"] as const).filter(
                (k) => args[k] !== undefined,
            ),
            kmsPluginImageGiven: args.kmsPluginImage !== undefined,
        }),
        ...encryptedResourcesProblems(knownList(args.encryptedResources)),
        ...kmsKeyArnProblems("encryptionKmsKeyArn", known(args.encryptionKmsKeyArn)),
        ...kmsKeyArnProblems("secretsKmsKeyArn", known(args.secretsKmsKeyArn)),
        ...secretSettingsProblems({
            secretNamePrefix: known(args.secretNamePrefix),
            secretRecoveryWindowDays: known(args.secretRecoveryWindowDays),
            kmsKeyDeletionWindowDays: known(args.kmsKeyDeletionWindowDays),
            kmsPluginHealthPort: known(args.kmsPluginHealthPort),
        }),
        ...networkProblems(args),
        ...rbacProblems(rbacArgsOf(args)),
        ...backupProblems(args),
        ...monitoringProblems(args),
    ];
}

/** The RBAC model's view of the arguments; extra clients keep their indexes, so paths match. */
export function rbacArgsOf(args: SecureEtcdClusterArgs): RbacArgs {
    return {
        apiServerPrefix: args.apiServerPrefix,
        roles: args.etcdRoles ?? [],
        clients: (Array.isArray(args.clients) ? args.clients : []).map((c) => ({
            commonName: c?.commonName ?? c?.name,
            roles: c?.roles ?? [],
        })),
    };
}

/** A list whose items are all plain values, else undefined (checked when it resolves). */
function knownList<T>(value: pulumi.Input<pulumi.Input<T>[]> | undefined): T[] | undefined {
    const list = known(value);
    return list === undefined || list.some((item) => known(item) === undefined) ? undefined : (list as T[]);
}

/** Warnings: legal but unwise arguments. */
export function argWarnings(args: SecureEtcdClusterArgs): string[] {
    const warnings: string[] = [];
    const count = args.members.length;
    if (count % 2 === 0) {
        warnings.push(
            `members: ${count} members tolerate no more failures than ${count - 1}; an odd count (3 or 5) gives the same fault tolerance with fewer members to keep in quorum`,
        );
    }
    const provider = args.encryptionProvider ?? DEFAULTS.encryptionProvider;
    if (provider in DISCOURAGED_PROVIDERS) {
        warnings.push(`encryptionProvider: ${DISCOURAGED_PROVIDERS[provider]}`);
    }
    if (args.backupBucketName !== undefined && backupAlarmsEnabled(args)) {
        warnings.push(
            "backupFreshnessAlarm: on a bucket you bring, the component does not add the S3 request-metrics configuration the alarms read; create it on that bucket with the id in backupMetricsFilterId and the prefix in backupPrefix (until then the freshness alarm is in ALARM), or set backupFreshnessAlarm to false",
        );
    }
    if (args.backupObjectLockMode === BackupObjectLockMode.Compliance) {
        warnings.push(
            "backupObjectLockMode: COMPLIANCE locks every backup version for backupObjectLockDays against everyone, the account's root user included: neither the versions nor the bucket can be deleted before the last lock ends",
        );
    }
    return warnings;
}

/** The error thrown for invalid arguments: every problem at once, each with its path. */
export function argumentsError(resourceName: string, problems: Problem[]): Error {
    const lines = problems.map((p) => `  - ${p.path}: ${p.reason}`).join("\n");
    return new pulumi.InputPropertiesError({
        message: `SecureEtcdCluster "${resourceName}" has invalid arguments:\n${lines}`,
        errors: problems.map((p) => ({ propertyPath: p.path, reason: p.reason })),
    });
}
