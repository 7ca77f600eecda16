// The node agent as a member gets it: the one-file artifact (`npm run build:agent`, which npm test
// and npm run test:e2e build first), copied alone into a directory with no node_modules in it or
// above it, so nothing the artifact needs can come from anywhere but itself.
import * as fs from "fs";
import * as path from "path";

/** The checkout (this file is compiled to build/test/harness/). */
const ROOT = path.resolve(__dirname, "..", "..", "..");

export const AGENT_BUNDLE_DIR = path.join(ROOT, "dist", "agent-bundle");
export const AGENT_BUNDLE = path.join(AGENT_BUNDLE_DIR, "secure-etcd.cjs");
export const AGENT_BUNDLE_SHA256 = `${AGENT_BUNDLE}.sha256`;
export const AGENT_BUNDLE_NOTICES = path.join(AGENT_BUNDLE_DIR, "THIRD-PARTY-NOTICES.txt");

/** The artifact's path; a clear error when it was not built. */
export function agentBundle(): string {
    if (!fs.existsSync(AGENT_BUNDLE)) {
        throw new Error(`${AGENT_BUNDLE} is missing: run \`npm run build:agent\``);
    }
    return AGENT_BUNDLE;
}

/** Every node_modules folder Node's resolution would look in from `dir`: the folder and each above it. */
export function nodeModulesAbove(dir: string): string[] {
    const found: string[] = [];
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "node_modules"))) {
            found.push(path.join(d, "node_modules"));
        }
        if (d === path.dirname(d)) {
            return found;
        }
    }
}

/**
 * A copy of the artifact alone in `dir` (which must have no node_modules in it or above it), as
 * the boot script installs it: executable, run through its `#!/usr/bin/env node` line.
 */
export function isolatedAgent(dir: string): string {
    const above = nodeModulesAbove(dir);
    if (above.length > 0) {
        throw new Error(`${dir} is not isolated: Node would resolve modules from ${above.join(", ")}`);
    }
    const file = path.join(dir, "secure-etcd");
    fs.copyFileSync(agentBundle(), file);
    fs.chmodSync(file, 0o755);
    return file;
}
