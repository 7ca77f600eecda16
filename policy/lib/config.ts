// Policy settings with their defaults. The CLI validates a pack's config against each policy's
// schema; these readers still fall back to the defaults, so a policy behaves the same when it is
// called without any config (tests, older CLIs).
import { plainProps } from "./values";

export function numberSetting(config: unknown, key: string, fallback: number): number {
    const value = plainProps(config)[key];
    return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

export function stringListSetting(config: unknown, key: string, fallback: readonly string[]): string[] {
    const value = plainProps(config)[key];
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : [...fallback];
}

export function numberListSetting(config: unknown, key: string, fallback: readonly number[]): number[] {
    const value = plainProps(config)[key];
    return Array.isArray(value) && value.every((v) => typeof v === "number") ? value : [...fallback];
}
