// The asset helper: assets are read from beside the compiled code (so the build copied them), and
// data reaches a Python program intact through its one data line, whatever the data holds.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { embedPythonData, readAsset, renderPythonAsset } from "../../src/core/assets";
import { NODE_BOOTSTRAP_ASSET } from "../../src/nodes/cloudInit";
import { RBAC_BOOTSTRAP_ASSET } from "../../src/rbac/bootstrapScript";

const PROGRAM = [
    "#!/usr/bin/env python3",
    "import json",
    "import sys",
    "",
    "# Filled in when rendered.",
    "DATA = None  # secure-etcd: data",
    "",
    "json.dump(DATA, sys.stdout)",
    "",
].join("\n");

/** Runs a rendered program; what it printed, parsed. */
function runPython(source: string): unknown {
    return JSON.parse(execFileSync("python3", ["-c", source], { encoding: "utf8" }));
}

describe("assets: Python programs shipped as files", () => {
    it("reads every program from beside the compiled code, where the build copied it", () => {
        for (const asset of [RBAC_BOOTSTRAP_ASSET, NODE_BOOTSTRAP_ASSET]) {
            const text = readAsset(asset);
            assert.ok(text.startsWith("#!/usr/bin/env python3\n"), asset);
            assert.equal(text.match(/^[A-Z_]+ = None {2}# secure-etcd: data$/gm)?.length, 1, asset);
        }
    });

    it("names the missing file and the copy step when an asset is absent", () => {
        assert.throws(
            () => readAsset("rbac/assets/nothing.py"),
            /asset rbac\/assets\/nothing\.py is missing at .*copy-assets/,
        );
    });

    it("replaces the data line only: on one line, or pretty-printed over lines of its own", () => {
        const compact = embedPythonData(PROGRAM, { a: [1, 2] });
        assert.equal(
            compact,
            PROGRAM.replace("DATA = None  # secure-etcd: data", 'DATA = json.loads(r"""{"a":[1,2]}""")'),
        );
        const pretty = embedPythonData(PROGRAM, { a: 1 }, { indent: 4 });
        assert.match(pretty, /^DATA = json\.loads\(\n {4}r"""\n\{\n {4}"a": 1\n\}\n"""\n\)$/m);
        assert.deepEqual(runPython(pretty), { a: 1 });
    });

    it("carries awkward data intact, as ASCII: quotes, backslashes, `$&`, non-ASCII", () => {
        const data = {
            quotes: '"""\'\'\'"',
            backslashes: "\\ \\n \\u0041 \\",
            dollars: "$& $' $` $$ $1",
            text: "héllo ✓ 😀 \u2028",
            lines: "a\nb\r\n",
            empty: ["", {}],
        };
        for (const options of [{}, { indent: 2 }]) {
            const rendered = embedPythonData(PROGRAM, data, options);
            assert.ok(!/[^\t\n\x20-\x7e]/.test(rendered), "printable ASCII only");
            assert.deepEqual(runPython(rendered), data);
        }
    });

    it("refuses a program without exactly one data line, or without `import json`", () => {
        assert.throws(() => embedPythonData("import json\n", {}), /exactly one .* found 0/);
        const twice = `${PROGRAM}OTHER = None  # secure-etcd: data\n`;
        assert.throws(() => embedPythonData(twice, {}), /exactly one .* found 2/);
        assert.throws(() => embedPythonData(PROGRAM.replace("import json\n", ""), {}), /must `import json`/);
    });

    it("renders each shipped program into one that python3 compiles", () => {
        for (const asset of [RBAC_BOOTSTRAP_ASSET, NODE_BOOTSTRAP_ASSET]) {
            const rendered = renderPythonAsset(asset, { any: "data" });
            execFileSync("python3", ["-c", "import ast, sys; ast.parse(sys.stdin.read())"], { input: rendered });
            assert.ok(!rendered.includes("# secure-etcd: data"), asset);
        }
    });
});
