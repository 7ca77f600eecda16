// The node agent as one artifact (`npm run build:agent`, built by `pretest`): one file with its
// SHA-256 beside it, within its size budget, running every subcommand alone in an empty directory
// without loading any module but Node's own, refusing an older Node clearly, and carrying the
// licence of every package inside. The e2e suites (backup, verify) run the same artifact against
// real etcd and a real S3-protocol server.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    agentBundle,
    AGENT_BUNDLE_NOTICES,
    AGENT_BUNDLE_SHA256,
    isolatedAgent,
    nodeModulesAbove,
} from "../harness/agentBundle";
import { onPath } from "../../agent/etcdBinary";

/**
 * What `npm install --omit=dev` of the packed package brought at 6a2f538 (node_modules, apparent
 * bytes, `du -sb`; 239 MiB on disk): the agent's dependencies came with the component library's.
 */
const TODAY_INSTALL_BYTES = 180_255_272;
/** The artifact may be a tenth of that at most. */
const AGENT_BUNDLE_BUDGET_BYTES = Math.floor(TODAY_INSTALL_BYTES / 10);

const PACKAGE_VERSION = (
    JSON.parse(fs.readFileSync(path.join(__dirname, "../../../package.json"), "utf8")) as { version: string }
).version;

/** Licences that let the artifact carry a package with its notice and nothing more. */
const PERMISSIVE = new Set(["MIT", "ISC", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "0BSD"]);

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(file, args, { ...options, encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) =>
            resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
        );
    });
}

/**
 * Loaded before the artifact (NODE_OPTIONS=--require): fails any resolution of a module that is
 * neither Node's own nor the artifact itself (the main module).
 */
const ONLY_BUILTINS = `
const Module = require("module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, ...rest) {
    if (!isMain && !Module.isBuiltin(request)) {
        throw new Error("the artifact required " + request + ", which is not one of Node's own modules");
    }
    return resolve.call(this, request, parent, isMain, ...rest);
};
`;

/** Loaded before the artifact: Node 18, as Debian 12 and Ubuntu 24.04 package it. */
const NODE_18 = `
Object.defineProperty(process, "versions", { value: { ...process.versions, node: "18.19.1" } });
Object.defineProperty(process, "version", { value: "v18.19.1" });
`;

describe("the node agent as one artifact", function () {
    this.timeout(60_000);
    let dir: string;
    let agent: string;
    let hooks: string;
    /** Only node's own directory on PATH, no NODE_PATH, HOME an empty directory. */
    let cleanEnv: NodeJS.ProcessEnv;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-agent-"));
        hooks = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-agent-hooks-"));
        fs.writeFileSync(path.join(hooks, "only-builtins.cjs"), ONLY_BUILTINS);
        fs.writeFileSync(path.join(hooks, "node-18.cjs"), NODE_18);
        agent = isolatedAgent(dir);
        cleanEnv = { PATH: path.dirname(process.execPath), HOME: dir };
    });

    after(() => {
        for (const d of [dir, hooks]) {
            fs.rmSync(d, { recursive: true, force: true });
        }
    });

    it("is one file with its SHA-256 beside it, in sha256sum's format", async () => {
        const bytes = fs.readFileSync(agentBundle());
        const digest = crypto.createHash("sha256").update(bytes).digest("hex");
        assert.equal(fs.readFileSync(AGENT_BUNDLE_SHA256, "utf8"), `${digest}  secure-etcd.cjs\n`);
        assert.equal(bytes.subarray(0, 20).toString(), "#!/usr/bin/env node\n");
        if (onPath("sha256sum")) {
            const checked = await run("sha256sum", ["--check", "--strict", AGENT_BUNDLE_SHA256], {
                cwd: path.dirname(AGENT_BUNDLE_SHA256),
                env: process.env,
            });
            assert.equal(checked.code, 0, checked.stdout + checked.stderr);
        }
    });

    it("stays within its size budget: a tenth of what the package's install brought", function () {
        const size = fs.statSync(agentBundle()).size;
        assert.ok(
            size <= AGENT_BUNDLE_BUDGET_BYTES,
            `${size} bytes, over the budget of ${AGENT_BUNDLE_BUDGET_BYTES} (a tenth of ${TODAY_INSTALL_BYTES})`,
        );
        this.test!.title += ` (${(size / 1048576).toFixed(1)} MiB of ${(AGENT_BUNDLE_BUDGET_BYTES / 1048576).toFixed(1)} MiB)`;
    });

    it("runs every subcommand's --help alone in an empty directory, loading no module but Node's own", async () => {
        assert.deepEqual(nodeModulesAbove(dir), []);
        assert.deepEqual(fs.readdirSync(dir), ["secure-etcd"]);
        const env = { ...cleanEnv, NODE_OPTIONS: `--require ${path.join(hooks, "only-builtins.cjs")}` };
        for (const [args, says] of [
            [["--help"], /Commands:[\s\S]*backup[\s\S]*restore-verify[\s\S]*verify/],
            [["backup", "--help"], /--only-if-leader/],
            [["restore-verify", "--help"], /--restore/],
            [["verify", "--help"], /--warn-days/],
        ] as const) {
            const ran = await run(agent, [...args], { cwd: dir, env });
            assert.equal(ran.code, 0, `${args.join(" ")}: ${ran.stderr}`);
            assert.match(ran.stdout, says, args.join(" "));
            assert.equal(ran.stderr, "", args.join(" "));
        }
    });

    it("says the package's version, built in (there is no package.json beside it)", async () => {
        const ran = await run(agent, ["--version"], { cwd: dir, env: cleanEnv });
        assert.equal(ran.stdout, `${PACKAGE_VERSION}\n`);
    });

    it("refuses an older Node with one line that says which it needs", async () => {
        const env = { ...cleanEnv, NODE_OPTIONS: `--require ${path.join(hooks, "node-18.cjs")}` };
        const ran = await run(agent, ["backup", "--help"], { cwd: dir, env });
        assert.equal(ran.code, 1);
        assert.equal(ran.stdout, "");
        assert.equal(ran.stderr, "secure-etcd: needs Node.js 20 or later; this is v18.19.1\n");
    });

    it("carries the licence of every package inside, each permissive; none of the component library's Pulumi packages", () => {
        const notices = fs.readFileSync(AGENT_BUNDLE_NOTICES, "utf8");
        const packages = [...notices.matchAll(/^(\S+) (\d\S*) \(([^)]*)\)$/gm)].map((m) => ({
            name: m[1],
            licence: m[3],
        }));
        const names = new Set(packages.map((p) => p.name));
        for (const runtime of [
            "commander",
            "etcd3",
            "@grpc/grpc-js",
            "@aws-sdk/client-s3",
            "@aws-sdk/client-kms",
            "@aws-sdk/lib-storage",
            "@aws-crypto/client-node",
            "@peculiar/x509",
        ]) {
            assert.ok(names.has(runtime), `${runtime} is not inside`);
        }
        assert.deepEqual(
            packages.filter((p) => !PERMISSIVE.has(p.licence)),
            [],
        );
        assert.deepEqual(
            [...names].filter((n) => n.startsWith("@pulumi/")),
            [],
        );
    });
});
