import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { validateArgs } from "../../src";
import {
    BOOTSTRAP_DEFAULTS,
    BOOTSTRAP_ENV,
    ETCDCTL_WRITE_COMMANDS,
    renderBootstrapScript,
} from "../../src/rbac/bootstrapScript";
import {
    EtcdPermission,
    EtcdRoleArgs,
    prefixRangeEnd,
    RbacArgs,
    rbacProblems,
    resolveRbac,
    ResolvedRbac,
} from "../../src/rbac/roles";

/** The one problem at `path`, whose reason has every fragment. */
function expectProblem(args: RbacArgs, path: string, ...fragments: (string | RegExp)[]): void {
    const problems = rbacProblems(args);
    const at = problems.filter((p) => p.path === path);
    assert.equal(at.length, 1, `one problem at ${path}; got ${JSON.stringify(problems)}`);
    for (const f of fragments) {
        if (typeof f === "string") {
            assert.ok(at[0].reason.includes(f), `"${at[0].reason}" lacks "${f}"`);
        } else {
            assert.match(at[0].reason, f);
        }
    }
    assert.throws(
        () => resolveRbac(args),
        (e: Error) => e.message.includes(`${path}: ${at[0].reason}`),
    );
}

const appRole: EtcdRoleArgs = {
    name: "app",
    permissions: [{ key: "/app/", permission: EtcdPermission.ReadWrite }],
};

/** The JSON literal the script carries. */
function embedded(script: string): ResolvedRbac & { rootUser: string; rootRole: string } {
    const m = /^DESIRED = json\.loads\(\n {4}r"""\n([\s\S]*?)\n"""\n\)$/m.exec(script);
    assert.ok(m, "the script embeds its state as a JSON literal");
    return JSON.parse(m[1]) as ResolvedRbac & { rootUser: string; rootRole: string };
}

describe("rbac: the role model", () => {
    it("computes prefix range ends as etcdctl does", () => {
        assert.equal(prefixRangeEnd("/registry/"), "/registry0");
        assert.equal(prefixRangeEnd("/"), "0");
        assert.equal(prefixRangeEnd("/a~"), "/a\u007f");
        assert.equal(prefixRangeEnd(""), "\0");
    });

    it("defaults: kube-apiserver read-writes /registry/ only, health has no role, backup has root", () => {
        const rbac = resolveRbac({});
        assert.deepEqual(rbac.roles, [
            {
                name: "kube-apiserver",
                permissions: [
                    { key: "/registry/", rangeEnd: "/registry0", prefix: true, permission: EtcdPermission.ReadWrite },
                ],
            },
        ]);
        assert.deepEqual(rbac.users, [
            { name: "kube-apiserver-etcd-client", roles: ["kube-apiserver"] },
            { name: "kube-etcd-healthcheck-client", roles: [] },
            { name: "etcd-backup", roles: ["root"] },
        ]);
        assert.ok(
            rbac.roles.every((r) => r.permissions.every((p) => p.key !== "/")),
            "no role covers every key",
        );
        assert.deepEqual(rbacProblems({}), []);
    });

    it("follows kube-apiserver's --etcd-prefix, with or without the trailing slash", () => {
        for (const apiServerPrefix of ["/k8s", "/k8s/"]) {
            const [role] = resolveRbac({ apiServerPrefix }).roles;
            assert.deepEqual(role.permissions, [
                { key: "/k8s/", rangeEnd: "/k8s0", prefix: true, permission: EtcdPermission.ReadWrite },
            ]);
        }
    });

    it("adds custom roles and gives extra clients exactly the roles named for them", () => {
        const rbac = resolveRbac({
            roles: [
                appRole,
                {
                    name: "flag-reader",
                    permissions: [
                        { key: "/flags/enabled", prefix: false, permission: EtcdPermission.Read },
                        { key: "/flags/", permission: EtcdPermission.Write },
                    ],
                },
            ],
            clients: [
                { commonName: "app-client", roles: ["app", "flag-reader"] },
                { commonName: "observer", roles: [] },
                { commonName: "admin-tool", roles: ["root"] },
            ],
        });
        assert.deepEqual(
            rbac.roles.map((r) => r.name),
            ["kube-apiserver", "app", "flag-reader"],
        );
        assert.deepEqual(rbac.roles[2].permissions, [
            { key: "/flags/enabled", rangeEnd: "", prefix: false, permission: EtcdPermission.Read },
            { key: "/flags/", rangeEnd: "/flags0", prefix: true, permission: EtcdPermission.Write },
        ]);
        assert.deepEqual(rbac.users.slice(3), [
            { name: "app-client", roles: ["app", "flag-reader"] },
            { name: "observer", roles: [] },
            { name: "admin-tool", roles: ["root"] },
        ]);
    });
});

describe("rbac: problems, each with its path and fix", () => {
    it("a client naming an unknown role", () => {
        expectProblem(
            {
                roles: [appRole],
                clients: [
                    { commonName: "a", roles: ["app"] },
                    { commonName: "b", roles: ["ap"] },
                ],
            },
            "clients[1].roles[0]",
            '"ap", which is not defined',
            "define it in etcdRoles",
            '"root", "kube-apiserver", "app"',
        );
    });

    it("a client naming a role twice", () => {
        expectProblem({ clients: [{ commonName: "a", roles: ["root", "root"] }] }, "clients[0].roles[1]", "twice");
    });

    it("keys and prefixes that are not absolute, or not printable ASCII", () => {
        const roles: EtcdRoleArgs[] = [
            appRole,
            {
                name: "bad",
                permissions: [
                    { key: "/ok/", permission: EtcdPermission.Read },
                    { key: "app/", permission: EtcdPermission.Read },
                ],
            },
        ];
        expectProblem({ roles }, "etcdRoles[1].permissions[1].key", "not absolute", 'start it with "/"', '"/app/"');
        expectProblem(
            { roles: [{ name: "r", permissions: [{ key: "/caf\u00e9/", permission: EtcdPermission.Read }] }] },
            "etcdRoles[0].permissions[0].key",
            "printable ASCII",
        );
        expectProblem(
            { roles: [{ name: "r", permissions: [{ key: "", permission: EtcdPermission.Read }] }] },
            "etcdRoles[0].permissions[0].key",
            "is empty",
        );
        expectProblem({ apiServerPrefix: "registry" }, "apiServerPrefix", "not absolute", "--etcd-prefix");
        expectProblem({ apiServerPrefix: "/" }, "apiServerPrefix", "every key");
    });

    it("duplicate role names", () => {
        expectProblem({ roles: [appRole, { ...appRole }] }, "etcdRoles[1].name", "already defined by etcdRoles[0]");
    });

    it("user-defined roles named root or kube-apiserver (reserved)", () => {
        expectProblem({ roles: [{ ...appRole, name: "root" }] }, "etcdRoles[0].name", "reserved", "built-in");
        expectProblem(
            { roles: [appRole, { ...appRole, name: "kube-apiserver" }] },
            "etcdRoles[1].name",
            "reserved",
            "kube-apiserver",
        );
    });

    it("invalid role names", () => {
        expectProblem({ roles: [{ ...appRole, name: "-x" }] }, "etcdRoles[0].name", "not a valid role name");
        expectProblem({ roles: [{ ...appRole, name: "a:b" }] }, "etcdRoles[0].name", "not a valid role name");
    });

    it("duplicate users: root's CN here; a CN twice or a built-in's is the PKI rules' (reported once)", () => {
        expectProblem({ clients: [{ commonName: "root", roles: [] }] }, "clients[0].commonName", "root user");
        expectProblem({ clients: [{ commonName: "a:b", roles: [] }] }, "clients[0].commonName", '"user:password"');
        assert.deepEqual(rbacProblems({ clients: [{ commonName: "etcd-backup", roles: [] }] }), []);
        const members = [{ name: "etcd-0", ip: "10.0.1.10" }];
        for (const [clients, fragment] of [
            [[{ name: "app" }, { name: "app-2", commonName: "app" }], "already the common name of clients[0]"],
            [[{ name: "x" }, { name: "backup", commonName: "etcd-backup" }], "common name of a built-in client"],
        ] as const) {
            const problems = validateArgs({ members, vpcId: "vpc-0a1b2c3d4e5f60718", clients: [...clients] });
            const at = problems.filter((p) => p.path === "clients[1].commonName");
            assert.equal(at.length, 1, JSON.stringify(problems));
            assert.ok(at[0].reason.includes(fragment), at[0].reason);
        }
    });

    it("an empty permission list", () => {
        expectProblem({ roles: [{ name: "empty", permissions: [] }] }, "etcdRoles[0].permissions", "grants nothing");
    });

    it("a prefix permission on / (every key) is rejected, for read too; a single key / is allowed", () => {
        expectProblem(
            { roles: [{ name: "monitoring", permissions: [{ key: "/", permission: EtcdPermission.Read }] }] },
            "etcdRoles[0].permissions[0].key",
            "every key",
            "Secrets",
            '"root" role',
        );
        assert.deepEqual(
            rbacProblems({
                roles: [{ name: "r", permissions: [{ key: "/", prefix: false, permission: EtcdPermission.Read }] }],
            }),
            [],
        );
    });

    it("a permission repeated within a role, or not a permission at all", () => {
        expectProblem(
            {
                roles: [
                    {
                        name: "r",
                        permissions: [
                            { key: "/a/", permission: EtcdPermission.Read },
                            { key: "/a/", prefix: true, permission: EtcdPermission.Write },
                        ],
                    },
                ],
            },
            "etcdRoles[0].permissions[1]",
            "repeats the prefix",
            "merge",
        );
        expectProblem(
            { roles: [{ name: "r", permissions: [{ key: "/a/", permission: "admin" as EtcdPermission }] }] },
            "etcdRoles[0].permissions[0].permission",
            '"readwrite"',
        );
    });

    it("reports every problem at once", () => {
        const problems = rbacProblems({
            roles: [{ name: "root", permissions: [] }],
            clients: [{ commonName: "x", roles: ["nope"] }],
        });
        assert.deepEqual(
            problems.map((p) => p.path),
            ["etcdRoles[0].name", "etcdRoles[0].permissions", "clients[0].roles[0]"],
        );
    });
});

describe("rbac: the bootstrap script", () => {
    const rbac = resolveRbac({ roles: [appRole], clients: [{ commonName: "app-client", roles: ["app"] }] });
    const script = renderBootstrapScript(rbac);

    it("is a stdlib-only Python 3 script carrying the desired state as JSON", () => {
        assert.ok(script.startsWith("#!/usr/bin/env python3\n"));
        const imports = [...script.matchAll(/^import (\S+)$/gm)].map((m) => m[1]);
        assert.deepEqual(imports, [
            "argparse",
            "base64",
            "json",
            "os",
            "re",
            "secrets",
            "shutil",
            "stat",
            "subprocess",
            "sys",
        ]);
        assert.doesNotMatch(script, /^from /m);
        assert.deepEqual(embedded(script), { rootUser: "root", rootRole: "root", ...rbac });
        assert.equal(renderBootstrapScript(rbac), script, "deterministic");
        assert.doesNotMatch(script, /\t/, "spaces only: Python forbids mixing");
    });

    it("holds no password and never puts one on etcdctl's command line", () => {
        assert.doesNotMatch(script, /password\s*=\s*["'][^"']+["']/i);
        assert.doesNotMatch(script, /--new-user-password|--password=/);
        assert.match(script, /"user", "add", "--interactive=false", "--", name\],\s*stdin=/);
        assert.match(script, /"user", "add", "--no-password", "--", name\]/);
        // The only --user on argv is the probe's throwaway, hidden from messages too.
        assert.match(script, /"--user=%s:%s" % \(PROBE_USER, secrets\.token_hex\(16\)\)/);
    });

    it("documents its options, environment and defaults", () => {
        for (const [option, value] of Object.entries(BOOTSTRAP_DEFAULTS)) {
            assert.ok(script.includes(value), `default of ${option}`);
        }
        for (const name of Object.values(BOOTSTRAP_ENV)) {
            assert.ok(script.split(name).length >= 3, `${name} in the docstring and read`);
        }
        assert.ok(script.includes("--root-password-file"));
    });

    it("takes BOOTSTRAP_DEFAULTS as its defaults and BOOTSTRAP_ENV as its environment (the program's own copy)", () => {
        // The program is a file of its own: ask its parser, with no variable set, then with each.
        const parse = [
            "import json, os, runpy, sys",
            "parse_args = runpy.run_path(sys.argv[1])['parse_args']",
            "out = []",
            "for env in json.loads(sys.argv[2]):",
            "    os.environ.update(env)",
            "    out.append(vars(parse_args([])))",
            "    for name in env:",
            "        del os.environ[name]",
            "print(json.dumps(out))",
        ].join("\n");
        const envs = [{}, ...Object.values(BOOTSTRAP_ENV).map((name) => ({ [name]: `/from/${name}` }))];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-rbac-"));
        try {
            const file = path.join(dir, "rbac.py");
            fs.writeFileSync(file, script);
            const [defaults, ...fromEnv] = JSON.parse(
                execFileSync("python3", ["-c", parse, file, JSON.stringify(envs)], {
                    encoding: "utf8",
                    env: { PATH: process.env.PATH },
                }),
            ) as Record<string, string>[];
            for (const [option, value] of Object.entries(BOOTSTRAP_DEFAULTS)) {
                assert.equal(defaults[option], value, option);
            }
            Object.entries(BOOTSTRAP_ENV).forEach(([option, name], i) => {
                const dest = option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
                assert.equal(fromEnv[i][dest], `/from/${name}`, name);
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("tells auth-enabled without `auth status` on 3.4, and enables auth last", () => {
        assert.match(script, /"auth", "status", "-w", "json"/);
        assert.match(script, /"authentication failed"/);
        const enable = script.indexOf('ctl.write(["auth", "enable"])');
        assert.ok(enable > script.indexOf("for user in DESIRED"), "after every user");
        assert.ok(enable > script.indexOf("for role in DESIRED"), "after every role");
    });

    it("issues only the write commands it declares", () => {
        const writes = [...script.matchAll(/ctl\.write\(\s*\["(\w+)", "([\w-]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
        assert.ok(writes.length >= 6);
        for (const w of writes) {
            assert.ok(ETCDCTL_WRITE_COMMANDS.includes(w), w);
        }
    });

    it("embeds awkward keys safely", () => {
        const tricky = resolveRbac({
            roles: [{ name: "q", permissions: [{ key: '/a"""b\\c\'/', permission: EtcdPermission.Read }] }],
            clients: [{ commonName: "CN with spaces", roles: ["q"] }],
        });
        const text = renderBootstrapScript(tricky);
        assert.deepEqual(embedded(text).roles[1].permissions[0].key, '/a"""b\\c\'/');
        const literal = /^DESIRED = json\.loads\(\n {4}r"""\n([\s\S]*?)\n"""\n\)$/m.exec(text)![1];
        assert.ok(!literal.includes('"""'), "nothing ends the raw string early");
        assert.ok(!literal.endsWith("\\"), "nothing escapes its closing quotes");
    });
});
