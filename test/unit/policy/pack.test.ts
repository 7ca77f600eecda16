// The pack as a whole: every policy carries its metadata, config schemas the CLI accepts, the files
// `pulumi preview --policy-pack ./policy` needs, and the example configuration stays in step.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { POLICIES, RULES } from "../../../policy/policies";
import { UNKNOWN_SENTINELS } from "../../../policy/lib/values";
import { UNKNOWN } from "./policyHarness";

/** The source tree's `policy/`, wherever the tests were compiled to. */
function packDirectory(): string {
    const candidates = [path.resolve(__dirname, "../../../../policy"), path.resolve(process.cwd(), "policy")];
    return candidates.find((dir) => fs.existsSync(path.join(dir, "PulumiPolicy.yaml"))) ?? candidates[0];
}

function conforms(value: unknown, schema: PolicyConfigJSONSchema): boolean {
    switch (schema.type) {
        case "integer":
            return Number.isInteger(value) && (schema.minimum === undefined || (value as number) >= schema.minimum);
        case "array":
            return (
                Array.isArray(value) &&
                value.every(
                    (v) => typeof schema.items !== "object" || Array.isArray(schema.items) || conforms(v, schema.items),
                )
            );
        case "string":
            return typeof value === "string" && (schema.enum === undefined || schema.enum.includes(value));
        default:
            return true;
    }
}

describe("policy pack", () => {
    it("names every policy uniquely, in kebab case", () => {
        const names = RULES.map((r) => r.name);
        assert.equal(new Set(names).size, names.length);
        for (const name of names) {
            assert.match(name, /^[a-z0-9]+(-[a-z0-9]+)+$/);
        }
    });

    it("gives every policy a description, severity, enforcement level and remediation", () => {
        for (const p of POLICIES) {
            assert.ok(p.description.length > 20, p.name);
            assert.ok(["low", "medium", "high", "critical"].includes(p.severity), p.name);
            assert.ok(p.remediationSteps.length > 20, p.name);
            const expected = p.name === "etcd-encryption-recommended-provider" ? "advisory" : "mandatory";
            assert.equal(p.enforcementLevel, expected, p.name);
        }
    });

    it("has config schemas the CLI accepts, with defaults that satisfy them", () => {
        for (const p of POLICIES) {
            const properties = p.configSchema?.properties ?? {};
            assert.ok(!("enforcementLevel" in properties), `${p.name}: enforcementLevel is the SDK's own`);
            for (const [key, schema] of Object.entries(properties)) {
                if (schema.default !== undefined) {
                    assert.ok(conforms(schema.default, schema), `${p.name}.${key}`);
                }
            }
        }
    });

    it("knows the engine's unknown sentinels as the installed SDK does", () => {
        assert.deepEqual([...UNKNOWN_SENTINELS].sort(), Object.values(UNKNOWN).sort());
    });

    it("has what the CLI needs to run it from its directory", () => {
        const dir = packDirectory();
        assert.match(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
        const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as {
            version?: string;
            main?: string;
        };
        assert.match(pkg.version ?? "", /^\d+\.\d+\.\d+$/, "the PolicyPack constructor reads the version");
        assert.ok(fs.existsSync(path.join(dir, pkg.main ?? "index.ts")));
        assert.match(fs.readFileSync(path.join(dir, "index.ts"), "utf8"), /new PolicyPack\(PACK_NAME, \{/);
    });

    it("ships an example config that only names real policies and settings", () => {
        const example = JSON.parse(
            fs.readFileSync(path.join(packDirectory(), "config.example.json"), "utf8"),
        ) as Record<string, Record<string, unknown>>;
        for (const [policyName, settings] of Object.entries(example)) {
            const p = POLICIES.find((x) => x.name === policyName);
            assert.ok(p, policyName);
            for (const [key, value] of Object.entries(settings)) {
                if (key === "enforcementLevel") {
                    continue;
                }
                const schema = p.configSchema?.properties[key];
                assert.ok(schema, `${policyName}.${key}`);
                if (key !== "suppressions") {
                    assert.ok(conforms(value, schema), `${policyName}.${key}`);
                }
            }
        }
    });
});
