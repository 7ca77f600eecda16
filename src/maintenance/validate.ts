// Rules for the quota and the maintenance schedule: one problem per argument, naming the range.
import { isBackupInterval } from "../backup/validate";
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { MAINTENANCE_DEFAULTS, MAX_QUOTA_BACKEND_BYTES, MIN_QUOTA_BACKEND_BYTES } from "./args";

interface MaintenanceView {
    quotaBackendBytes: unknown;
    defragmentation: unknown;
    defragmentationIntervalMinutes: unknown;
    defragmentationFragmentedRatio: unknown;
    defragmentationQuotaRatio: unknown;
    defragmentationMinFragmentedBytes: unknown;
}

const isWhole = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

export function quotaBackendBytesProblems(value: unknown): Problem[] {
    if (isWhole(value) && value >= MIN_QUOTA_BACKEND_BYTES && value <= MAX_QUOTA_BACKEND_BYTES) {
        return [];
    }
    return [
        {
            path: "quotaBackendBytes",
            reason: `${quote(value)} is not a backend quota etcd handles well; give a whole number of bytes from ${MIN_QUOTA_BACKEND_BYTES} (1 MiB) to ${MAX_QUOTA_BACKEND_BYTES} (8 GiB, etcd's recommended maximum), e.g. ${MAINTENANCE_DEFAULTS.quotaBackendBytes}`,
        },
    ];
}

export function defragmentationProblems(on: unknown): Problem[] {
    return typeof on === "boolean" ? [] : [{ path: "defragmentation", reason: `${quote(on)} is not true or false` }];
}

export function defragmentationIntervalProblems(value: unknown): Problem[] {
    if (isBackupInterval(value)) {
        return [];
    }
    return [
        {
            path: "defragmentationIntervalMinutes",
            reason: `${quote(value)} does not repeat evenly every day; use a divisor of an hour or a whole number of hours that divides a day, e.g. 60, 360 or 1440`,
        },
    ];
}

function ratioProblems(path: string, value: unknown, min: number, max: number, example: number): Problem[] {
    if (typeof value === "number" && Number.isFinite(value) && value >= min && value <= max) {
        return [];
    }
    return [{ path, reason: `${quote(value)} is not a fraction from ${min} to ${max}; e.g. ${example}` }];
}

export function fragmentedRatioProblems(value: unknown): Problem[] {
    return ratioProblems(
        "defragmentationFragmentedRatio",
        value,
        0.05,
        0.95,
        MAINTENANCE_DEFAULTS.defragmentationFragmentedRatio,
    );
}

export function quotaRatioProblems(value: unknown): Problem[] {
    return ratioProblems("defragmentationQuotaRatio", value, 0.1, 0.95, MAINTENANCE_DEFAULTS.defragmentationQuotaRatio);
}

export function minFragmentedBytesProblems(value: unknown): Problem[] {
    if (isWhole(value) && value >= 0) {
        return [];
    }
    return [
        {
            path: "defragmentationMinFragmentedBytes",
            reason: `${quote(value)} is not a whole number of bytes, 0 or more; e.g. ${MAINTENANCE_DEFAULTS.defragmentationMinFragmentedBytes} (64 MiB)`,
        },
    ];
}

export const MAINTENANCE_RULES: ArgRule<MaintenanceView>[] = [
    argRule(["quotaBackendBytes"], (a) => a.quotaBackendBytes, quotaBackendBytesProblems),
    argRule(["defragmentation"], (a) => a.defragmentation, defragmentationProblems),
    argRule(
        ["defragmentationIntervalMinutes"],
        (a) => a.defragmentationIntervalMinutes,
        defragmentationIntervalProblems,
    ),
    argRule(["defragmentationFragmentedRatio"], (a) => a.defragmentationFragmentedRatio, fragmentedRatioProblems),
    argRule(["defragmentationQuotaRatio"], (a) => a.defragmentationQuotaRatio, quotaRatioProblems),
    argRule(
        ["defragmentationMinFragmentedBytes"],
        (a) => a.defragmentationMinFragmentedBytes,
        minFragmentedBytesProblems,
    ),
];
