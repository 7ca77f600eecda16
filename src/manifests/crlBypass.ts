// GHSA-3wh4-j44w-pg92: with `--listen-client-http-urls` set, etcd served gRPC on the client URLs
// without its TLS listener's checks, so a revoked client certificate still reached the gRPC API; fixed
// in 3.5.32, 3.6.13 and 3.7.0 (etcd commit 24838af5a "Reject the client request if the client
// certificate has been revoked"). This package never renders that flag; the rule below keeps it so.
import { EtcdVersion } from "./etcdVersion";

export const CRL_BYPASS_ADVISORY = "GHSA-3wh4-j44w-pg92";

/** The first release of each line with the fix; the 3.4 line never got it. */
const FIXED_IN: Record<string, number> = { "3.5": 32, "3.6": 13, "3.7": 0 };

const HTTP_URLS = "--listen-client-http-urls";
const CRL_FLAGS = ["--client-crl-file", "--peer-crl-file"];

const flagName = (flag: string) => flag.split("=")[0];

/** Whether `v` enforces no CRL on the gRPC listener once `--listen-client-http-urls` is set. */
export function crlBypassAffected(v: EtcdVersion): boolean {
    const fixed = FIXED_IN[`${v.major}.${v.minor}`];
    return fixed === undefined ? v.major === 3 && v.minor < 5 : v.patch < fixed;
}

/**
 * The flags without `--listen-client-http-urls` when `v` is affected and a CRL flag is rendered:
 * that combination would leave revoked certificates accepted on gRPC. Anything else unchanged.
 */
export function withoutCrlBypass(flags: readonly string[], v: EtcdVersion): string[] {
    const names = flags.map(flagName);
    if (crlBypassAffected(v) && names.includes(HTTP_URLS) && names.some((n) => CRL_FLAGS.includes(n))) {
        return flags.filter((f) => flagName(f) !== HTTP_URLS);
    }
    return [...flags];
}

/**
 * The warning for revoking certificates on an affected release: the component's flags are safe
 * (no `--listen-client-http-urls`), but a hand-added one would silently disable the revocations.
 */
export function crlBypassWarning(v: EtcdVersion, revocations: number): string | undefined {
    if (revocations === 0 || !crlBypassAffected(v)) {
        return undefined;
    }
    return `etcdVersion ${v.text} is affected by ${CRL_BYPASS_ADVISORY}: with ${HTTP_URLS} set, etcd does not enforce CRLs on its gRPC listener, so revokedCertificates would be ignored there. The rendered manifests never set ${HTTP_URLS} (do not add it); upgrade to 3.5.32, 3.6.13, 3.7.0 or later`;
}
