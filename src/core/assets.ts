// Files the package ships beside its code (the Python programs nodes run), read at runtime. tsc does
// not copy them: scripts/copy-assets.mjs does, into build/src/ and dist/src/; from source (ts-node, a
// plugin run by `pulumi package add`) they are read where they are. Either way, from this file's
// folder: <src>/core.
import * as fs from "fs";
import * as path from "path";

/** src/, or its compiled copy (build/src/ or dist/src/). */
const SRC_ROOT = path.join(__dirname, "..");

const cache = new Map<string, string>();

/** The text of an asset, by its path from src/, e.g. `rbac/assets/rbac_bootstrap.py`. */
export function readAsset(relativePath: string): string {
    let text = cache.get(relativePath);
    if (text === undefined) {
        const file = path.join(SRC_ROOT, relativePath);
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            throw new Error(
                `secure-etcd: asset ${relativePath} is missing at ${file} (the build copies assets with ` +
                    `scripts/copy-assets.mjs): ${(e as Error).message}`,
            );
        }
        cache.set(relativePath, text);
    }
    return text;
}

/**
 * The one line of a Python asset that a renderer fills in: `NAME = None  # secure-etcd: data`. The
 * program runs with the data as NAME; standalone (None) it refuses to.
 */
const PYTHON_DATA_LINE = /^([A-Z][A-Z0-9_]*) = None {2}# secure-etcd: data$/gm;

export interface PythonDataOptions {
    /** Pretty-print the JSON over lines of its own, indented this much; default: one compact line. */
    indent?: number;
}

/**
 * `source` with its data line replaced by `NAME = json.loads(r"""<data as JSON>""")`. ASCII only
 * (JSON escapes the rest), so the rendered program does not depend on the node's locale.
 */
export function embedPythonData(source: string, data: object, options: PythonDataOptions = {}): string {
    const lines = [...source.matchAll(PYTHON_DATA_LINE)];
    if (lines.length !== 1) {
        throw new Error(
            `a Python asset needs exactly one "NAME = None  # secure-etcd: data" line; found ${lines.length}`,
        );
    }
    if (!/^import json$/m.test(source)) {
        throw new Error("a Python asset that takes data must `import json`");
    }
    const json = JSON.stringify(data, null, options.indent).replace(
        /[\u007f-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    // An object or array: it cannot end in `"` or `\`, which would end or escape the closing quotes;
    // and `"""` never occurs, since JSON escapes every quote inside a string. Checked all the same.
    if (!/^[[{]/.test(json) || json.includes('"""')) {
        throw new Error("this data cannot be embedded in a Python triple-quoted raw string");
    }
    const [line, name] = lines[0];
    const literal = options.indent
        ? `${name} = json.loads(\n    r"""\n${json}\n"""\n)`
        : `${name} = json.loads(r"""${json}""")`;
    const at = lines[0].index;
    // Sliced, not String.replace: a replacement string would expand `$&` and `$'` found in the data.
    return source.slice(0, at) + literal + source.slice(at + line.length);
}

/** A Python asset (path from src/) rendered with its data: one self-contained program. */
export function renderPythonAsset(relativePath: string, data: object, options: PythonDataOptions = {}): string {
    return embedPythonData(readAsset(relativePath), data, options);
}
