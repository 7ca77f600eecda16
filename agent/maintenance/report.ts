// What a maintenance run leaves for people and monitoring: a state file and node_exporter
// textfile metrics (runs failing in a row, the last success, a NOSPACE alarm the run could not
// clear, how many members it defragmented).
import * as fs from "fs";
import { MAINTENANCE_METRICS } from "../../src/maintenance/maintenance";

export interface MaintenanceState {
    lastRun: number;
    lastRunSucceeded: boolean;
    consecutiveFailures: number;
    lastSuccess?: number;
    /** Members defragmented by the last run, in order. */
    lastDefragmented: string[];
    /** Whether a NOSPACE alarm was raised when the last run ended. */
    spaceAlarm: boolean;
    lastError?: string;
}

export interface MaintenanceOutcome {
    succeeded: boolean;
    defragmented: string[];
    spaceAlarm: boolean;
    error?: string;
}

export function readMaintenanceState(file: string): Partial<MaintenanceState> {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as Partial<MaintenanceState>;
    } catch {
        return {};
    }
}

export function nextMaintenanceState(
    previous: Partial<MaintenanceState>,
    now: number,
    outcome: MaintenanceOutcome,
): MaintenanceState {
    const lastSuccess = outcome.succeeded ? now : previous.lastSuccess;
    return {
        lastRun: now,
        lastRunSucceeded: outcome.succeeded,
        consecutiveFailures: outcome.succeeded ? 0 : (previous.consecutiveFailures ?? 0) + 1,
        ...(lastSuccess !== undefined ? { lastSuccess } : {}),
        lastDefragmented: outcome.defragmented,
        spaceAlarm: outcome.spaceAlarm,
        ...(outcome.error ? { lastError: outcome.error } : {}),
    };
}

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function renderMaintenanceMetrics(labels: { cluster: string; member: string }, state: MaintenanceState): string {
    const base = `etcd_cluster="${label(labels.cluster)}",member="${label(labels.member)}"`;
    const lines: string[] = [];
    const metric = (name: string, help: string, value: number) =>
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${base}} ${value}`);
    metric(
        MAINTENANCE_METRICS.consecutiveFailures,
        "Maintenance runs in a row that failed; 0 after a success.",
        state.consecutiveFailures,
    );
    metric("secure_etcd_maintenance_last_run_timestamp_seconds", "When the last maintenance run ended.", state.lastRun);
    if (state.lastSuccess !== undefined) {
        metric(MAINTENANCE_METRICS.lastSuccess, "When a maintenance run last succeeded.", state.lastSuccess);
    }
    metric(
        MAINTENANCE_METRICS.spaceAlarm,
        "1 when a NOSPACE alarm was raised as the last maintenance run ended (etcd refuses writes), else 0.",
        state.spaceAlarm ? 1 : 0,
    );
    metric(
        MAINTENANCE_METRICS.defragmented,
        "Members the last maintenance run on this member defragmented.",
        state.lastDefragmented.length,
    );
    return `${lines.join("\n")}\n`;
}
