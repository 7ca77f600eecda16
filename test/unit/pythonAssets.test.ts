// The Python programs' own unit tests (test/python/, standard unittest), run here so that npm test
// and CI's count include them: one mocha test per Python test module, titled with its test count.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The checkout: the first folder above this file (in test/ or build/test/) with test/python. */
function checkoutRoot(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "test", "python"))) {
            return dir;
        }
    }
    throw new Error(`no test/python above ${__dirname}`);
}

/** Every Python program shipped from src/ (the files in its assets/ folders), by file name. */
function pythonAssets(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (!entry.isDirectory()) {
            return path.basename(dir) === "assets" && entry.name.endsWith(".py") ? [entry.name] : [];
        }
        return pythonAssets(full);
    });
}

const root = checkoutRoot();
const testDir = path.join(root, "test", "python");
const modules = fs
    .readdirSync(testDir)
    .filter((name) => /^test_\w+\.py$/.test(name))
    .sort();

describe("Python assets: their own unittest suites", function () {
    this.timeout(120_000);

    it("every Python asset has a test module", () => {
        const assets = pythonAssets(path.join(root, "src"));
        assert.ok(assets.length >= 2, assets.join(", "));
        for (const asset of assets) {
            assert.ok(modules.includes(`test_${asset}`), `test/python/test_${asset} for ${asset}`);
        }
    });

    for (const module of modules) {
        it(module, function () {
            // -B: no bytecode written beside the sources.
            const result = spawnSync(
                "python3",
                ["-B", "-m", "unittest", "discover", "--start-directory", testDir, "--pattern", module, "-v"],
                { cwd: root, encoding: "utf8", timeout: 110_000 },
            );
            if (result.error) {
                throw new Error(`cannot run python3 (apt-get install python3): ${result.error.message}`);
            }
            const output = `${result.stdout}${result.stderr}`;
            assert.equal(result.status, 0, output);
            const ran = /^Ran (\d+) tests? in /m.exec(output);
            assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
            this.test!.title = `${module}: ${ran[1]} Python tests pass`;
        });
    }
});
