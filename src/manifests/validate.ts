// Rules for the static pod: a release the package knows, a non-root identity, a pinned digest.
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { etcdVersionProblem } from "./etcdVersion";

export function etcdVersionProblems(value: unknown): Problem[] {
    const reason =
        typeof value === "string"
            ? etcdVersionProblem(value)
            : `${quote(value)} is not an etcd release number; give MAJOR.MINOR.PATCH`;
    return reason ? [{ path: "etcdVersion", reason }] : [];
}

/** Runtime identity and image pinning of the static pod. */
export function podProblems(v: { etcdUid: unknown; etcdGid: unknown; etcdImageDigest: unknown }): Problem[] {
    const problems: Problem[] = [];
    for (const key of ["etcdUid", "etcdGid"] as const) {
        const id = v[key];
        if (!Number.isInteger(id) || (id as number) < 1 || (id as number) > 2147483647) {
            problems.push({
                path: key,
                reason: `${quote(id)} is not a non-root id; give a whole number from 1 to 2147483647, e.g. 2379 (etcd must not run as root)`,
            });
        }
    }
    const digest = v.etcdImageDigest;
    if (digest !== undefined && !(typeof digest === "string" && /^sha256:[0-9a-f]{64}$/.test(digest))) {
        problems.push({
            path: "etcdImageDigest",
            reason: `${quote(digest)} is not an image digest; give "sha256:" followed by 64 lowercase hex digits`,
        });
    }
    return problems;
}

interface PodView {
    etcdVersion: unknown;
    etcdUid: unknown;
    etcdGid: unknown;
    etcdImageDigest?: unknown;
}

export const POD_RULES: ArgRule<PodView>[] = [
    argRule(["etcdVersion"], (a) => a.etcdVersion, etcdVersionProblems),
    argRule(
        ["etcdUid", "etcdGid", "etcdImageDigest"],
        (a) => ({ etcdUid: a.etcdUid, etcdGid: a.etcdGid, etcdImageDigest: a.etcdImageDigest }),
        (v) => podProblems(v as { etcdUid: unknown; etcdGid: unknown; etcdImageDigest: unknown }),
    ),
];
