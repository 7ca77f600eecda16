// Which outputs does a provider declare secret? The generated SDKs say so in each resource's
// constructor (`additionalSecretOutputs`); the engine applies that list, mocks do not. Reading
// the installed SDK keeps the stand-ins in step with the provider versions the package pins.
import * as fs from "fs";
import * as path from "path";

const TYPE_PATTERN = /__pulumiType = '([^']+)'/;
const SECRETS_PATTERN = /additionalSecretOutputs:\s*\[([^\]]*)\]/;

const cache = new Map<string, Map<string, string[]>>();

function packageDir(pkg: string): string | undefined {
    try {
        return path.dirname(require.resolve(`@pulumi/${pkg}/package.json`));
    } catch {
        return undefined;
    }
}

function* jsFiles(dir: string): Generator<string> {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== "node_modules") {
            yield* jsFiles(full);
        } else if (entry.isFile() && entry.name.endsWith(".js")) {
            yield full;
        }
    }
}

function scanPackage(pkg: string): Map<string, string[]> {
    const table = new Map<string, string[]>();
    const dir = packageDir(pkg);
    if (!dir) {
        return table;
    }
    for (const file of jsFiles(dir)) {
        const text = fs.readFileSync(file, "utf8");
        if (!text.includes("additionalSecretOutputs")) {
            continue;
        }
        const type = TYPE_PATTERN.exec(text)?.[1];
        const secrets = SECRETS_PATTERN.exec(text)?.[1];
        if (type && secrets) {
            table.set(
                type,
                [...secrets.matchAll(/"([^"]+)"/g)].map((m) => m[1]),
            );
        }
    }
    return table;
}

/** The output names the provider of `type` (e.g. `tls:index/privateKey:PrivateKey`) declares secret. */
export function providerSecretOutputs(type: string): string[] {
    const pkg = type.split(":")[0];
    let table = cache.get(pkg);
    if (!table) {
        table = scanPackage(pkg);
        cache.set(pkg, table);
    }
    return table.get(type) ?? [];
}
