// Copies the package's non-TypeScript assets (every file in a src/**/assets/ folder) beside the
// compiled code, which tsc does not do: `node scripts/copy-assets.mjs dist` (the published package)
// or `build/src` (the tests). Test files and bytecode caches stay behind.
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const outDir = process.argv[2];
if (!outDir) {
    console.error("usage: node scripts/copy-assets.mjs OUT_DIR");
    process.exit(2);
}
const srcDir = fileURLToPath(new URL("../src", import.meta.url));
const shipped = (name) => !name.startsWith("test_") && name !== "__pycache__" && !name.endsWith(".pyc");

let copied = 0;
function copyAssets(dir) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const from = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name === "assets") {
            for (const file of fs.readdirSync(from, { withFileTypes: true })) {
                if (file.isFile() && shipped(file.name)) {
                    const to = path.join(outDir, path.relative(srcDir, path.join(from, file.name)));
                    fs.mkdirSync(path.dirname(to), { recursive: true });
                    fs.copyFileSync(path.join(from, file.name), to);
                    copied++;
                }
            }
        } else if (entry.isDirectory()) {
            copyAssets(from);
        }
    }
}
copyAssets(srcDir);
if (copied === 0) {
    console.error(`copy-assets: no asset found under ${srcDir}`);
    process.exit(1);
}
