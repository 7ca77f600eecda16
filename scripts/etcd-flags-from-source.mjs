// Writes test/fixtures/etcd-flags/<tag>.json: the command-line flags an etcd release defines, read
// from that release's own Go sources in a git clone of etcd-io/etcd (no etcd binary needed).
//
//   node scripts/etcd-flags-from-source.mjs <etcd git dir> v3.5.33 v3.6.14 v3.7.1
//
// For each tag it records where every flag is registered (path:line of the `fs.XxxVar(..., "name", ...)`
// call or the feature gate's `AddFlag`), the flags the help text (`etcd --help`, server/etcdmain/help.go)
// lists, the server feature gates, and the 3.6 maps from `--experimental-*` flags to their
// replacements. Only names and line numbers are kept: no etcd code is copied. Unit tests read the
// fixtures (test/unit/etcdFlagsSource.test.ts); docs/static-pod.md says what they prove.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = path.join(root, "test/fixtures/etcd-flags");

/** The files that register the etcd server's flags, per release line (3.5 keeps them in etcdmain). */
const FLAG_FILES = ["server/embed/config.go", "server/etcdmain/config.go"];
const HELP_FILE = "server/etcdmain/help.go";
const FEATURES_FILE = "server/features/etcd_features.go";

const [gitDir, ...tags] = process.argv.slice(2);
if (!gitDir || tags.length === 0) {
    console.error("usage: node scripts/etcd-flags-from-source.mjs <etcd git dir> <tag>...");
    process.exit(2);
}

const git = (...args) => execFileSync("git", ["-C", gitDir, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });

/** A file at a tag, or undefined when the tag does not have it. */
function show(tag, file) {
    try {
        return execFileSync("git", ["-C", gitDir, "show", `${tag}:${file}`], {
            encoding: "utf8",
            maxBuffer: 64 << 20,
            stdio: ["ignore", "pipe", "ignore"],
        });
    } catch {
        return undefined;
    }
}

/** Line number (1-based) of a character offset. */
const lineOf = (text, offset) => text.slice(0, offset).split("\n").length;

/**
 * The top-level arguments of the call (or composite literal) whose "(" or "{" is at `open`, as
 * source text. Skips Go string, raw-string and rune literals, line comments and nested brackets.
 */
function callArguments(text, open) {
    const args = [];
    let depth = 0;
    let start = open + 1;
    for (let i = open; i < text.length; i++) {
        const c = text[i];
        if (c === '"' || c === "'") {
            for (i++; text[i] !== c; i++) {
                if (text[i] === "\\") i++;
            }
        } else if (c === "`") {
            i = text.indexOf("`", i + 1);
        } else if (c === "/" && text[i + 1] === "/") {
            i = text.indexOf("\n", i);
        } else if ("([{".includes(c)) {
            depth++;
        } else if (")]}".includes(c)) {
            depth--;
            if (depth === 0) {
                args.push(text.slice(start, i).trim());
                return args;
            }
        } else if (c === "," && depth === 1) {
            args.push(text.slice(start, i).trim());
            start = i + 1;
        }
    }
    throw new Error(`unbalanced call at offset ${open}`);
}

/** `NAME = "value"` string constants in the given sources, by unqualified name. */
function stringConstants(sources) {
    const constants = new Map();
    for (const text of sources) {
        for (const m of text.matchAll(/^\s*([A-Za-z_]\w*)\s*(?:[A-Za-z_][\w.]*\s*)?=\s*"([^"\\]*)"/gm)) {
            constants.set(m[1], m[2]);
        }
    }
    return constants;
}

/** The flag name an argument expression denotes: a string literal or a known constant. */
function flagName(expr, constants) {
    const literal = /^"([^"\\]*)"$/.exec(expr);
    if (literal) return literal[1];
    const ident = /^(?:\w+\.)?([A-Za-z_]\w*)$/.exec(expr);
    return ident && constants.has(ident[1]) ? constants.get(ident[1]) : undefined;
}

/** Methods of Go's flag.FlagSet that define a flag, and which argument is the flag's name. */
function nameArgument(method) {
    if (method === "Var" || /^(Bool|Int|Int64|Uint|Uint64|String|Float64|Duration|Text)Var$/.test(method)) return 1;
    if (/^(Bool|Int|Int64|Uint|Uint64|String|Float64|Duration|Func|BoolFunc)$/.test(method)) return 0;
    return undefined;
}

function registeredFlags(tag) {
    const files = FLAG_FILES.map((file) => ({ file, text: show(tag, file) })).filter((f) => f.text !== undefined);
    const constants = stringConstants(files.map((f) => f.text));
    const flags = {};
    const unresolved = [];
    const add = (name, where) => {
        flags[`--${name}`] ??= where;
    };
    for (const { file, text } of files) {
        for (const m of text.matchAll(/\bfs\.(\w+)\(/g)) {
            const index = nameArgument(m[1]);
            if (index === undefined) continue;
            const open = m.index + m[0].length - 1;
            const expr = callArguments(text, open)[index];
            const name = flagName(expr, constants);
            const where = `${file}:${lineOf(text, m.index)}`;
            if (name === undefined) {
                unresolved.push({ at: where, name: expr });
            } else {
                add(name, where);
            }
        }
        // Feature gates register their own flag: gate.AddFlag(fs, <name>).
        for (const m of text.matchAll(/\.AddFlag\(\s*fs\s*,\s*([^)]+?)\s*\)/g)) {
            const name = flagName(m[1], constants);
            const where = `${file}:${lineOf(text, m.index)}`;
            if (name === undefined) {
                unresolved.push({ at: where, name: m[1] });
            } else {
                add(name, where);
            }
        }
    }
    return { files: files.map((f) => f.file), flags: sortKeys(flags), unresolved };
}

/** The flags `etcd --help` lists: lines "  --name ..." of the help text, as the e2e test reads them. */
function helpFlags(tag) {
    const text = show(tag, HELP_FILE);
    if (text === undefined) return undefined;
    return [...new Set([...text.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1]))].sort();
}

/** The entries of a Go map literal `NAME = map[...]...{ key: value, ... }`, as source text. */
function mapLiteral(text, name) {
    const m = new RegExp(`\\b${name}\\s*=\\s*map\\[[^\\]]+\\][\\w.]+\\s*\\{`).exec(text);
    if (!m) return undefined;
    const body = callArguments(text, m.index + m[0].length - 1);
    return body
        .map((entry) => entry.replace(/\/\/.*$/gm, "").trim())
        .filter((entry) => entry !== "")
        .map((entry) => {
            const colon = entry.indexOf(":");
            return [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
        });
}

function featureGates(tag) {
    const text = show(tag, FEATURES_FILE);
    if (text === undefined) return { gates: undefined, experimentalToGate: undefined };
    const names = new Map(
        [...text.matchAll(/^\s*(\w+)\s+featuregate\.Feature\s*=\s*"([^"]+)"/gm)].map((m) => [m[1], m[2]]),
    );
    const gates = {};
    for (const [ident, spec] of mapLiteral(text, "DefaultEtcdServerFeatureGates") ?? []) {
        const d = /Default:\s*(true|false)/.exec(spec);
        const p = /PreRelease:\s*featuregate\.(\w+)/.exec(spec);
        gates[names.get(ident) ?? ident] = { default: d?.[1] === "true", preRelease: p?.[1] ?? null };
    }
    const moved = mapLiteral(text, "ExperimentalFlagToFeatureMap");
    const experimentalToGate = moved
        ? Object.fromEntries(moved.map(([k, v]) => [`--${JSON.parse(k)}`, `--feature-gates=${names.get(v) ?? v}`]))
        : undefined;
    return { gates: sortKeys(gates), experimentalToGate: experimentalToGate && sortKeys(experimentalToGate) };
}

/** 3.6's map from the non-boolean `--experimental-*` flags to their unprefixed successors. */
function experimentalToFlag(tag) {
    const text = show(tag, "server/embed/config.go");
    const entries = text && mapLiteral(text, "experimentalFlagMigrationMap");
    return entries
        ? sortKeys(Object.fromEntries(entries.map(([k, v]) => [`--${JSON.parse(k)}`, `--${JSON.parse(v)}`])))
        : undefined;
}

function sortKeys(object) {
    return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}

fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const tag of tags) {
    const commit = git("rev-list", "-n", "1", tag).trim();
    const date = git("log", "-1", "--format=%cI", commit).trim();
    const { files, flags, unresolved } = registeredFlags(tag);
    if (Object.keys(flags).length < 50) {
        throw new Error(`${tag}: only ${Object.keys(flags).length} flags found in ${files.join(", ")}`);
    }
    const { gates, experimentalToGate } = featureGates(tag);
    const fixture = {
        description:
            "Flags the etcd server defines at this tag, read from its Go sources by scripts/etcd-flags-from-source.mjs (names and line numbers only).",
        source: {
            repository: "https://github.com/etcd-io/etcd",
            tag,
            commit,
            commitDate: date,
            files: Object.fromEntries(
                [...files, HELP_FILE, FEATURES_FILE, "server/embed/config.go"]
                    .filter((f, i, all) => all.indexOf(f) === i && show(tag, f) !== undefined)
                    .sort()
                    .map((f) => [f, git("rev-parse", `${tag}:${f}`).trim()]),
            ),
        },
        flags,
        helpFlags: helpFlags(tag),
        featureGates: gates ?? null,
        replacedExperimentalFlags: { ...(experimentalToFlag(tag) ?? {}), ...(experimentalToGate ?? {}) },
        notResolved: unresolved,
    };
    const out = path.join(outDir, `${tag}.json`);
    fs.writeFileSync(out, `${JSON.stringify(fixture, null, 2)}\n`);
    written.push(out);
    console.log(
        `${tag} (${commit.slice(0, 12)}): ${Object.keys(flags).length} flags, ${fixture.helpFlags?.length ?? 0} in help, ` +
            `${Object.keys(gates ?? {}).length} feature gates -> ${path.relative(root, out)}`,
    );
}
// The repository's formatter owns the layout, so a regenerated fixture diffs only where etcd changed.
const prettier = spawnSync(path.join(root, "node_modules/.bin/prettier"), ["--write", ...written], {
    stdio: "inherit",
});
if (prettier.status !== 0) {
    console.error("prettier did not format the fixtures; run `npx prettier --write test/fixtures/etcd-flags`");
}
