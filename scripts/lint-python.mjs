// Checks every Python file under src/ (the assets nodes run) and test/python/ (their tests): it
// compiles (python3 -m py_compile, bytecode sent to a throwaway folder, not beside the sources) and
// pyflakes finds nothing (Debian: apt-get install pyflakes3).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function pythonFiles(dir) {
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return entry.name === "__pycache__" ? [] : pythonFiles(full);
        }
        return entry.name.endsWith(".py") ? [path.relative(root, full)] : [];
    });
}

/** Runs a command in the repository: its exit status, or null when it is not installed. */
function run(command, args, env = process.env) {
    const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env });
    if (result.error?.code === "ENOENT") {
        return null;
    }
    if (result.error) {
        throw result.error;
    }
    return result.status;
}

/** Stops unless the check passed. */
function check(name, status, install) {
    if (status === null) {
        console.error(`lint:py: ${name} is not installed (Debian: apt-get install ${install})`);
        process.exit(1);
    }
    if (status !== 0) {
        console.error(`lint:py: ${name} failed`);
        process.exit(1);
    }
}

const files = [...pythonFiles(path.join(root, "src")), ...pythonFiles(path.join(root, "test", "python"))];
if (files.length === 0) {
    console.error("lint:py: no Python file found");
    process.exit(1);
}
const cache = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-pycache-"));
let compiled;
try {
    compiled = run("python3", ["-m", "py_compile", ...files], { ...process.env, PYTHONPYCACHEPREFIX: cache });
} finally {
    fs.rmSync(cache, { recursive: true, force: true });
}
check("python3 -m py_compile", compiled, "python3");
check("pyflakes3", run("pyflakes3", files), "pyflakes3");
console.log(`lint:py: ${files.length} Python files compile and pass pyflakes`);
