// The package's three roots: the component library (src/, what `require("secure-etcd")` loads), the
// node agent (agent/, the `secure-etcd` command) and testing support (testing/: mocks, emulators,
// the local cluster, the probes and the demo). Shipped code imports nothing from testing support or
// the tests, and every package it imports is a runtime dependency, so an install without dev
// dependencies works (.ci/run installs the packed tarball that way and runs the command).
import { strict as assert } from "assert";
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";

const ROOT = path.join(__dirname, "../../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    files: string[];
    exports: Record<string, unknown>;
    bin: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.join(dir, e.name);
        return e.isDirectory() ? sourceFiles(rel) : e.name.endsWith(".ts") ? [rel] : [];
    });
}

/** Every module a file imports or re-exports, as written. */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const patterns = [
        /^\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gm,
        /^\s*import\s+"([^"]+)"/gm,
        /\b(?:import|require)\(\s*"([^"]+)"\s*\)/g,
    ];
    const specs = patterns.flatMap((p) => [...text.matchAll(p)].map((m) => m[1]));
    return [...new Set(specs)];
}

/** The package a bare specifier names: `@scope/name` or `name`. */
function packageOf(spec: string): string {
    const parts = spec.split("/");
    return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Where a relative import lands, as a path from the repository root. */
function target(file: string, spec: string): string {
    return path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec));
}

describe("package roots", () => {
    const shipped = { src: sourceFiles("src"), agent: sourceFiles("agent") };

    it("the component library imports only itself", () => {
        for (const file of shipped.src) {
            for (const spec of importsOf(file).filter((s) => s.startsWith("."))) {
                assert.ok(target(file, spec).startsWith("src/"), `${file} imports ${spec}`);
            }
        }
    });

    it("the node agent imports only itself and the component library's pure modules", () => {
        for (const file of shipped.agent) {
            for (const spec of importsOf(file).filter((s) => s.startsWith("."))) {
                const to = target(file, spec);
                assert.ok(to.startsWith("agent/") || to.startsWith("src/"), `${file} imports ${spec}`);
            }
        }
    });

    it("every package shipped code imports is a runtime dependency (not a devDependency)", () => {
        const builtins = new Set(builtinModules);
        for (const file of [...shipped.src, ...shipped.agent]) {
            for (const spec of importsOf(file).filter((s) => !s.startsWith("."))) {
                const name = packageOf(spec.replace(/^node:/, ""));
                if (builtins.has(name)) {
                    continue;
                }
                assert.ok(pkg.dependencies[name], `${file} imports ${spec}, which is not in dependencies`);
            }
        }
    });

    it("publishes only the built library and agent, through an exports map", () => {
        assert.deepEqual(pkg.files, ["dist/src", "dist/agent"]);
        assert.deepEqual(Object.keys(pkg.exports).sort(), [".", "./package.json", "./rules"]);
        assert.equal(pkg.bin["secure-etcd"], "dist/agent/cli/main.js");
    });

    it("the policy pack reaches the component's predicates only through secure-etcd/rules", () => {
        for (const file of sourceFiles("policy")) {
            for (const spec of importsOf(file)) {
                assert.ok(!/(^|\/)src\//.test(spec), `${file} imports ${spec}`);
                if (packageOf(spec) === "secure-etcd") {
                    assert.equal(spec, "secure-etcd/rules", file);
                }
            }
        }
    });

    it("tests import testing support from one place (no re-export shims)", () => {
        for (const file of sourceFiles("test")) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            assert.ok(!/^export \* from "[^"]+";\s*(\/\/.*)?$/m.test(text.trim()), `${file} is a re-export shim`);
        }
    });
});
