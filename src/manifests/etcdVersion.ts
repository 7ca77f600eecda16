// etcd versions this package renders for, and what each one understands: from etcd's changelogs
// (CHANGELOG/CHANGELOG-3.4.md to CHANGELOG-3.6.md in etcd-io/etcd) and each release's `etcd --help`.

export interface EtcdVersion {
    major: number;
    minor: number;
    patch: number;
    text: string;
}

/** A current 3.6 patch release: the 3.6 line's `SECURITY_FLOOR`, with the latest security fixes we know of. */
export const DEFAULT_ETCD_VERSION = "3.6.14";

/**
 * The first release of each supported line that carries the latest security fixes we know of, as
 * etcd's changelog for that line lists them.
 */
export const SECURITY_FLOOR: Record<string, number> = { "3.5": 33, "3.6": 14 };

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
    if (v.major !== 3 || v.minor < 4 || v.minor > 6) {
        return `${v.text} is not a release line this package knows the flags of; use 3.6 (recommended), 3.5 or 3.4`;
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
        return `etcdVersion ${v.text} predates ${line}.${floor}, which fixes known security issues (auth and CRL bypasses); upgrade`;
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
    /** The corrupt check and watch progress flags are feature gates / unprefixed (3.6). */
    featureGates: boolean;
    /** `--experimental-watch-progress-notify-interval` (3.4.11). */
    watchProgressNotify: boolean;
    /** ChaCha20-Poly1305 names in `--cipher-suites` (3.5). */
    chachaCipherSuites: boolean;
}

export function etcdFeatures(v: EtcdVersion): EtcdFeatures {
    return {
        tlsMinVersion: v.minor >= 6 || (v.minor === 5 && v.patch >= 8) || (v.minor === 4 && v.patch >= 25),
        livezReadyz: atLeast(v, 5, 11),
        featureGates: v.minor >= 6,
        watchProgressNotify: atLeast(v, 4, 11),
        chachaCipherSuites: v.minor >= 5,
    };
}
