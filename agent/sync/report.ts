// What a node-sync run leaves for people and monitoring: a state file (last run, last success,
// consecutive failures, what changed) and node_exporter textfile metrics, including the expiry of
// every certificate the member holds, read from the files on disk.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { NODE_SYNC_METRICS } from "../../src/nodes/nodeSync";

export interface SyncState {
    lastRun: number;
    lastRunSucceeded: boolean;
    consecutiveFailures: number;
    lastSuccess?: number;
    /** Paths written by the last successful run. */
    lastChanged: string[];
    lastRestart?: number;
    lastError?: string;
}

export interface CertificateExpiry {
    path: string;
    subject: string;
    notAfter: number;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in the given files (a trust bundle may hold two), with its expiry. */
export function certificateExpiries(files: { path: string; onDisk: string }[]): CertificateExpiry[] {
    const found: CertificateExpiry[] = [];
    for (const f of files) {
        let text: string;
        try {
            text = fs.readFileSync(f.onDisk, "utf8");
        } catch {
            continue;
        }
        for (const pem of text.match(PEM_CERTIFICATE) ?? []) {
            try {
                const cert = new crypto.X509Certificate(pem);
                const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject;
                found.push({ path: f.path, subject: cn, notAfter: Math.floor(Date.parse(cert.validTo) / 1000) });
            } catch {
                // not a certificate after all: nothing to report
            }
        }
    }
    return found;
}

export function readState(file: string): Partial<SyncState> {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as Partial<SyncState>;
    } catch {
        return {};
    }
}

export function nextState(
    previous: Partial<SyncState>,
    now: number,
    outcome: { succeeded: boolean; changed: string[]; restarted: boolean; error?: string },
): SyncState {
    return {
        lastRun: now,
        lastRunSucceeded: outcome.succeeded,
        consecutiveFailures: outcome.succeeded ? 0 : (previous.consecutiveFailures ?? 0) + 1,
        ...(outcome.succeeded
            ? { lastSuccess: now }
            : previous.lastSuccess !== undefined
              ? { lastSuccess: previous.lastSuccess }
              : {}),
        lastChanged: outcome.succeeded ? outcome.changed : (previous.lastChanged ?? []),
        ...(outcome.restarted
            ? { lastRestart: now }
            : previous.lastRestart
              ? { lastRestart: previous.lastRestart }
              : {}),
        ...(outcome.error ? { lastError: outcome.error } : {}),
    };
}

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The textfile collector's format: HELP and TYPE once per metric, one sample per line. */
export function renderSyncMetrics(
    labels: { cluster: string; member: string },
    state: SyncState,
    certificates: CertificateExpiry[],
): string {
    const base = `etcd_cluster="${label(labels.cluster)}",member="${label(labels.member)}"`;
    const lines: string[] = [];
    const metric = (name: string, help: string, samples: [string, number][]) => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const [extra, value] of samples) {
            lines.push(`${name}{${base}${extra}} ${value}`);
        }
    };
    metric(NODE_SYNC_METRICS.consecutiveFailures, "Node-sync runs in a row that failed; 0 after a success.", [
        ["", state.consecutiveFailures],
    ]);
    metric("secure_etcd_node_sync_last_run_timestamp_seconds", "When the last node-sync run ended.", [
        ["", state.lastRun],
    ]);
    if (state.lastSuccess !== undefined) {
        metric(NODE_SYNC_METRICS.lastSuccess, "When a node-sync run last converged this member to its bundle.", [
            ["", state.lastSuccess],
        ]);
    }
    if (certificates.length > 0) {
        metric(
            NODE_SYNC_METRICS.certificateExpiry,
            "When each certificate on this member expires (notAfter), read from the files on disk.",
            certificates.map((c) => [`,path="${label(c.path)}",subject="${label(c.subject)}"`, c.notAfter]),
        );
    }
    return `${lines.join("\n")}\n`;
}

/** A world-readable file (no secret in it), replaced whole. */
export function writePublic(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text, { mode: 0o644 });
    fs.chmodSync(temporary, 0o644);
    fs.renameSync(temporary, file);
}
