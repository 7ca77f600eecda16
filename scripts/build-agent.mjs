// Builds the node agent as one artifact: `dist/agent-bundle/secure-etcd.cjs`, the `secure-etcd`
// command with every runtime dependency inside (commander, etcd3 and gRPC, the AWS SDK, the AWS
// Encryption SDK, @peculiar/x509), so a member needs only `node` (20 or later) to run it. Beside it:
// `secure-etcd.cjs.sha256` (sha256sum's format) and `THIRD-PARTY-NOTICES.txt` (the licence of every
// package inside). The same lockfile gives the same bytes, so anyone can rebuild and compare the
// checksum. Usage: `node scripts/build-agent.mjs [OUT_DIR]` (default dist/agent-bundle).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = path.resolve(root, process.argv[2] ?? "dist/agent-bundle");
const outFile = path.join(outDir, "secure-etcd.cjs");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
/** The oldest Node the artifact runs on: the package's engines, and esbuild's syntax target. */
const MIN_NODE_MAJOR = 20;

/**
 * The lines after the entry's `#!/usr/bin/env node`: strict mode for the whole file (the directive
 * esbuild writes comes after this banner, too late to count), and a clear refusal on an older Node.
 */
const BANNER = [
    '"use strict";',
    `// secure-etcd ${pkg.version}: the node agent as one file (scripts/build-agent.mjs). Licences: THIRD-PARTY-NOTICES.txt.`,
    `if (Number(process.versions.node.split(".")[0]) < ${MIN_NODE_MAJOR}) {`,
    `    process.stderr.write("secure-etcd: needs Node.js ${MIN_NODE_MAJOR} or later; this is " + process.version + "\\n");`,
    "    process.exit(1);",
    "}",
].join("\n");

// Options of etcd3's proto loading (etcd3/lib/connection-pool.js): the same for the JSON form.
const ETCD3_PROTO_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const ETCD3_PROTO_LOAD = "(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {";

/** A package definition as data (functions dropped), to compare two of them. */
function definitionData(definition) {
    return JSON.stringify(definition, (_key, value) => (typeof value === "function" ? undefined : value));
}

/**
 * etcd3 reads its .proto files from disk when it loads, beside its own code. In the artifact the
 * same definitions come from JSON compiled in at build time (@grpc/proto-loader's fromJSON), and
 * the build fails unless they equal what loadSync reads from the files.
 */
function etcd3ProtoFromJson(source, file) {
    const requireHere = createRequire(file);
    const protoLoader = requireHere("@grpc/proto-loader");
    const protobuf = createRequire(requireHere.resolve("@grpc/proto-loader"))("protobufjs");
    const protoFile = path.join(path.dirname(file), "..", "proto", "rpc.proto");
    const json = new protobuf.Root().loadSync(protoFile, { keepCase: true }).resolveAll().toJSON();
    const fromFiles = definitionData(protoLoader.loadSync(protoFile, ETCD3_PROTO_OPTIONS));
    const fromJson = definitionData(protoLoader.fromJSON(json, ETCD3_PROTO_OPTIONS));
    if (fromFiles !== fromJson || !fromFiles.includes("etcdserverpb.Maintenance")) {
        throw new Error(
            "etcd3's proto definitions differ when loaded from JSON: the artifact would not speak etcd's API",
        );
    }
    const parts = source.split(ETCD3_PROTO_LOAD);
    if (parts.length !== 2) {
        throw new Error(`${file}: expected one \`${ETCD3_PROTO_LOAD}\`; etcd3 changed how it loads its protos`);
    }
    return parts.join(`(0, proto_loader_1.fromJSON)(${JSON.stringify(json)}, {`);
}

const etcd3Protos = {
    name: "etcd3-protos",
    setup(build) {
        build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => ({
            contents: etcd3ProtoFromJson(fs.readFileSync(args.path, "utf8"), args.path),
            loader: "js",
        }));
    },
};

/** Every package inside the artifact (from the build's metafile), with its licence text. */
function thirdPartyNotices(metafile) {
    const packages = new Map();
    for (const input of Object.keys(metafile.inputs)) {
        const m = /^(.*node_modules\/(@[^/]+\/[^/]+|[^/]+))\//.exec(input);
        if (m && !packages.has(m[1])) {
            packages.set(m[1], m[2]);
        }
    }
    const sections = [...packages.entries()]
        .map(([dir, name]) => {
            const meta = JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8"));
            const licenceFile = fs
                .readdirSync(path.join(root, dir))
                .find((f) => /^(licen[cs]e|copying|notice)(\.(md|txt))?$/i.test(f));
            const text = licenceFile
                ? fs.readFileSync(path.join(root, dir, licenceFile), "utf8").trim()
                : `(no licence file in the package; its package.json says ${meta.license ?? "nothing"})`;
            return { key: `${name}@${meta.version}`, text: `${name} ${meta.version} (${meta.license})\n\n${text}` };
        })
        // One section per name and version, however many copies node_modules holds.
        .filter((s, i, all) => all.findIndex((o) => o.key === s.key) === i)
        .sort((a, b) => a.key.localeCompare(b.key));
    const rule = `\n\n${"-".repeat(78)}\n\n`;
    return {
        count: sections.length,
        text: `secure-etcd ${pkg.version} (${pkg.license}) bundles these packages:${rule}${sections.map((s) => s.text).join(rule)}\n`,
    };
}

fs.rmSync(outDir, { recursive: true, force: true });
const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["agent/cli/main.ts"],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: `node${MIN_NODE_MAJOR}`,
    // Not minified: a stack trace in a member's log names a readable line, and the file can be
    // audited as it is. Well inside the size budget all the same (docs/backups.md).
    legalComments: "none",
    banner: { js: BANNER },
    define: { SECURE_ETCD_BUNDLED_VERSION: JSON.stringify(pkg.version) },
    plugins: [etcd3Protos],
    metafile: true,
    logLevel: "warning",
});
const bytes = fs.readFileSync(outFile);
fs.chmodSync(outFile, 0o755);
const sha256 = crypto.createHash("sha256").update(bytes).digest("hex");
fs.writeFileSync(`${outFile}.sha256`, `${sha256}  ${path.basename(outFile)}\n`);
const notices = thirdPartyNotices(result.metafile);
fs.writeFileSync(path.join(outDir, "THIRD-PARTY-NOTICES.txt"), notices.text);
console.log(
    `build:agent: ${path.relative(root, outFile)} ${bytes.length} bytes (${(bytes.length / 1048576).toFixed(1)} MiB), ` +
        `${notices.count} packages inside, sha256 ${sha256}`,
);
