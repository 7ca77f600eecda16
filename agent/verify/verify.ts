// `secure-etcd verify`: checks a live cluster from outside, with nothing but its client endpoints
// and one client's credentials. Per member: the served certificate chains to the given CA, names
// the address it is reached at and is not close to expiry; the TLS version; that plaintext, legacy
// TLS and certificate-less clients are refused. For the cluster: auth is enabled, and every member
// was checked. Each check reports pass or fail with what was seen; nothing is written to etcd.
import { randomBytes, X509Certificate, createPrivateKey } from "crypto";
import * as net from "net";
import * as tls from "tls";
import { httpsGet, httpsRequest, plainGet, refusal } from "./http";
import { authenticate, GrpcCredentials, memberList, MemberList } from "./etcdGrpc";

export enum CheckStatus {
    Pass = "pass",
    Fail = "fail",
    /** The check could not be made from here (not a finding about the cluster). */
    Skip = "skip",
}

export interface CheckResult {
    check: string;
    /** An endpoint, `cluster`, or the credential file checked. */
    target: string;
    status: CheckStatus;
    detail: string;
}

export interface VerifyReport {
    /** No check failed. */
    ok: boolean;
    checks: CheckResult[];
}

export interface VerifyOptions {
    /** Client URLs, `https://host:port`. */
    endpoints: string[];
    /** The etcd CA (a bundle of several during a CA rotation). */
    caPem: string;
    certPem: string;
    keyPem: string;
    /** A certificate with fewer days left fails. */
    warnDays: number;
    /** Labels for the credential rows, e.g. the file names. */
    labels?: { ca: string; cert: string };
    now?: Date;
}

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const DAY_MS = 86400_000;
const TIMEOUT_MS = 5000;

/** Every certificate in a PEM text. */
export function parseCertificates(pem: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((b) => new X509Certificate(b));
}

export function commonName(cert: X509Certificate): string {
    return /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject.replace(/\n/g, ", ");
}

function daysLeft(cert: X509Certificate, now: Date): number {
    return (Date.parse(cert.validTo) - now.getTime()) / DAY_MS;
}

function expiryText(cert: X509Certificate, now: Date): string {
    const days = daysLeft(cert, now);
    const until = new Date(Date.parse(cert.validTo)).toISOString().slice(0, 10);
    return days < 0
        ? `expired ${Math.ceil(-days)} days ago (${until})`
        : `${Math.floor(days)} days left (until ${until})`;
}

/** Why a certificate's validity is a problem now, or undefined. */
function validityProblem(cert: X509Certificate, now: Date, warnDays: number): string | undefined {
    if (Date.parse(cert.validFrom) > now.getTime()) {
        return `not valid before ${cert.validFrom}`;
    }
    const days = daysLeft(cert, now);
    if (days < 0) {
        return expiryText(cert, now);
    }
    if (days < warnDays) {
        return `${expiryText(cert, now)}, within --warn-days ${warnDays}`;
    }
    return undefined;
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/**
 * The path from `leaf` through the served intermediates to one of the CAs, or undefined. Each
 * step is checked by signature, not by name alone.
 */
export function chainTo(
    leaf: X509Certificate,
    served: X509Certificate[],
    cas: X509Certificate[],
): X509Certificate[] | undefined {
    const path = [leaf];
    let current = leaf;
    for (let depth = 0; depth < 8; depth++) {
        const anchor = cas.find((ca) => issuedBy(current, ca));
        if (anchor) {
            return [...path, anchor];
        }
        const next = served.find((c) => c.ca && !path.includes(c) && issuedBy(current, c));
        if (!next) {
            return undefined;
        }
        path.push(next);
        current = next;
    }
    return undefined;
}

interface Served {
    chain: X509Certificate[];
    protocol?: string;
    cipher?: string;
    error?: string;
}

function hostOf(url: URL): string {
    return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** The certificates a member serves, and what was negotiated, with the client's credentials. */
function servedChain(url: URL, o: VerifyOptions, extra: tls.ConnectionOptions = {}): Promise<Served> {
    return new Promise((resolve) => {
        const host = hostOf(url);
        const socket = tls.connect(
            {
                host,
                port: Number(url.port || 2379),
                // SNI takes names only.
                servername: net.isIP(host) ? undefined : host,
                ca: o.caPem,
                cert: o.certPem,
                key: o.keyPem,
                // Verified below, so a bad chain is reported rather than only refused.
                rejectUnauthorized: false,
                ...extra,
            },
            () => {
                const chain: X509Certificate[] = [];
                let peer: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
                while (peer?.raw && !chain.some((c) => c.raw.equals(peer!.raw))) {
                    chain.push(new X509Certificate(peer.raw));
                    peer = peer.issuerCertificate;
                }
                resolve({
                    chain,
                    protocol: socket.getProtocol() ?? undefined,
                    cipher: socket.getCipher()?.standardName,
                });
                socket.end();
            },
        );
        socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000}s`)));
        socket.on("error", (e: Error) => resolve({ chain: [], error: e.message }));
    });
}

/** The server certificate: chain, address, usage and expiry. */
function serverCertificateCheck(
    url: URL,
    served: Served,
    cas: X509Certificate[],
    o: VerifyOptions,
    now: Date,
): CheckResult {
    const result = (status: CheckStatus, detail: string): CheckResult => ({
        check: "server certificate",
        target: url.origin,
        status,
        detail,
    });
    if (served.chain.length === 0) {
        return result(CheckStatus.Fail, `no TLS connection: ${served.error ?? "no certificate served"}`);
    }
    const leaf = served.chain[0];
    const problems: string[] = [];
    const path = chainTo(leaf, served.chain.slice(1), cas);
    if (!path) {
        problems.push(`issued by "${leaf.issuer.replace(/\n/g, ", ")}", which does not chain to the given CA`);
    }
    for (const cert of path ?? [leaf]) {
        const problem = validityProblem(cert, now, o.warnDays);
        if (problem) {
            problems.push(`${cert === leaf ? "certificate" : `"${commonName(cert)}"`} ${problem}`);
        }
    }
    const host = hostOf(url);
    const named = net.isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host);
    if (!named) {
        problems.push(`does not name ${host}, the address it was reached at (SAN: ${leaf.subjectAltName ?? "none"})`);
    }
    if (leaf.keyUsage !== undefined && !leaf.keyUsage.includes(SERVER_AUTH)) {
        problems.push("lacks the serverAuth usage");
    }
    const summary = `CN ${commonName(leaf)}, ${path ? `chains to "${commonName(path[path.length - 1])}"` : "unknown issuer"}, ${expiryText(leaf, now)}`;
    return problems.length > 0
        ? result(CheckStatus.Fail, `${problems.join("; ")} (${summary})`)
        : result(CheckStatus.Pass, `${summary}; SAN matches ${host}`);
}

function tlsVersionCheck(url: URL, served: Served): CheckResult {
    const target = url.origin;
    if (!served.protocol) {
        return { check: "TLS version", target, status: CheckStatus.Fail, detail: `no TLS connection: ${served.error}` };
    }
    const modern = served.protocol === "TLSv1.3" || served.protocol === "TLSv1.2";
    return {
        check: "TLS version",
        target,
        status: modern ? CheckStatus.Pass : CheckStatus.Fail,
        detail: `${served.protocol} (${served.cipher ?? "unknown suite"})${modern ? "" : ": below TLS 1.2"}`,
    };
}

/** TLS 1.0 and 1.1 offered explicitly must be refused. */
async function legacyTlsCheck(url: URL, o: VerifyOptions): Promise<CheckResult> {
    const served = await servedChain(url, o, {
        minVersion: "TLSv1",
        maxVersion: "TLSv1.1",
        // OpenSSL 3 only offers the old versions at security level 0.
        ciphers: "DEFAULT@SECLEVEL=0",
    });
    const check = "TLS 1.0/1.1 refused";
    if (served.protocol) {
        return { check, target: url.origin, status: CheckStatus.Fail, detail: `${served.protocol} was accepted` };
    }
    if (/no protocols available/i.test(served.error ?? "")) {
        return {
            check,
            target: url.origin,
            status: CheckStatus.Skip,
            detail: `this machine's OpenSSL cannot offer TLS 1.0/1.1 (${served.error})`,
        };
    }
    return { check, target: url.origin, status: CheckStatus.Pass, detail: refusal({ ok: false, error: served.error }) };
}

async function plaintextCheck(url: URL): Promise<CheckResult> {
    const plain = `http://${url.host}/version`;
    const outcome = await plainGet(plain);
    const answered = outcome.ok || /etcdserver|etcdcluster/.test(outcome.body ?? "");
    return {
        check: "plaintext refused",
        target: `http://${url.host}`,
        status: answered ? CheckStatus.Fail : CheckStatus.Pass,
        detail: answered ? `answered over plain HTTP: ${(outcome.body ?? "").slice(0, 80)}` : refusal(outcome),
    };
}

async function noCertificateCheck(url: URL, o: VerifyOptions): Promise<CheckResult> {
    const outcome = await httpsGet(`${url.origin}/version`, { ca: o.caPem }, { rejectUnauthorized: false });
    const refused = !outcome.ok && outcome.error !== undefined;
    return {
        check: "no-certificate client refused",
        target: url.origin,
        status: refused ? CheckStatus.Pass : CheckStatus.Fail,
        detail: refused ? refusal(outcome) : `a client without a certificate got HTTP ${outcome.status}`,
    };
}

/**
 * Whether auth is on, without touching data: authenticate as a user nobody creates, with a random
 * password. etcd refuses that ("authentication failed") only when auth is enabled, and answers
 * "authentication is not enabled" otherwise. Works on 3.4, which has no AuthStatus call, and is not
 * a PermissionDenied or Unauthenticated answer, so it trips no alert.
 */
async function authCheck(url: URL, o: VerifyOptions): Promise<CheckResult> {
    const name = `secure-etcd-verify-${randomBytes(6).toString("hex")}`;
    const answer = await authenticate(url.origin, credentialsOf(o), name, randomBytes(24).toString("hex"));
    const result = (status: CheckStatus, detail: string): CheckResult => ({
        check: "auth enabled",
        target: "cluster",
        status,
        detail,
    });
    if (/authentication is not enabled/.test(answer.message)) {
        return result(
            CheckStatus.Fail,
            "auth is not enabled: every certificate from the etcd CA can read and write every key; run the RBAC bootstrap (rbacBootstrapScript) on one member",
        );
    }
    if (/authentication failed|invalid user ID or password/.test(answer.message)) {
        return result(
            CheckStatus.Pass,
            `an unknown user is refused (asked ${url.host}); clients act as the user their certificate's CN names`,
        );
    }
    if (answer.status === 0) {
        return result(CheckStatus.Fail, `user ${name}, which nobody created, authenticated`);
    }
    return result(
        CheckStatus.Fail,
        `cannot tell: ${answer.error ?? `gRPC status ${answer.status}: ${answer.message}`}`,
    );
}

function credentialsOf(o: VerifyOptions): GrpcCredentials {
    return { caPem: o.caPem, certPem: o.certPem, keyPem: o.keyPem };
}

function credentialChecks(o: VerifyOptions, cas: X509Certificate[], now: Date): CheckResult[] {
    const labels = o.labels ?? { ca: "--cacert", cert: "--cert" };
    const results: CheckResult[] = [];
    if (cas.length === 0) {
        return [
            {
                check: "CA certificate",
                target: labels.ca,
                status: CheckStatus.Fail,
                detail: "holds no PEM certificate",
            },
        ];
    }
    for (const ca of cas) {
        const problems = [
            ...(ca.ca ? [] : ["is not a CA certificate"]),
            ...[validityProblem(ca, now, o.warnDays)].filter((p): p is string => p !== undefined),
        ];
        results.push({
            check: "CA certificate",
            target: labels.ca,
            status: problems.length ? CheckStatus.Fail : CheckStatus.Pass,
            detail: `CN ${commonName(ca)}: ${problems.length ? problems.join("; ") : expiryText(ca, now)}`,
        });
    }
    const [client] = parseCertificates(o.certPem);
    if (!client) {
        results.push({
            check: "client certificate",
            target: labels.cert,
            status: CheckStatus.Fail,
            detail: "holds no PEM certificate",
        });
        return results;
    }
    const problems: string[] = [];
    if (!cas.some((ca) => issuedBy(client, ca))) {
        problems.push("not issued by the given CA");
    }
    const validity = validityProblem(client, now, o.warnDays);
    if (validity) {
        problems.push(validity);
    }
    if (client.keyUsage !== undefined && !client.keyUsage.includes(CLIENT_AUTH)) {
        problems.push("lacks the clientAuth usage");
    }
    try {
        if (!client.checkPrivateKey(createPrivateKey(o.keyPem))) {
            problems.push("does not match --key");
        }
    } catch (e) {
        problems.push(`--key is not a private key (${(e as Error).message})`);
    }
    results.push({
        check: "client certificate",
        target: labels.cert,
        status: problems.length ? CheckStatus.Fail : CheckStatus.Pass,
        detail: `CN ${commonName(client)}: ${problems.length ? problems.join("; ") : expiryText(client, now)}`,
    });
    return results;
}

/** Runs every check; never throws for what it finds. */
export async function verifyCluster(o: VerifyOptions): Promise<VerifyReport> {
    const now = o.now ?? new Date();
    const cas = parseCertificates(o.caPem);
    const checks = credentialChecks(o, cas, now);
    const urls = o.endpoints.map((e) => new URL(e));
    const lists: (MemberList | undefined)[] = [];
    for (const url of urls) {
        // Not verified here: the served certificate has a check of its own.
        const version = await httpsRequest(
            `${url.origin}/version`,
            { ca: o.caPem, certPem: o.certPem, keyPem: o.keyPem },
            { extra: { rejectUnauthorized: false } },
        );
        const answer = version.ok ? await memberList(url.origin, credentialsOf(o)) : undefined;
        const list = answer && "members" in answer ? answer : undefined;
        const failure =
            answer && !("members" in answer)
                ? (answer.error ?? `gRPC status ${answer.status}: ${answer.message}`)
                : "no answer";
        lists.push(list);
        const self = list?.members.find((m) => m.id === list.memberId);
        const release = /"etcdserver":"([^"]*)"/.exec(version.body ?? "")?.[1] ?? "?";
        checks.push({
            check: "reachable",
            target: url.origin,
            status: list ? CheckStatus.Pass : CheckStatus.Fail,
            detail: !version.ok
                ? `with the given certificate: ${refusal(version)}`
                : list
                  ? `etcd ${release}, member ${self?.name ?? list.memberId}`
                  : `etcd ${release}, but the member list (gRPC) failed: ${failure}`,
        });
        const served = await servedChain(url, o);
        checks.push(serverCertificateCheck(url, served, cas, o, now));
        checks.push(tlsVersionCheck(url, served));
        checks.push(await legacyTlsCheck(url, o));
        checks.push(await noCertificateCheck(url, o));
        checks.push(await plaintextCheck(url));
    }
    const reachable = urls.filter((_, i) => lists[i] !== undefined);
    if (reachable.length > 0) {
        checks.push(await authCheck(reachable[0], o));
        const members = lists.find((l) => l !== undefined)!.members;
        const checked = new Set(lists.map((l) => l?.memberId).filter(Boolean));
        const missing = members.filter((m) => !checked.has(m.id));
        checks.push({
            check: "every member checked",
            target: "cluster",
            status: missing.length ? CheckStatus.Fail : CheckStatus.Pass,
            detail: missing.length
                ? `not among --endpoints: ${missing.map((m) => `${m.name} (${m.clientURLs.join(", ") || "no client URL"})`).join("; ")}`
                : `${members.length} members, each answered at one of the endpoints`,
        });
    } else {
        checks.push({
            check: "auth enabled",
            target: "cluster",
            status: CheckStatus.Fail,
            detail: "no endpoint answered with the given certificate",
        });
    }
    return { ok: checks.every((c) => c.status !== CheckStatus.Fail), checks };
}

/** The report as a plain-text table. */
export function renderTable(report: VerifyReport): string {
    const rows = [
        ["CHECK", "TARGET", "RESULT", "DETAIL"],
        ...report.checks.map((c) => [c.check, c.target, c.status.toUpperCase(), c.detail]),
    ];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    const lines = rows.map((r) => [0, 1, 2].map((i) => r[i].padEnd(widths[i])).join("  ") + "  " + r[3]);
    const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
    const skipped = count(CheckStatus.Skip) ? `, ${count(CheckStatus.Skip)} skipped` : "";
    lines.push(
        "",
        `${count(CheckStatus.Pass)} passed, ${count(CheckStatus.Fail)} failed${skipped}: ${report.ok ? "OK" : "FAILED"}`,
    );
    return `${lines.join("\n")}\n`;
}
