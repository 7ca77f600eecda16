// etcd's backend quota as a static pod's command sets it: set, and not above etcd's recommended
// maximum (8 GiB). Unset, etcd uses 2 GiB, and a database that reaches it raises NOSPACE: the
// component always renders the flag (quotaBackendBytes), so a manifest without it was changed by hand.
// The finding is here (the pack reads the rendered manifest, not the arguments); the maximum is the
// component's own, from secure-etcd/rules.
import { MAX_QUOTA_BACKEND_BYTES } from "secure-etcd/rules";

/** Why an etcd command's quota is not acceptable, or undefined when it is. */
export function quotaBackendBytesFinding(command: readonly string[]): string | undefined {
    const flags = command.filter((a) => a === "--quota-backend-bytes" || a.startsWith("--quota-backend-bytes="));
    if (flags.length === 0) {
        return "sets no --quota-backend-bytes, so etcd uses its 2 GiB default; set quotaBackendBytes (8 GiB by default)";
    }
    const value = flags[flags.length - 1].split("=")[1];
    const bytes = value === undefined ? NaN : Number(value);
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
        return `sets --quota-backend-bytes to ${JSON.stringify(value ?? "")}, not a positive whole number of bytes; set quotaBackendBytes`;
    }
    if (bytes > MAX_QUOTA_BACKEND_BYTES) {
        return `sets --quota-backend-bytes to ${bytes}, above etcd's recommended maximum of ${MAX_QUOTA_BACKEND_BYTES} (8 GiB); set quotaBackendBytes to at most that`;
    }
    return undefined;
}
