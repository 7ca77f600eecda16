// Revocation: the rules for `revokedCertificates` and the clients' `generation`, the child-name
// suffix a generation gives, and what the CRLs are rendered from. Pure.
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { canonicalSerial, CrlEntry } from "./crl";

/** Hex digits, optionally in `:`-separated groups (openssl's and browsers' spelling). */
const SERIAL = /^[0-9a-fA-F]+(?::[0-9a-fA-F]+)*$/;
/** RFC 3339 date-time (§5.6), seconds required, fraction and offset allowed. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** RFC 5280 §4.1.2.2: a serial number is at most 20 octets. */
const MAX_SERIAL_HEX = 40;
/** Generations above this are surely a typo: each one is a new key. */
export const MAX_GENERATION = 1000;

function serialReason(value: unknown): string | undefined {
    if (typeof value !== "string" || !SERIAL.test(value)) {
        return `${quote(value)} is not a serial number; give it in hex as the \`certificates\` output's serialNumber shows it, e.g. "5c1f0e2a9b..."`;
    }
    const canonical = canonicalSerial(value);
    if (canonical === "0" || canonical.length > MAX_SERIAL_HEX) {
        return `${quote(value)} is not a certificate serial number (a positive number of at most 20 bytes, RFC 5280); copy it from the \`certificates\` output`;
    }
    return undefined;
}

function revokedAtReason(value: unknown): string | undefined {
    const m = typeof value === "string" ? RFC3339.exec(value) : null;
    const valid =
        m !== null &&
        !Number.isNaN(Date.parse(value as string)) &&
        +m[2] >= 1 &&
        +m[2] <= 12 &&
        +m[3] >= 1 &&
        +m[3] <= 31 &&
        +m[4] <= 23 &&
        +m[5] <= 59 &&
        +m[6] <= 59;
    if (!valid) {
        return `${quote(value)} is not an RFC 3339 date-time; give when the certificate was revoked, e.g. "2026-11-30T10:00:00Z" (it fixes the CRL's dates, so keep it once set)`;
    }
    const year = new Date(Date.parse(value as string)).getUTCFullYear();
    if (year < 1950 || year > 9999) {
        return `${quote(value)} is outside the years 1950 to 9999 a CRL can state; give the date the certificate was revoked`;
    }
    return undefined;
}

/** `revokedCertificates`: a list of objects, each with a serial and a date, every serial once. */
export function revocationProblems(value: unknown): Problem[] {
    if (!Array.isArray(value)) {
        return [
            {
                path: "revokedCertificates",
                reason: `${quote(value)} is not a list; give [{ serialNumber, revokedAt }, ...] or leave it out`,
            },
        ];
    }
    const problems: Problem[] = [];
    const seen = new Map<string, number>();
    value.forEach((entry: unknown, i) => {
        const path = `revokedCertificates[${i}]`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            problems.push({ path, reason: `${quote(entry)} is not an object; give { serialNumber, revokedAt }` });
            return;
        }
        const { serialNumber, revokedAt } = entry as Record<string, unknown>;
        const serial = serialReason(serialNumber);
        if (serial) {
            problems.push({ path: `${path}.serialNumber`, reason: serial });
        } else {
            const canonical = canonicalSerial(serialNumber as string);
            const first = seen.get(canonical);
            if (first !== undefined) {
                problems.push({
                    path: `${path}.serialNumber`,
                    reason: `${quote(serialNumber)} is already revoked by revokedCertificates[${first}]; list each certificate once`,
                });
            } else {
                seen.set(canonical, i);
            }
        }
        const date = revokedAtReason(revokedAt);
        if (date) {
            problems.push({ path: `${path}.revokedAt`, reason: date });
        }
    });
    return problems;
}

/** Each client's `generation`: a whole number from 1. */
export function generationProblems(clients: { generation: unknown }[]): Problem[] {
    return clients.flatMap(({ generation }, i) =>
        Number.isInteger(generation) && (generation as number) >= 1 && (generation as number) <= MAX_GENERATION
            ? []
            : [
                  {
                      path: `clients[${i}].generation`,
                      reason: `${quote(generation)} is not a generation; give a whole number from 1 to ${MAX_GENERATION}, one more than the last to issue a new key and certificate`,
                  },
              ],
    );
}

/**
 * The suffix of a client's child resource names: none for the first generation (the names clients
 * have always had, so existing stacks change nothing), `.g<n>` after. A dot, because no client name
 * (a DNS-1123 label) has one: client `a` at generation 2 never takes the names of a client `a-g2`.
 */
export function generationSuffix(generation: number): string {
    return generation === 1 ? "" : `.g${generation}`;
}

/** The entries both CRLs list, in canonical form. Validated beforehand. */
export function crlEntries(revoked: readonly { serialNumber: string; revokedAt: string }[]): CrlEntry[] {
    return revoked.map((r) => ({ serialNumber: canonicalSerial(r.serialNumber), revokedAt: r.revokedAt }));
}

/**
 * Revoked serials that are still the current certificate of something the cluster issues: revoking
 * without re-issuing locks that client (or member) out. One warning per such certificate.
 */
export function revokedInUseWarnings(
    revoked: readonly { serialNumber: string }[],
    current: readonly { id: string; serialNumber: string }[],
): string[] {
    const bySerial = new Map(current.map((c) => [canonicalSerial(c.serialNumber), c.id]));
    return revoked.flatMap((r) => {
        const id = bySerial.get(canonicalSerial(r.serialNumber));
        if (id === undefined) {
            return [];
        }
        const fix = id.startsWith("client/")
            ? `raise clients[].generation of ${id.slice("client/".length)} to issue it a new certificate`
            : "replace it (docs/runbooks.md)";
        return [
            `revokedCertificates: ${r.serialNumber} is the current certificate of ${id}, which every member now refuses; ${fix}`,
        ];
    });
}

interface RevocationView {
    revokedCertificates: unknown;
    clients: { generation: unknown }[];
}

export const REVOCATION_RULES: ArgRule<RevocationView>[] = [
    argRule(["revokedCertificates"], (a) => a.revokedCertificates, revocationProblems),
    argRule(
        ["clients"],
        (a) => a.clients.map((c) => ({ generation: c.generation })),
        (v) => generationProblems(v as { generation: unknown }[]),
    ),
];
