// docs/arguments.md, generated from the committed schema.json: every input and output of
// SecureEtcdCluster with its type, whether it is required, its default and its description, grouped
// by concern, then every object type and enum the schema names. Defaults come from the `@default`
// tags of the doc comments in src/ (the concerns' args.ts for the component's arguments): Pulumi's schema
// inference keeps a doc comment's text but drops its tags, so schema.json has none. The result is
// formatted with the repository's Prettier settings, so `prettier --check` leaves it alone.
// `npm run docs:args` rewrites the file; test/unit/argsDoc.test.ts fails when it is stale.
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";
import * as ts from "typescript";
import { REPO_ROOT, SCHEMA_PATH } from "./schema";

export const ARGS_DOC_PATH = path.join(REPO_ROOT, "docs", "arguments.md");

const TOKEN = "secure-etcd:index:SecureEtcdCluster";
const TYPE_PREFIX = "#/types/";

export interface SchemaProperty {
    type?: string;
    $ref?: string;
    items?: SchemaProperty;
    additionalProperties?: SchemaProperty;
    description?: string;
    plain?: boolean;
    optional?: boolean;
}

interface SchemaType {
    type: string;
    description?: string;
    properties?: Record<string, SchemaProperty>;
    required?: string[];
    enum?: { name?: string; value: string | number | boolean; description?: string }[];
}

export interface Schema {
    description?: string;
    resources: Record<
        string,
        {
            description?: string;
            inputProperties: Record<string, SchemaProperty>;
            requiredInputs?: string[];
            properties: Record<string, SchemaProperty>;
            required?: string[];
        }
    >;
    types: Record<string, SchemaType>;
}

/**
 * The concerns the reference is grouped by, in the order shown: a property belongs to the one group
 * whose pattern matches its name. The generator refuses a property that no group, or more than
 * one, claims: a new argument or output has to be placed here (next to the page that explains it).
 */
/** The interfaces SecureEtcdClusterArgs is made of (src/component/args.ts), whose members are the arguments. */
export const ARGS_INTERFACES = [
    "ClusterMembersArgs",
    "PkiArgs",
    "EtcdPodArgs",
    "EtcdRbacArgs",
    "NetworkArgs",
    "EncryptionArgs",
    "SecretStoreArgs",
    "KeyAccessArgs",
    "BackupArgs",
    "RestoreArgs",
    "MonitoringArgs",
];

export const GROUPS: { title: string; pages: string[]; pattern: RegExp }[] = [
    {
        title: "Members and certificates",
        pages: ["pki.md"],
        pattern:
            /^(members|allowPublicMemberIps|keyAlgorithm|caValidityHours|certificateValidityHours|certificateRenewalHours|maxCaValidityHours|maxCertificateValidityHours|etcdCaGeneration|etcdCaRotationStage|peerCaGeneration|peerCaRotationStage|clients|revokedCertificates|caCertPem|peerCaCertPem|memberCertificates|memberCredentials|clientCredentials|certificates)$/,
    },
    {
        title: "The etcd static pod, node files and cloud-init",
        pages: ["static-pod.md", "cloud-init.md", "node-sync.md"],
        pattern:
            /^(etcdVersion|etcdImage\w*|etcdUid|etcdGid|etcdManifests|nodeFiles|memberUserData|nodeSync\w*|membership\w*)$/,
    },
    { title: "etcd RBAC", pages: ["rbac.md"], pattern: /^(etcdRoles|apiServerPrefix|rbacBootstrapScript)$/ },
    {
        title: "Network access control",
        pages: ["network.md"],
        pattern:
            /^(vpcId|securityGroupId|clientSecurityGroupIds|clientCidrs|minClientCidr\w*|metrics\w*|hostFirewall\w*|allowPublicClientCidrs)$/,
    },
    {
        title: "Encryption at rest and kube-apiserver",
        pages: ["encryption.md"],
        pattern: /^(encryption\w*|encrypted\w*|kmsPlugin\w*|apiServer|apiServerNodeFiles|kubeadmClusterConfiguration)$/,
    },
    {
        title: "Secrets Manager and IAM",
        pages: ["secrets-manager.md"],
        pattern:
            /^(secretsKmsKeyArn|secretsVpcEndpointIds|secretNamePrefix|secretRecoveryWindowDays|kmsKeyDeletionWindowDays|keyAdministratorArns|memberRoleNames|apiServerRoleNames|keyPolicyStatements|secretArns|memberSecretsPolicies|apiServerSecretsPolicy|memberInstancePolicies)$/,
    },
    {
        title: "Backups",
        pages: ["backups.md"],
        pattern: /^backup(?!FreshnessAlarm|UploadErrorsAlarm|MaxAge|MetricsFilter)/,
    },
    { title: "Restoring the whole cluster", pages: ["runbooks.md", "backups.md"], pattern: /^restore\w*$/ },
    {
        title: "Backend quota and maintenance",
        pages: ["maintenance.md"],
        pattern: /^(quotaBackendBytes|defragmentation\w*)$/,
    },
    {
        title: "Monitoring",
        pages: ["monitoring.md"],
        pattern:
            /^(monitoring|certificateExpiry|prometheus|alarmTopic|backupFreshnessAlarm|backupUploadErrorsAlarm|backupMaxAge|backupMetricsFilter)|^(etcdDeniedRequestsThreshold|secretReadRateThreshold)$/,
    },
];

/** Name of a schema type token, e.g. `MemberArgs` for `secure-etcd:index:MemberArgs`. */
function typeName(token: string): string {
    return token.slice(token.lastIndexOf(":") + 1);
}

/** The anchor GitHub gives a heading made of a single word. */
function anchor(heading: string): string {
    return heading
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, "")
        .replace(/ /g, "-");
}

function typeText(p: SchemaProperty): string {
    if (p.$ref !== undefined) {
        if (p.$ref.startsWith(TYPE_PREFIX)) {
            const name = typeName(p.$ref.slice(TYPE_PREFIX.length));
            return `[\`${name}\`](#${anchor(name)})`;
        }
        return `\`${p.$ref}\``;
    }
    switch (p.type) {
        case "array":
            return `list of ${p.items ? typeText(p.items) : "any"}`;
        case "object":
            return p.additionalProperties ? `map of ${typeText(p.additionalProperties)}` : "`object`";
        case undefined:
            return "any";
        default:
            return `\`${p.type}\``;
    }
}

/** One line of Markdown for a table cell: joined lines, `|` escaped, `<` escaped outside code. */
function cell(text: string): string {
    return text
        .trim()
        .replace(/\s*\n\s*/g, " ")
        .split(/(`[^`]*`)/)
        .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, "\\<")))
        .join("")
        .replace(/\|/g, "\\|");
}

/**
 * Every `@default` tag in the doc comments of src/: interface or class name → member → text.
 * Only names the schema has types for (and the component's args) are looked up.
 */
export function sourceDefaults(srcDir = path.join(REPO_ROOT, "src")): Map<string, Map<string, string>> {
    const result = new Map<string, Map<string, string>>();
    const visitFile = (file: string) => {
        const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
        source.forEachChild((node) => {
            if (!(ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) || !node.name) {
                return;
            }
            const members = new Map<string, string>();
            for (const member of node.members) {
                if (!member.name || !(ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))) {
                    continue;
                }
                for (const tag of ts.getJSDocTags(member)) {
                    if (tag.tagName.text === "default" || tag.tagName.text === "defaultValue") {
                        const text = ts.getTextOfJSDocComment(tag.comment)?.trim();
                        if (text) {
                            members.set(member.name.text, text.replace(/\s*\n\s*/g, " "));
                        }
                    }
                }
            }
            if (members.size > 0) {
                if (result.has(node.name.text)) {
                    throw new Error(`${node.name.text} is declared twice in src/; defaults would be ambiguous`);
                }
                result.set(node.name.text, members);
            }
        });
    };
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
                visitFile(full);
            }
        }
    };
    walk(srcDir);
    return result;
}

/** A default as Markdown: literals and names in code, an enum member with its value, prose as is. */
function defaultText(text: string | undefined, schema: Schema, names: Set<string>): string {
    if (text === undefined) {
        return "";
    }
    try {
        JSON.parse(text);
        return `\`${text}\``;
    } catch {
        // not a plain literal: a value with a remark, an expression or prose
    }
    const m = /^([^\s,]+)(.*)$/.exec(text);
    if (m) {
        const [, head, rest] = m;
        const enumMember = /^(\w+)\.(\w+)$/.exec(head);
        const enumType = enumMember ? schema.types[`secure-etcd:index:${enumMember[1]}`] : undefined;
        const value = enumType?.enum?.find((e) => e.name === enumMember![2]);
        if (value) {
            return cell(`\`${JSON.stringify(value.value)}\` (\`${head}\`)${rest}`);
        }
        // a literal alone, or followed by a remark: `87600 (10 years)`, `7, or ...`; not `2 × ...`
        const remark = rest === "" || rest.startsWith(" (") || rest.startsWith(",");
        if (remark && (/^(-?\d+(\.\d+)?|"[^"]*")$/.test(head) || names.has(head))) {
            return cell(`\`${head}\`${rest}`);
        }
    }
    return cell(text);
}

function table(header: string[], rows: string[][]): string {
    return [
        `| ${header.join(" | ")} |`,
        `| ${header.map(() => "---").join(" | ")} |`,
        ...rows.map((r) => `| ${r.join(" | ")} |`),
        "",
    ].join("\n");
}

function groupOf(name: string): (typeof GROUPS)[number] {
    const groups = GROUPS.filter((g) => g.pattern.test(name));
    if (groups.length !== 1) {
        throw new Error(
            `${name} belongs to ${groups.length === 0 ? "no group" : groups.map((g) => g.title).join(" and ")} ` +
                "of docs/arguments.md: place it in exactly one of GROUPS in test/harness/argsDoc.ts",
        );
    }
    return groups[0];
}

/** Every type token reachable from the given properties, in order of first use. */
function collectTypes(props: SchemaProperty[], schema: Schema, seen: Set<string>, out: string[]): void {
    const visit = (p: SchemaProperty | undefined) => {
        if (!p) {
            return;
        }
        if (p.$ref?.startsWith(TYPE_PREFIX)) {
            const token = p.$ref.slice(TYPE_PREFIX.length);
            if (!seen.has(token)) {
                seen.add(token);
                out.push(token);
                for (const q of Object.values(schema.types[token]?.properties ?? {})) {
                    visit(q);
                }
            }
        }
        visit(p.items);
        visit(p.additionalProperties);
    };
    props.forEach(visit);
}

/** docs/arguments.md as Markdown, before formatting. */
export function argsDocMarkdown(schema: Schema, defaults: Map<string, Map<string, string>>): string {
    const resource = schema.resources[TOKEN];
    if (!resource) {
        throw new Error(`schema.json has no ${TOKEN}`);
    }
    const inputs = resource.inputProperties;
    const outputs = resource.properties;
    const required = new Set(resource.requiredInputs ?? []);
    const alwaysSet = new Set(resource.required ?? []);
    const argDefaults = new Map(
        ARGS_INTERFACES.flatMap((name) => [...(defaults.get(name) ?? new Map<string, string>())]),
    );
    const names = new Set([...Object.keys(inputs), ...Object.keys(outputs)]);
    for (const name of argDefaults.keys()) {
        if (!(name in inputs)) {
            throw new Error(`the arguments have a @default for ${name}, which schema.json does not have`);
        }
    }

    const lines: string[] = [
        "<!-- Generated by `npm run docs:args` from schema.json and the @default tags in src/. Do not edit:",
        "     test/unit/argsDoc.test.ts fails when this file is stale. -->",
        "",
        "# Arguments and outputs",
        "",
        `\`SecureEtcdCluster\` (\`${TOKEN}\`): ${cell(resource.description ?? "")}`,
        "",
        "This reference is generated from the package schema ([`schema.json`](../schema.json), which Pulumi infers " +
            "from the TypeScript source and other languages' SDKs are generated from) and from the `@default` tags " +
            "of the doc comments in each concern's `args.ts` (gathered by [`src/component/args.ts`](../src/component/args.ts)). Names are the TypeScript ones; Python uses " +
            "snake_case. _Plain_ arguments decide which resources exist, so they cannot be outputs of other " +
            "resources. Each group links to the page that explains it; the [docs index](README.md) lists them all.",
        "",
        "- [Inputs](#inputs): " + GROUPS.map((g) => `[${g.title}](#${anchor(g.title)})`).join(", "),
        "- [Outputs](#outputs)",
        "- [Types](#types) and [enums](#enums)",
        "",
        "## Inputs",
        "",
    ];

    for (const group of GROUPS) {
        const rows = Object.entries(inputs)
            .filter(([name]) => groupOf(name) === group)
            .map(([name, p]) => [
                `\`${name}\``,
                typeText(p) + (p.plain ? " (plain)" : ""),
                required.has(name) ? "**yes**" : "no",
                defaultText(argDefaults.get(name), schema, names),
                cell(p.description ?? ""),
            ]);
        if (rows.length === 0) {
            continue;
        }
        lines.push(
            `### ${group.title}`,
            "",
            `Explained in ${group.pages.map((page) => `[${page}](${page})`).join(" and ")}.`,
            "",
        );
        lines.push(table(["input", "type", "required", "default", "description"], rows));
    }

    lines.push(
        "## Outputs",
        "",
        "Outputs marked _optional_ are `undefined` when the feature that makes them is off (e.g. `kms` only, backups only).",
        "",
    );
    for (const group of GROUPS) {
        const rows = Object.entries(outputs)
            .filter(([name]) => groupOf(name) === group)
            .map(([name, p]) => [
                `\`${name}\``,
                typeText(p),
                alwaysSet.has(name) ? "always" : "optional",
                cell(p.description ?? ""),
            ]);
        if (rows.length === 0) {
            continue;
        }
        lines.push(`### ${group.title} (outputs)`, "");
        lines.push(table(["output", "type", "set", "description"], rows));
    }

    const seen = new Set<string>();
    const order: string[] = [];
    collectTypes([...Object.values(inputs), ...Object.values(outputs)], schema, seen, order);
    for (const token of Object.keys(schema.types)) {
        if (!seen.has(token)) {
            seen.add(token);
            order.push(token);
        }
    }
    const objects = order.filter((t) => schema.types[t].type === "object");
    const enums = order.filter((t) => schema.types[t].enum !== undefined);

    lines.push("## Types", "");
    for (const token of objects) {
        const type = schema.types[token];
        const name = typeName(token);
        const typeDefaults = defaults.get(name) ?? new Map<string, string>();
        const typeRequired = new Set(type.required ?? []);
        lines.push(`### ${name}`, "");
        if (type.description) {
            lines.push(cell(type.description), "");
        }
        const hasDefaults = Object.keys(type.properties ?? {}).some((prop) => typeDefaults.has(prop));
        const rows = Object.entries(type.properties ?? {}).map(([prop, p]) => [
            `\`${prop}\``,
            typeText(p) + (p.plain ? " (plain)" : ""),
            typeRequired.has(prop) ? "**yes**" : "no",
            ...(hasDefaults ? [defaultText(typeDefaults.get(prop), schema, names)] : []),
            cell(p.description ?? ""),
        ]);
        lines.push(table(["property", "type", "required", ...(hasDefaults ? ["default"] : []), "description"], rows));
    }

    lines.push("## Enums", "");
    for (const token of enums) {
        const type = schema.types[token];
        lines.push(`### ${typeName(token)}`, "");
        if (type.description) {
            lines.push(cell(type.description), "");
        }
        lines.push(
            table(
                ["name", "value", "description"],
                (type.enum ?? []).map((e) => [
                    e.name ? `\`${e.name}\`` : "",
                    `\`${JSON.stringify(e.value)}\``,
                    cell(e.description ?? ""),
                ]),
            ),
        );
    }
    return lines.join("\n");
}

/** docs/arguments.md as committed: the Markdown, formatted with the repository's Prettier settings. */
export async function argsDocText(
    schema: Schema = JSON.parse(fs.readFileSync(SCHEMA_PATH, "utf8")) as Schema,
    defaults = sourceDefaults(),
): Promise<string> {
    const options = (await prettier.resolveConfig(ARGS_DOC_PATH)) ?? {};
    return prettier.format(argsDocMarkdown(schema, defaults), { ...options, filepath: ARGS_DOC_PATH });
}

if (require.main === module) {
    argsDocText().then(
        (text) => {
            fs.mkdirSync(path.dirname(ARGS_DOC_PATH), { recursive: true });
            fs.writeFileSync(ARGS_DOC_PATH, text);
            process.stdout.write(`wrote ${path.relative(process.cwd(), ARGS_DOC_PATH)}\n`);
        },
        (err: unknown) => {
            process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
        },
    );
}
