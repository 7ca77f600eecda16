// docs/arguments.md is generated from the committed schema.json (and the @default tags in src/), as
// schema.json is from the source: this fails when the committed reference is stale.
import { strict as assert } from "assert";
import * as fs from "fs";
import { ARGS_DOC_PATH, ARGS_INTERFACES, argsDocText, GROUPS, Schema, sourceDefaults } from "../harness/argsDoc";
import { SCHEMA_PATH } from "../harness/schema";

const TOKEN = "secure-etcd:index:SecureEtcdCluster";

describe("docs/arguments.md: the arguments reference generated from schema.json", function () {
    this.timeout(60_000);
    let schema: Schema;
    let generated: string;

    before(async () => {
        schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")) as Schema;
        generated = await argsDocText(schema);
    });

    it("names every input and output once in its group's table, and every type and enum", () => {
        const resource = schema.resources[TOKEN];
        const reference = generated.slice(0, generated.indexOf("\n## Types\n")); // types have properties too
        for (const name of [...Object.keys(resource.inputProperties), ...Object.keys(resource.properties)]) {
            const rows = reference.split("\n").filter((line) => line.startsWith(`| \`${name}\` `));
            // etcdVersion, securityGroupId, backupBucketName, ... are both an input and an output
            const expected = (name in resource.inputProperties ? 1 : 0) + (name in resource.properties ? 1 : 0);
            assert.equal(rows.length, expected, name);
        }
        for (const token of Object.keys(schema.types)) {
            assert.match(generated, new RegExp(`^### ${token.split(":").pop()}$`, "m"), token);
        }
        for (const group of GROUPS) {
            assert.match(generated, new RegExp(`^### ${group.title}$`, "m"), group.title);
        }
    });

    it("shows the defaults of the doc comments' @default tags, enum defaults with their values", () => {
        const all = sourceDefaults();
        const defaults = ARGS_INTERFACES.flatMap((name) => [...(all.get(name) ?? new Map<string, string>())]);
        assert.ok(defaults.length >= 40, "the concerns' args.ts document their defaults");
        const row = (name: string) => generated.split("\n").find((line) => line.startsWith(`| \`${name}\` `)) ?? "";
        assert.match(row("caValidityHours"), /\| `87600` \(10 years\)/);
        assert.match(row("keyAlgorithm"), /`"ECDSA-P256"` \(`KeyAlgorithm.EcdsaP256`\)/);
        assert.match(row("encryptionKeyNames"), /`\["key-1"\]`/);
        assert.match(row("members"), /\| \*\*yes\*\* +\|/);
    });

    it("the committed docs/arguments.md is current (run `npm run docs:args` after changing args or schema.json)", () => {
        assert.ok(fs.existsSync(ARGS_DOC_PATH), "docs/arguments.md is committed");
        assert.equal(
            fs.readFileSync(ARGS_DOC_PATH, "utf8"),
            generated,
            "docs/arguments.md is stale: run `npm run docs:args`",
        );
    });
});
