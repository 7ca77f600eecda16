// Reading resource properties the way a policy sees them: secrets already unwrapped, and during a
// preview any value that depends on a resource not yet created replaced by an "unknown" sentinel.
// Policies read through these helpers, so an unknown value is skipped (no violation) rather than
// thrown on by the SDK's proxy, which would abandon the whole policy for that resource.

/**
 * The engine's sentinels for values unknown during a preview, one per type (the wire constants of
 * the Pulumi SDKs; the policy tests check them against the installed @pulumi/policy).
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** The SDK's key for reaching the plain object behind its unknown-checking proxy. */
const PROXY_TARGET = "__getSpecialProxyTarget";

/** A value that is not known yet (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

export type Props = Record<string, unknown>;

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN || (typeof value === "string" && UNKNOWN_SENTINELS.has(value));
}

/** Whether a value is unknown or holds an unknown anywhere inside. */
export function containsUnknown(value: unknown): boolean {
    if (isUnknown(value)) {
        return true;
    }
    if (Array.isArray(value)) {
        return value.some(containsUnknown);
    }
    if (typeof value === "object" && value !== null) {
        return Object.values(value).some(containsUnknown);
    }
    return false;
}

/** The plain properties behind the SDK's proxy (or the object itself when it is not one). */
export function plainProps(props: unknown): Props {
    if (typeof props !== "object" || props === null) {
        return {};
    }
    const target = (props as Record<string, unknown>)[PROXY_TARGET];
    return (typeof target === "object" && target !== null ? target : props) as Props;
}

/** A known value of the expected shape; UNKNOWN; or undefined when absent or of another shape. */
export type Read<T> = T | Unknown | undefined;

function read<T>(value: unknown, is: (v: unknown) => v is T): Read<T> {
    if (isUnknown(value)) {
        return UNKNOWN;
    }
    return is(value) ? value : undefined;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isNumber = (v: unknown): v is number => typeof v === "number";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Props => typeof v === "object" && v !== null && !Array.isArray(v);

export const readString = (v: unknown): Read<string> => read(v, isString);
export const readNumber = (v: unknown): Read<number> => read(v, isNumber);
export const readBoolean = (v: unknown): Read<boolean> => read(v, isBoolean);
export const readArray = (v: unknown): Read<unknown[]> => read(v, isArray);
export const readObject = (v: unknown): Read<Props> => read(v, isObject);

/** A property path such as `rules[0].applyServerSideEncryptionByDefault`; UNKNOWN if any step is. */
export function readPath(value: unknown, path: (string | number)[]): unknown {
    let current: unknown = value;
    for (const step of path) {
        if (isUnknown(current)) {
            return UNKNOWN;
        }
        if (typeof current !== "object" || current === null) {
            return undefined;
        }
        current = (current as Record<string | number, unknown>)[step];
    }
    return isUnknown(current) ? UNKNOWN : current;
}

/** The string keys and values of a tags map; UNKNOWN when the map itself is. */
export function readTags(value: unknown): Record<string, unknown> | Unknown {
    const tags = readObject(value);
    return tags === UNKNOWN ? UNKNOWN : (tags ?? {});
}
