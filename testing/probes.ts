// The conformance probes: every security promise of the rendered configuration, checked from outside
// against running members. The conformance suite runs each as a test; the demo runs them as a report.
import { strict as assert } from "assert";
import { X509Certificate } from "crypto";
import * as tls from "tls";
import { isLoopbackIp } from "../src/manifests/nodeLayout";
import { issueLeaf, Issued, newCa } from "../agent/issue";
import { ClientCreds, httpsGet, httpsRequest, Outcome, plainGet, refusal } from "../agent/verify/http";

export { ClientCreds, httpsGet, httpsRequest, Outcome, plainGet, refusal };

/** The serial number of the certificate a member serves on a fresh TLS connection. */
export function servedCertificate(host: string, port: number, creds: Issued & { ca: string }): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port, ca: creds.ca, cert: creds.certPem, key: creds.keyPem }, () => {
            resolve(socket.getPeerX509Certificate()!.serialNumber);
            socket.end();
        });
        socket.on("error", reject);
    });
}

export interface ProbeMember {
    name: string;
    ip: string;
    /** The member's rendered etcd command line. */
    command: string[];
}

export interface ProbeTarget {
    members: ProbeMember[];
    /** kube-apiserver's client credentials, as the component issued them. */
    apiserver: Issued & { ca: string };
    /** Both CAs with their keys: the negative probes sign with them. */
    etcdCa: Issued;
    peerCa: Issued;
    /** Reads a member's metrics listener, where the member itself would (its loopback). */
    metricsGet(member: ProbeMember, urlPath: string): Promise<string>;
    /** The address the members see this process call from. */
    callerIp: string;
    /** Bind outgoing peer-port probes to `callerIp` (needed where the OS would pick another source). */
    bindCaller: boolean;
    /** An address that is not the caller's, for a peer certificate that must not match. */
    strangerIp: string;
    /** A loopback address of this host that no member uses: a wildcard metrics listener would answer there. */
    spareLoopback?: string;
}

export interface Probe {
    title: string;
    /** Throws (an assertion error) if the promise does not hold; returns what was seen. */
    run(target: ProbeTarget): Promise<string>;
}

export interface ProbeResult {
    title: string;
    pass: boolean;
    detail: string;
}

/**
 * How long a probe waits for a state the cluster reaches by itself. A busy machine can stall etcd past
 * its election timeout (no leader until the next election) or past 3.4's one-second read behind
 * `/health`; such a state is waited for, never sampled once. A bound, not a measurement.
 */
export const SETTLE_MS = 30_000;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt` until it returns a value, for at most {@link SETTLE_MS}; then throws `what` with
 * the last thing seen (what `attempt` returned in `seen`, or threw).
 */
export async function eventually<T>(
    what: string,
    attempt: (seen: { last: string }) => Promise<T | undefined>,
): Promise<T> {
    const deadline = Date.now() + SETTLE_MS;
    const seen = { last: "" };
    for (;;) {
        try {
            const value = await attempt(seen);
            if (value !== undefined) {
                return value;
            }
        } catch (e) {
            seen.last = (e as Error).message;
        }
        if (Date.now() > deadline) {
            throw new assert.AssertionError({ message: `${what} (waited ${SETTLE_MS / 1000} s; last: ${seen.last})` });
        }
        await pause(250);
    }
}

/** Waits until `member` reports itself healthy on its metrics listener (it has a leader and can read). */
export function untilHealthy(target: Pick<ProbeTarget, "metricsGet">, member: ProbeMember): Promise<string> {
    return eventually(`${member.name} /health is not "true"`, async (seen) => {
        seen.last = await target.metricsGet(member, "/health");
        return /"health":"true"/.test(seen.last) ? seen.last : undefined;
    });
}

/** An answer etcd gives while it has no leader or is catching up: asking again is right. */
const TRANSIENT = /leader changed|no leader|timed out|^timeout|too many requests|not capable|unavailable/i;

const clientUrl = (m: ProbeMember) => `https://${m.ip.includes(":") ? `[${m.ip}]` : m.ip}:2379`;
const peerUrl = (m: ProbeMember) => `https://${m.ip.includes(":") ? `[${m.ip}]` : m.ip}:2380`;
const flag = (m: ProbeMember, name: string) => m.command.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);
const b64 = (s: string) => Buffer.from(s).toString("base64");
const show = (o: Outcome) => JSON.stringify(o);
/**
 * etcd's v3 JSON gateway (the same API kube-apiserver uses over gRPC). A call that must work is asked
 * again while etcd answers that it has no leader or timed out (as kube-apiserver's client retries);
 * any other failure fails at once.
 */
async function v3(target: ProbeTarget, member: ProbeMember, call: string, body: unknown): Promise<unknown> {
    const outcome = await eventually(`${call} on ${member.name}`, async (seen) => {
        const o = await httpsRequest(`${clientUrl(member)}/v3/${call}`, target.apiserver, { json: body });
        seen.last = show(o);
        return o.ok || !TRANSIENT.test(`${o.error ?? ""}${o.body ?? ""}`) ? o : undefined;
    });
    assert.equal(outcome.ok, true, `${call} on ${member.name}: ${show(outcome)}`);
    return JSON.parse(outcome.body!) as unknown;
}

/** A refused request: no answer at all, the TLS handshake failed or the connection was closed. */
function assertRefused(outcome: Outcome, what: string): void {
    assert.equal(outcome.ok, false, `${what}: ${show(outcome)}`);
    assert.ok(outcome.error, `${what}: the TLS handshake is refused, no HTTP answer: ${show(outcome)}`);
}

export const CONFORMANCE_PROBES: Probe[] = [
    {
        title: "cluster healthy: every member healthy and seeing every member",
        async run(t) {
            const names = t.members.map((m) => m.name).sort();
            for (const m of t.members) {
                const list = (await v3(t, m, "cluster/member/list", {})) as { members?: { name?: string }[] };
                const seen = (list.members ?? []).map((x) => x.name ?? "").sort();
                assert.deepEqual(seen, names, `${m.name} sees members ${seen.join(", ")}`);
                await untilHealthy(t, m);
            }
            return `${t.members.length} members, each healthy and listing all ${names.length}`;
        },
    },
    {
        title: "kube-apiserver's client certificate writes and reads",
        async run(t) {
            const key = "/registry/secure-etcd/conformance-probe";
            const value = `written at ${new Date().toISOString()}`;
            await v3(t, t.members[0], "kv/put", { key: b64(key), value: b64(value) });
            for (const m of t.members) {
                const got = (await v3(t, m, "kv/range", { key: b64(key) })) as { kvs?: { value?: string }[] };
                const read = Buffer.from(got.kvs?.[0]?.value ?? "", "base64").toString();
                assert.equal(read, value, `read back on ${m.name}`);
            }
            return `wrote ${key} via ${t.members[0].name}, read it back via ${t.members.map((m) => m.name).join(", ")}`;
        },
    },
    {
        title: "refused: a client without a certificate",
        async run(t) {
            const m0 = t.members[0];
            // The control: the same request with kube-apiserver's certificate is answered.
            const control = await httpsGet(`${clientUrl(m0)}/version`, t.apiserver);
            assert.equal(control.ok, true, `control with a certificate: ${show(control)}`);
            assert.match(control.body!, /etcdserver/);
            const outcome = await httpsGet(`${clientUrl(m0)}/version`, { ca: t.apiserver.ca });
            assertRefused(outcome, "no client certificate");
            return `${refusal(outcome)} (with kube-apiserver's certificate: HTTP 200)`;
        },
    },
    {
        title: "refused: a client certificate from another CA",
        async run(t) {
            const otherCa = await newCa("etcd-ca");
            const stranger = await issueLeaf({ ca: otherCa, commonName: "kube-apiserver-etcd-client" });
            const outcome = await httpsGet(`${clientUrl(t.members[0])}/version`, { ...stranger, ca: t.apiserver.ca });
            assertRefused(outcome, "certificate from another CA named etcd-ca");
            return refusal(outcome);
        },
    },
    {
        title: "refused: an expired client certificate from the etcd CA",
        async run(t) {
            const expired = await issueLeaf({
                ca: t.etcdCa,
                commonName: "kube-apiserver-etcd-client",
                notBefore: new Date(Date.now() - 48 * 3600_000),
                notAfter: new Date(Date.now() - 24 * 3600_000),
            });
            const outcome = await httpsGet(`${clientUrl(t.members[0])}/version`, { ...expired, ca: t.apiserver.ca });
            assertRefused(outcome, "expired certificate");
            return refusal(outcome);
        },
    },
    {
        title: "refused: a client certificate on the peer port (separate peer CA)",
        async run(t) {
            const outcome = await httpsGet(`${peerUrl(t.members[0])}/members`, {
                ...t.apiserver,
                ca: t.peerCa.certPem,
            });
            assertRefused(outcome, "kube-apiserver's certificate on 2380");
            return refusal(outcome);
        },
    },
    {
        title: "refused: a peer certificate whose IP SAN is not the caller's (admitted when it is)",
        async run(t) {
            const m0 = t.members[0];
            const localAddress = t.bindCaller ? t.callerIp : undefined;
            // A member's name as CN: where peer CNs are pinned to the member set, only the SAN differs.
            const peerCert = (ip: string) =>
                issueLeaf({ ca: t.peerCa, commonName: m0.name, ipAddresses: [ip], serverAuth: true });
            const wrong = await peerCert(t.strangerIp);
            const refused = await httpsRequest(
                `${peerUrl(m0)}/members`,
                { ...wrong, ca: t.peerCa.certPem },
                { localAddress },
            );
            assert.equal(refused.ok, false, `SAN ${t.strangerIp} from ${t.callerIp}: ${show(refused)}`);
            const right = await peerCert(t.callerIp);
            const admitted = await httpsRequest(
                `${peerUrl(m0)}/members`,
                { ...right, ca: t.peerCa.certPem },
                { localAddress },
            );
            assert.equal(admitted.ok, true, `SAN ${t.callerIp} from ${t.callerIp}: ${show(admitted)}`);
            return `from ${t.callerIp}: SAN ${t.strangerIp} ${refusal(refused)}; SAN ${t.callerIp} admitted`;
        },
    },
    {
        title: "refused: a peer certificate of the peer CA whose CN is no member's (where etcd pins peer CNs)",
        async run(t) {
            const m0 = t.members[0];
            const pinned = m0.command.find((f) => f.startsWith("--peer-cert-allowed-cn="));
            // The caller's own address as SAN: only the CN can make the difference.
            const intruder = await issueLeaf({
                ca: t.peerCa,
                commonName: "intruder",
                ipAddresses: [t.callerIp],
                serverAuth: true,
            });
            const outcome = await httpsRequest(
                `${peerUrl(m0)}/members`,
                { ...intruder, ca: t.peerCa.certPem },
                { localAddress: t.bindCaller ? t.callerIp : undefined },
            );
            if (pinned) {
                assert.equal(outcome.ok, false, `CN intruder with ${pinned}: ${show(outcome)}`);
                return `CN intruder ${refusal(outcome)} (${pinned})`;
            }
            // Before 3.5.15 etcd takes one CN, which cannot name a member set: the peer CA alone decides.
            assert.equal(outcome.ok, true, `CN intruder without a pin: ${show(outcome)}`);
            return "no CN pin on this etcd (one CN only before 3.5.15): the peer CA alone decides, as rendered";
        },
    },
    {
        title: "refused: plaintext HTTP on 2379 and 2380",
        async run(t) {
            const seen: string[] = [];
            for (const m of t.members) {
                for (const url of [
                    `${clientUrl(m).replace("https:", "http:")}/version`,
                    `${peerUrl(m).replace("https:", "http:")}/members`,
                ]) {
                    const outcome = await plainGet(url);
                    assert.equal(outcome.ok, false, `${url}: ${show(outcome)}`);
                    assert.ok(!outcome.body?.includes("etcdserver") && !outcome.body?.includes("peerURLs"), url);
                    seen.push(refusal(outcome));
                }
            }
            return `${seen.length} plaintext requests, none answered (${[...new Set(seen)].join("; ")})`;
        },
    },
    {
        title: "TLS negotiated as rendered",
        async run(t) {
            const details: string[] = [];
            for (const m of t.members) {
                const url = `${clientUrl(m)}/version`;
                const suites = flag(m, "--cipher-suites");
                if (flag(m, "--tls-min-version") === "TLS1.3") {
                    const tls12 = await httpsGet(url, t.apiserver, { maxVersion: "TLSv1.2" });
                    assert.equal(tls12.ok, false, `${m.name}: TLS 1.2 refused: ${show(tls12)}`);
                    const best = await httpsGet(url, t.apiserver);
                    assert.equal(best.protocol, "TLSv1.3", `${m.name}: ${show(best)}`);
                    details.push(`${m.name}: TLSv1.3 (${best.cipher}), TLS 1.2 refused`);
                    continue;
                }
                assert.ok(suites, `${m.name}: either a TLS 1.3 minimum or a suite list is rendered`);
                // TLS 1.2 with a suite outside the list (CBC, no AEAD) is refused; one from the list works.
                const kind =
                    new X509Certificate(t.etcdCa.certPem).publicKey.asymmetricKeyType === "rsa" ? "RSA" : "ECDSA";
                const cbc = await httpsGet(url, t.apiserver, {
                    maxVersion: "TLSv1.2",
                    ciphers: `ECDHE-${kind}-AES128-SHA`,
                });
                assert.equal(cbc.ok, false, `${m.name}: CBC suite refused: ${show(cbc)}`);
                const gcm = await httpsGet(url, t.apiserver, {
                    maxVersion: "TLSv1.2",
                    ciphers: `ECDHE-${kind}-AES128-GCM-SHA256`,
                });
                assert.equal(gcm.ok, true, `${m.name}: GCM suite accepted: ${show(gcm)}`);
                assert.ok(
                    suites.split(",").includes(gcm.cipher ?? ""),
                    `${m.name}: ${gcm.cipher} is in --cipher-suites`,
                );
                const best = await httpsGet(url, t.apiserver);
                details.push(
                    `${m.name}: ${best.protocol} (${best.cipher}); TLS 1.2 only with the rendered AEAD suites`,
                );
            }
            return details[0] + (details.length > 1 ? `, same on ${details.length - 1} more` : "");
        },
    },
    {
        title: "metrics on loopback only",
        async run(t) {
            const urls: string[] = [];
            for (const m of t.members) {
                const metrics = (flag(m, "--listen-metrics-urls") ?? "").split(",").filter(Boolean);
                assert.ok(metrics.length > 0, `${m.name}: --listen-metrics-urls is rendered`);
                for (const u of metrics) {
                    const host = new URL(u).hostname.replace(/^\[(.*)\]$/, "$1");
                    assert.ok(isLoopbackIp(host), `${m.name}: ${u} is on loopback`);
                }
                await eventually(`${m.name}: metrics with etcd_server_has_leader 1`, async (seen) => {
                    const text = await t.metricsGet(m, "/metrics");
                    seen.last = /^etcd_server_has_leader .*$/m.exec(text)?.[0] ?? `${text.length} bytes, no has_leader`;
                    return /^etcd_server_has_leader 1$/m.test(text) ? true : undefined;
                });
                // Where metrics must not answer: the member's routable address, or, for a member on
                // loopback, an address a wildcard listener would also take.
                const elsewhere = isLoopbackIp(m.ip) ? t.spareLoopback : m.ip;
                if (elsewhere !== undefined) {
                    const outcome = await plainGet(
                        `http://${elsewhere.includes(":") ? `[${elsewhere}]` : elsewhere}:2381/metrics`,
                    );
                    assert.equal(outcome.ok, false, `${m.name}: metrics on ${elsewhere}: ${show(outcome)}`);
                    assert.match(outcome.error ?? "", /ECONNREFUSED/, `${m.name}: metrics on ${elsewhere}`);
                }
                urls.push(...metrics);
            }
            const refusedAt = t.members.some((m) => isLoopbackIp(m.ip)) ? t.spareLoopback : "the member addresses";
            return `served on ${urls.join(", ")}; refused on ${refusedAt}`;
        },
    },
];

/** Runs every probe in order and reports each, never throwing. */
export async function runProbes(target: ProbeTarget, probes: Probe[] = CONFORMANCE_PROBES): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    for (const probe of probes) {
        try {
            results.push({ title: probe.title, pass: true, detail: await probe.run(target) });
        } catch (e) {
            results.push({ title: probe.title, pass: false, detail: (e as Error).message.split("\n")[0] });
        }
    }
    return results;
}
