// etcd versions this package renders for, and what each one understands: from etcd's changelogs
// (CHANGELOG/CHANGELOG-3.4.md to CHANGELOG-3.7.md in etcd-io/etcd), each release's `etcd --help`, and
// for 3.5 to 3.7 the flags each release's sources define (test/fixtures/etcd-flags/).

export interface EtcdVersion {
    major: number;
    minor: number;
    patch: number;
    text: string;
}

/**
 * The 3.6 line's `SECURITY_FLOOR`. 3.7.1 carries the same fixes, but 3.6 is the line kubeadm pins for
 * Kubernetes 1.34 to 1.36, and moving the default to 3.7 would upgrade every stack that leaves
 * `etcdVersion` unset by a minor version on its next `pulumi up`: docs/static-pod.md has the reasons.
 */
export const DEFAULT_ETCD_VERSION = "3.6.14";

/** The release lines this package knows the flags of, newest first. */
export const ETCD_LINES = ["3.7", "3.6", "3.5", "3.4"];

/**
 * The first release of each supported line that carries the latest security fixes we know of, as
 * etcd's changelog for that line lists them: GHSA-xg4h-6gfc-h4m8 (watch responses for keys outside
 * the granted range) and GHSA-6vch-q96h-7gc3 (no TLS handshake timeout), fixed in 3.5.33, 3.6.14 and
 * 3.7.1 (all 2026-07-23); the 3.5.34, 3.6.15 and 3.7.2 entries (unreleased when read) list no
 * security fix. 3.4 is end-of-life and warned about as such.
 */
export const SECURITY_FLOOR: Record<string, number> = { "3.5": 33, "3.6": 14, "3.7": 1 };

export function parseEtcdVersion(text: string): EtcdVersion | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text);
    return m ? { major: +m[1], minor: +m[2], patch: +m[3], text: `${m[1]}.${m[2]}.${m[3]}` } : undefined;
}

/** Why a version cannot be rendered, or undefined if it can. */
export function etcdVersionProblem(text: string): string | undefined {
    const v = parseEtcdVersion(text);
    if (!v) {
        return `${JSON.stringify(text)} is not an etcd release number; give MAJOR.MINOR.PATCH, e.g. "${DEFAULT_ETCD_VERSION}"`;
    }
    if (!ETCD_LINES.includes(`${v.major}.${v.minor}`)) {
        return `${v.text} is not a release line this package knows the flags of; use 3.6 (the default), 3.7, 3.5 or 3.4`;
    }
    return undefined;
}

export function etcdVersionWarning(v: EtcdVersion): string | undefined {
    const line = `${v.major}.${v.minor}`;
    if (v.minor === 4) {
        return `etcdVersion ${v.text}: the 3.4 line is end-of-life and has no TLS 1.3 minimum before 3.4.25; plan the move to 3.6`;
    }
    const floor = SECURITY_FLOOR[line];
    if (floor !== undefined && v.patch < floor) {
        return `etcdVersion ${v.text} predates ${line}.${floor}, which carries the ${line} line's latest security fixes (etcd's CHANGELOG-${line}.md); upgrade`;
    }
    return undefined;
}

const atLeast = (v: EtcdVersion, minor: number, patch: number) =>
    v.minor > minor || (v.minor === minor && v.patch >= patch);

/** What a version supports, in the terms the renderers need. */
export interface EtcdFeatures {
    /** `--tls-min-version` (3.4.25, 3.5.8, 3.6). */
    tlsMinVersion: boolean;
    /** `/livez` and `/readyz` on the metrics listener (3.5.11). */
    livezReadyz: boolean;
    /**
     * The corrupt check and watch progress flags are a feature gate / unprefixed (3.6, which deprecates
     * the `--experimental-*` forms; 3.7 removes them).
     */
    featureGates: boolean;
    /** `--experimental-watch-progress-notify-interval` (3.4.11). */
    watchProgressNotify: boolean;
    /** ChaCha20-Poly1305 names in `--cipher-suites` (3.5). */
    chachaCipherSuites: boolean;
    /** `--peer-cert-allowed-cn` takes a comma-separated list (3.5.15, 3.6); before, one CN. */
    peerCertAllowedCnList: boolean;
}

export function etcdFeatures(v: EtcdVersion): EtcdFeatures {
    return {
        tlsMinVersion: v.minor >= 6 || (v.minor === 5 && v.patch >= 8) || (v.minor === 4 && v.patch >= 25),
        livezReadyz: atLeast(v, 5, 11),
        featureGates: v.minor >= 6,
        watchProgressNotify: atLeast(v, 4, 11),
        chachaCipherSuites: v.minor >= 5,
        peerCertAllowedCnList: atLeast(v, 5, 15),
    };
}
