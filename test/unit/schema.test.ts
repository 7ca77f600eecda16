// What Python, Go, C# and YAML programs see: the schema Pulumi infers from this package's
// TypeScript (the Node.js plugin host's Analyzer), checked here offline and committed as
// schema.json so that API changes show in a PR's diff.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { PackageSpec } from "@pulumi/pulumi/provider/experimental/schema";
import { inferSchema, REPO_ROOT, SCHEMA_PATH, schemaText } from "../harness/schema";

const TOKEN = "secure-etcd:index:SecureEtcdCluster";

interface SchemaProperty {
    type?: string;
    $ref?: string;
    items?: SchemaProperty;
    description?: string;
    plain?: boolean;
}

describe("schema: the component as other Pulumi languages see it", function () {
    this.timeout(120_000);
    let schema: PackageSpec;
    let resource: {
        inputProperties: Record<string, SchemaProperty>;
        requiredInputs?: string[];
        properties: Record<string, SchemaProperty>;
        description?: string;
    };

    before(() => {
        schema = inferSchema();
        resource = schema.resources[TOKEN] as unknown as typeof resource;
    });

    it("infers the component under its own type token", () => {
        assert.deepEqual(Object.keys(schema.resources), [TOKEN]);
        assert.equal(schema.name, "secure-etcd");
        assert.match(resource.description ?? "", /secure by default/);
    });

    it("every input has a description; only members is required", () => {
        assert.deepEqual(resource.requiredInputs, ["members"]);
        const undocumented = Object.entries(resource.inputProperties).filter(([, p]) => !p.description?.trim());
        assert.deepEqual(
            undocumented.map(([name]) => name),
            [],
        );
        assert.ok(Object.keys(resource.inputProperties).length >= 50);
    });

    it("inputs keep their types: strings, numbers, plain lists that decide resources, refs to documented types", () => {
        const input = resource.inputProperties;
        assert.equal(input.vpcId.type, "string");
        assert.equal(input.backupIntervalMinutes.type, "number");
        assert.equal(input.hostFirewall.type, "boolean");
        assert.equal(input.members.type, "array");
        assert.equal(input.members.plain, true, "members decide resources: plain");
        assert.equal(input.members.items?.$ref, "#/types/secure-etcd:index:MemberArgs");
        assert.equal(input.clientCidrs.items?.type, "string");
        assert.equal(input.backups.plain, true);
    });

    it("choices are schema enums, not strings", () => {
        for (const [arg, enumName, value] of [
            ["keyAlgorithm", "KeyAlgorithm", "ECDSA-P256"],
            ["encryptionProvider", "EncryptionProvider", "secretbox"],
            ["backupObjectLockMode", "BackupObjectLockMode", "COMPLIANCE"],
        ] as const) {
            assert.equal(resource.inputProperties[arg].$ref, `#/types/secure-etcd:index:${enumName}`, arg);
            const type = schema.types[`secure-etcd:index:${enumName}`] as unknown as { enum?: { value: string }[] };
            assert.ok(
                type.enum?.some((e) => e.value === value),
                `${enumName} lists ${value}`,
            );
        }
    });

    it("every public output is in the schema, documented", () => {
        const outputs = resource.properties;
        for (const name of [
            "caCertPem",
            "peerCaCertPem",
            "memberCredentials",
            "clientCredentials",
            "certificates",
            "nodeFiles",
            "memberUserData",
            "securityGroupId",
            "encryptionConfigYaml",
            "encryptionProviderOrder",
            "apiServer",
            "secretArns",
            "backupBucketName",
            "backupWriterPolicy",
            "prometheusRulesYaml",
        ]) {
            assert.ok(outputs[name], `output ${name}`);
        }
        const undocumented = Object.entries(outputs).filter(([, p]) => !p.description?.trim());
        assert.deepEqual(
            undocumented.map(([name]) => name),
            [],
        );
        for (const [typeName, type] of Object.entries(schema.types)) {
            for (const [prop, p] of Object.entries(
                (type as { properties?: Record<string, SchemaProperty> }).properties ?? {},
            )) {
                assert.ok(p.description?.trim(), `${typeName}.${prop} has a description`);
            }
        }
    });

    it("the committed schema.json is current (run `npm run schema` after changing args or outputs)", () => {
        assert.ok(fs.existsSync(SCHEMA_PATH), "schema.json is committed");
        assert.equal(
            fs.readFileSync(SCHEMA_PATH, "utf8"),
            schemaText(schema),
            "schema.json is stale: run `npm run schema`",
        );
    });

    it("examples/yaml uses the component with inputs the schema has, of the schema's types, required ones given", () => {
        const program = YAML.parse(
            fs.readFileSync(path.join(REPO_ROOT, "examples", "yaml", "Pulumi.yaml"), "utf8"),
        ) as {
            resources: Record<string, { type: string; properties: Record<string, unknown> }>;
        };
        const clusters = Object.values(program.resources).filter(
            (r) => r.type === "secure-etcd:SecureEtcdCluster" || r.type === TOKEN,
        );
        assert.equal(clusters.length, 1);
        const props = clusters[0].properties;
        for (const required of resource.requiredInputs ?? []) {
            assert.ok(required in props, `required input ${required} given`);
        }
        for (const [name, value] of Object.entries(props)) {
            const spec = resource.inputProperties[name];
            assert.ok(spec, `${name} is an input of the component`);
            if (typeof value === "string" && value.startsWith("${")) {
                continue; // an interpolation: typed at run time
            }
            const expected = spec.type ?? (spec.$ref ? "string" : undefined);
            const actual = Array.isArray(value) ? "array" : typeof value;
            assert.equal(actual, expected === "integer" ? "number" : expected, `${name}: ${JSON.stringify(value)}`);
        }
    });
});
