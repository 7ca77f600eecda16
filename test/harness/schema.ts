// The package schema Pulumi infers from the TypeScript source when another language uses the
// component (`pulumi package add`): the same Analyzer and generateSchema the Node.js plugin host
// runs, offline. `npm run schema` writes it to schema.json; the schema test fails when it is stale.
import * as fs from "fs";
import * as path from "path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema, PackageSpec } from "@pulumi/pulumi/provider/experimental/schema";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const SCHEMA_PATH = path.join(REPO_ROOT, "schema.json");

export function inferSchema(): PackageSpec {
    const packageJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
        version: string;
        description: string;
    };
    const analyzed = new Analyzer(REPO_ROOT, "secure-etcd", packageJson, new Set(["SecureEtcdCluster"])).analyze();
    return generateSchema(
        "secure-etcd",
        packageJson.version,
        packageJson.description,
        analyzed.components,
        analyzed.typeDefinitions,
        analyzed.dependencies,
    );
}

export function schemaText(schema: PackageSpec): string {
    return JSON.stringify(schema, null, 4) + "\n";
}

if (require.main === module) {
    fs.writeFileSync(SCHEMA_PATH, schemaText(inferSchema()));
    process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_PATH)}\n`);
}
