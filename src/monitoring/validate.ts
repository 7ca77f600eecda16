// Rules for monitoring: expiry thresholds against the certificates' life, Prometheus selectors and
// thresholds, and the backup alarms with the switches they depend on.
import { Problem, quote } from "../core/problems";
import { isDns1123Label, isDns1123Subdomain } from "../core/predicates";
import { argRule, ArgRule } from "../core/rules";
import { isBackupInterval } from "../backup/validate";
import { MONITORING_DEFAULTS } from "./args";
import { MAX_ALARM_WINDOW_MINUTES, snsTopicArnProblem } from "./backupAlarms";

const DEFAULTS = MONITORING_DEFAULTS;

/** Days above 0, at most 3650 (fractions allowed: short-lived certificates need them). */
function expiryDaysProblem(value: unknown): string | undefined {
    return typeof value === "number" && Number.isFinite(value) && value > 0 && value <= 3650
        ? undefined
        : `${quote(value)} is not a number of days above 0 and at most 3650`;
}

/**
 * The expiry thresholds in effect against the leaf validity: each a number of days in range, the
 * warning before the critical alert, and both inside the certificates' life.
 */
export function certificateExpiryProblems(v: {
    warningDays: unknown;
    criticalDays: unknown;
    certificateValidityHours: unknown;
}): Problem[] {
    const problems: Problem[] = [];
    for (const [path, value] of [
        ["certificateExpiryWarningDays", v.warningDays],
        ["certificateExpiryCriticalDays", v.criticalDays],
    ] as const) {
        const reason = expiryDaysProblem(value);
        if (reason) {
            problems.push({ path, reason });
        }
    }
    const validity = v.certificateValidityHours;
    if (problems.length > 0 || !Number.isInteger(validity) || (validity as number) < 1) {
        return problems;
    }
    const [warningDays, criticalDays] = [v.warningDays as number, v.criticalDays as number];
    if (criticalDays >= warningDays) {
        problems.push({
            path: "certificateExpiryCriticalDays",
            reason: `${criticalDays} is not fewer days than certificateExpiryWarningDays (${warningDays}): the warning comes first; e.g. ${DEFAULTS.certificateExpiryCriticalDays} and ${DEFAULTS.certificateExpiryWarningDays}`,
        });
    }
    if (warningDays * 24 >= (validity as number)) {
        problems.push({
            path: "certificateExpiryWarningDays",
            reason: `${warningDays} days is not shorter than certificateValidityHours (${validity as number} hours), so every certificate would alert from the moment it is issued; use fewer days, e.g. the renewal window (certificateRenewalHours / 24)`,
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
        } else if (labelValue !== undefined && !(typeof labelValue === "string" && LABEL_VALUE.test(labelValue))) {
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

/** Which alarm arguments may be given: only with backups on and the alarms not switched off. */
export function alarmShapeProblems(v: { backups: unknown; alarmSwitch: unknown; given: readonly string[] }): Problem[] {
    if (typeof v.alarmSwitch !== "boolean") {
        return [{ path: "backupFreshnessAlarm", reason: `${quote(v.alarmSwitch)} is not true or false` }];
    }
    if (v.backups !== true) {
        return v.given.map((path) => ({
            path,
            reason: "only applies when backups are on, and backups is false; remove it, or set backups to true",
        }));
    }
    if (!v.alarmSwitch) {
        return v.given
            .filter((path) => path !== "backupFreshnessAlarm")
            .map((path) => ({
                path,
                reason: "configures the backup alarms, and backupFreshnessAlarm is false; remove it, or turn the alarms on",
            }));
    }
    return [];
}

/** Whether the backup alarms exist: backups on, and the alarm switch not off. */
export function backupAlarmsEnabled(args: { backups: unknown; backupFreshnessAlarm: unknown }): boolean {
    return args.backups === true && args.backupFreshnessAlarm === true;
}

interface MonitoringView {
    certificateExpiryWarningDays: unknown;
    certificateExpiryCriticalDays: unknown;
    certificateValidityHours: unknown;
    monitoringEtcdJob: unknown;
    monitoringApiServerJob: unknown;
    etcdDeniedRequestsThreshold: unknown;
    secretReadRateThreshold: unknown;
    prometheusRuleNamespace: unknown;
    prometheusRuleLabels: unknown;
    backups: unknown;
    backupFreshnessAlarm: unknown;
    backupMaxAgeMinutes: unknown;
    backupIntervalMinutes: unknown;
    alarmTopicArn?: unknown;
}

const ALARM_ARGS = ["backupFreshnessAlarm", "backupMaxAgeMinutes", "alarmTopicArn"] as const;

export const MONITORING_RULES: ArgRule<MonitoringView>[] = [
    argRule(
        ["certificateExpiryWarningDays", "certificateExpiryCriticalDays", "certificateValidityHours"],
        (a) => ({
            warningDays: a.certificateExpiryWarningDays,
            criticalDays: a.certificateExpiryCriticalDays,
            certificateValidityHours: a.certificateValidityHours,
        }),
        certificateExpiryProblems,
    ),
    argRule(
        ["monitoringEtcdJob"],
        (a) => a.monitoringEtcdJob,
        (v) => jobLabelProblems("monitoringEtcdJob", v),
    ),
    argRule(
        ["monitoringApiServerJob"],
        (a) => a.monitoringApiServerJob,
        (v) => jobLabelProblems("monitoringApiServerJob", v),
    ),
    argRule(
        ["etcdDeniedRequestsThreshold", "secretReadRateThreshold"],
        (a) => ({
            etcdDeniedRequestsThreshold: a.etcdDeniedRequestsThreshold,
            secretReadRateThreshold: a.secretReadRateThreshold,
        }),
        (v) => alertThresholdProblems(v as { etcdDeniedRequestsThreshold?: number; secretReadRateThreshold?: number }),
    ),
    argRule(["prometheusRuleNamespace"], (a) => a.prometheusRuleNamespace, prometheusRuleNamespaceProblems),
    argRule(["prometheusRuleLabels"], (a) => a.prometheusRuleLabels, prometheusRuleLabelsProblems),
    argRule(
        ["backups", "backupFreshnessAlarm"],
        (a, given) => ({
            backups: a.backups,
            alarmSwitch: a.backupFreshnessAlarm,
            given: ALARM_ARGS.filter((k) => given.has(k)),
        }),
        alarmShapeProblems,
    ),
    argRule(
        ["backups", "backupFreshnessAlarm", "backupMaxAgeMinutes", "backupIntervalMinutes", "alarmTopicArn"],
        (a) =>
            backupAlarmsEnabled(a)
                ? { maxAge: a.backupMaxAgeMinutes, interval: a.backupIntervalMinutes, topic: a.alarmTopicArn }
                : undefined,
        (v): Problem[] =>
            v === undefined
                ? []
                : [
                      ...backupMaxAgeProblems({
                          backupMaxAgeMinutes: v.maxAge,
                          backupIntervalMinutes: v.interval,
                      }),
                      ...alarmTopicArnProblems(v.topic),
                  ],
    ),
];
