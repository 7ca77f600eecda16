// The systemd unit that runs a node's bootstrap script until it succeeds. cloud-init's runcmd runs
// once per instance, so a fetch that failed there (a role not yet attached, a key policy not yet
// applied, Secrets Manager unreachable) left the node down until someone intervened. The unit
// starts the script again after each failed run, also across reboots, and stops for good once a
// run has written every file: the script then leaves BOOTSTRAP_STATE.donePath. Still fail-closed:
// the static-pod manifest is the last file a run writes, so etcd starts only from a complete set.

/** The unit's name. */
export const BOOTSTRAP_UNIT = "secure-etcd-bootstrap.service";
/** Where cloud-init writes it. */
export const BOOTSTRAP_UNIT_PATH = `/etc/systemd/system/${BOOTSTRAP_UNIT}`;
/** Seconds between a failed run and the next; each run itself tries twelve times over about four minutes. */
export const BOOTSTRAP_RESTART_SECONDS = 60;

/** What a run leaves behind, none of it secret. */
export const BOOTSTRAP_STATE = {
    /** Present once a run succeeded: the unit does not start again (delete it to run at the next boot). */
    donePath: "/var/lib/secure-etcd/bootstrap.done",
    /** The last run's outcome, consecutive failures and last success, as JSON. */
    statePath: "/var/lib/secure-etcd/bootstrap.json",
    /**
     * The same as metrics, in the directory Debian's and Ubuntu's prometheus-node-exporter read
     * with their textfile collector (`--collector.textfile.directory`).
     */
    metricsPath: "/var/lib/prometheus/node-exporter/secure_etcd_bootstrap.prom",
    /** Which secret holds the bundle, and in which region, for node sync: `{ secretArn, region }`. */
    bundleSourcePath: "/etc/secure-etcd/bundle-source.json",
} as const;

/** The metric the monitoring rules read: failed runs in a row, 0 once one succeeds. */
export const BOOTSTRAP_FAILURES_METRIC = "secure_etcd_node_bootstrap_consecutive_failures";

export function renderBootstrapUnit(scriptPath: string): string {
    return [
        "[Unit]",
        "Description=secure-etcd: fetch this node's bundle from Secrets Manager and write its files",
        "Wants=network-online.target",
        "After=network-online.target",
        `ConditionPathExists=!${BOOTSTRAP_STATE.donePath}`,
        // Never give up: the default start limit would stop restarting after five failed runs.
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=oneshot",
        `ExecStart=${scriptPath}`,
        "Restart=on-failure",
        `RestartSec=${BOOTSTRAP_RESTART_SECONDS}`,
        // Twelve attempts with their waits take about four minutes; a hung AWS call must not hold
        // the unit for ever.
        "TimeoutStartSec=15min",
        "SyslogIdentifier=secure-etcd-bootstrap",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}
