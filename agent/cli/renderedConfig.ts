// Reading a configuration file the component rendered onto the node: JSON, with the fields each
// command needs, or one usage error (exit 2) naming the file and what is wrong with it.
import * as fs from "fs";

/** A usage problem: printed without a stack, exit 2. */
export class UsageError extends Error {}

/** The JSON in `file`; a usage error prefixed `label` when it cannot be read or parsed. */
export function readJsonFile(file: string, label = file): unknown {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    } catch (e) {
        throw new UsageError(`${label}: ${(e as Error).message}`);
    }
}

export interface FieldSpec {
    strings?: readonly string[];
    numbers?: readonly string[];
    booleans?: readonly string[];
    /** Lists of strings; `nonEmpty` ones need at least one. */
    stringLists?: readonly string[];
    nonEmpty?: readonly string[];
}

/** The fields of `value` that are missing or of the wrong type, in the spec's order. */
export function wrongFields(value: Record<string, unknown>, spec: FieldSpec): string[] {
    const isStringList = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
    return [
        ...(spec.booleans ?? []).filter((f) => typeof value[f] !== "boolean"),
        ...(spec.strings ?? []).filter((f) => typeof value[f] !== "string"),
        ...(spec.numbers ?? []).filter((f) => typeof value[f] !== "number" || !Number.isFinite(value[f])),
        ...(spec.stringLists ?? []).filter(
            (f) =>
                !isStringList(value[f]) || ((spec.nonEmpty ?? []).includes(f) && (value[f] as unknown[]).length === 0),
        ),
    ];
}

/** A rendered configuration of `kind` in `file` (`--config`), or a usage error naming every wrong field. */
export function readRenderedConfig(file: string, kind: string, spec: FieldSpec): Record<string, unknown> {
    const value = (readJsonFile(file, `--config ${file}`) ?? {}) as Record<string, unknown>;
    const wrong = wrongFields(value, spec);
    if (wrong.length > 0) {
        throw new UsageError(
            `--config ${file} is not a ${kind} configuration secure-etcd rendered: ${wrong.join(", ")} missing or of the wrong type`,
        );
    }
    return value;
}
