// The flags each etcd line accepts, from `etcd --help` of each release (only the flags this package
// may render). A rendered flag that is not in the table for the chosen version fails the tests, and
// the table is checked against the flags etcd's sources define at v3.5.0, v3.5.33, v3.6.0, v3.6.14,
// v3.7.0 and v3.7.1 (test/fixtures/etcd-flags/): 3.7 removed every `--experimental-*` flag 3.6 deprecated.
import { EtcdVersion } from "./etcdVersion";

interface FlagSpan {
    /** First release with the flag, as [minor, patch] within 3.x. */
    since: [number, number];
    /** First release without it, if removed. */
    removedIn?: [number, number];
}

const FROM_34: FlagSpan = { since: [4, 0] };

export const ETCD_FLAGS: Record<string, FlagSpan> = {
    "--name": FROM_34,
    "--data-dir": FROM_34,
    "--listen-client-urls": FROM_34,
    "--advertise-client-urls": FROM_34,
    "--listen-peer-urls": FROM_34,
    "--initial-advertise-peer-urls": FROM_34,
    "--initial-cluster": FROM_34,
    "--initial-cluster-state": FROM_34,
    "--initial-cluster-token": FROM_34,
    "--cert-file": FROM_34,
    "--key-file": FROM_34,
    "--trusted-ca-file": FROM_34,
    "--client-cert-auth": FROM_34,
    "--auto-tls": FROM_34,
    "--peer-cert-file": FROM_34,
    "--peer-key-file": FROM_34,
    "--peer-trusted-ca-file": FROM_34,
    "--peer-client-cert-auth": FROM_34,
    "--peer-auto-tls": FROM_34,
    "--peer-cert-allowed-cn": FROM_34,
    "--client-crl-file": FROM_34, // since 3.3.0
    "--peer-crl-file": FROM_34, // a list from 3.5.15 (etcdFeatures), one CN before
    "--cipher-suites": FROM_34,
    "--tls-min-version": { since: [5, 8] }, // and 3.4.25, handled in flagKnown
    "--listen-metrics-urls": FROM_34,
    "--snapshot-count": FROM_34,
    "--quota-backend-bytes": FROM_34,
    "--logger": FROM_34,
    "--experimental-initial-corrupt-check": { since: [4, 0], removedIn: [7, 0] },
    "--experimental-watch-progress-notify-interval": { since: [4, 11], removedIn: [7, 0] },
    "--watch-progress-notify-interval": { since: [6, 0] },
    "--feature-gates": { since: [6, 0] },
};

const cmp = (v: EtcdVersion, [minor, patch]: [number, number]) =>
    v.minor !== minor ? v.minor - minor : v.patch - patch;

/** Whether `etcd` of version `v` accepts `flag` (given as `--name` or `--name=value`). */
export function flagKnown(flag: string, v: EtcdVersion): boolean {
    const name = flag.split("=")[0];
    if (name === "--tls-min-version" && v.minor === 4) {
        return v.patch >= 25;
    }
    const span = ETCD_FLAGS[name];
    return (
        span !== undefined && cmp(v, span.since) >= 0 && (span.removedIn === undefined || cmp(v, span.removedIn) < 0)
    );
}
