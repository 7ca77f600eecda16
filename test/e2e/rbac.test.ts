// The RBAC bootstrap script on a real three-member cluster: rendered from the role model, run with
// python3 and the backup client's certificate, then every promise checked from outside with each
// client's own certificate.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Etcd3, IOptions } from "etcd3";
import { LocalEtcdCluster } from "../../testing/etcdCluster";
import { issueLeaf } from "../../agent/issue";
import { BOOTSTRAP_ENV, ETCDCTL_WRITE_COMMANDS, renderBootstrapScript } from "../../src/rbac/bootstrapScript";
import { EtcdPermission, resolveRbac } from "../../src/rbac/roles";
import { eventually } from "../../testing/probes";
import { startNetnsCluster } from "./localCluster";

interface Ran {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a command to completion (at most `timeoutMs`); never throws for a non-zero exit. */
function runCommand(file: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Ran> {
    return new Promise((resolve, reject) => {
        execFile(
            file,
            args,
            { encoding: "utf8", env: env ?? process.env, timeout: timeoutMs },
            (error, stdout, stderr) => {
                if (error && typeof error.code !== "number") {
                    reject(new Error(`${file} ${args.join(" ")}: ${error.message}\n${stderr}`));
                } else {
                    resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
                }
            },
        );
    });
}

interface Creds {
    ca: string;
    cert: string;
    key: string;
    certPem: string;
    keyPem: string;
    caPem: string;
}

/** The user and role state as etcdctl reports it, without the headers (they carry the revision). */
interface AuthDump {
    roles: Record<string, unknown>;
    users: Record<string, unknown>;
}

describe("rbac: the bootstrap script on a real three-member cluster", function () {
    this.timeout(120_000);
    let cluster: LocalEtcdCluster;
    let dir: string;
    let scriptPath: string;
    let passwordFile: string;
    let password: string;
    let endpoint: string;
    let allEndpoints: string;
    const who: Record<string, Creds> = {};
    const outputs: string[] = [];

    const rbac = resolveRbac({
        roles: [{ name: "app-reader", permissions: [{ key: "/app/", permission: EtcdPermission.Read }] }],
        clients: [{ commonName: "app-client", roles: ["app-reader"] }],
    });

    function saveCreds(name: string, certPem: string, keyPem: string, caPem: string): void {
        const cert = path.join(dir, `${name}.crt`);
        const key = path.join(dir, `${name}.key`);
        fs.writeFileSync(cert, certPem, { mode: 0o644 });
        fs.writeFileSync(key, keyPem, { mode: 0o600 });
        who[name] = { ca: path.join(dir, "ca.crt"), cert, key, certPem, keyPem, caPem };
    }

    function etcdctl(as: string, args: string[], endpoints = endpoint): Promise<Ran> {
        const c = who[as];
        return runCommand("etcdctl", [
            `--endpoints=${endpoints}`,
            `--cacert=${c.ca}`,
            `--cert=${c.cert}`,
            `--key=${c.key}`,
            "--dial-timeout=5s",
            ...args,
        ]);
    }

    async function etcdctlJson(as: string, args: string[]): Promise<Record<string, unknown>> {
        const ran = await etcdctl(as, ["-w", "json", ...args]);
        assert.equal(ran.code, 0, `etcdctl ${args.join(" ")}: ${ran.stderr}`);
        const doc = JSON.parse(ran.stdout) as Record<string, unknown>;
        delete doc.header;
        return doc;
    }

    async function dumpAuth(): Promise<AuthDump> {
        const dump: AuthDump = { roles: {}, users: {} };
        const roles = ((await etcdctlJson("etcd-backup", ["role", "list"])).roles as string[] | undefined) ?? [];
        for (const r of roles) {
            dump.roles[r] = await etcdctlJson("etcd-backup", ["role", "get", "--", r]);
        }
        const users = ((await etcdctlJson("etcd-backup", ["user", "list"])).users as string[] | undefined) ?? [];
        for (const u of users) {
            dump.users[u] = await etcdctlJson("etcd-backup", ["user", "get", "--", u]);
        }
        return dump;
    }

    function client(as: string, extra: Partial<IOptions> = {}): Etcd3 {
        const c = who[as];
        return new Etcd3({
            hosts: cluster.members.map((m) => `https://${m.ip}:2379`),
            credentials: {
                rootCertificate: Buffer.from(c.caPem),
                certChain: Buffer.from(c.certPem),
                privateKey: Buffer.from(c.keyPem),
            },
            ...extra,
        });
    }

    /** Runs `fn` with a client authenticated as `as`, and closes it. */
    async function withClient<T>(as: string, fn: (c: Etcd3) => Promise<T>, extra: Partial<IOptions> = {}): Promise<T> {
        const c = client(as, extra);
        try {
            return await fn(c);
        } finally {
            c.close();
        }
    }

    async function assertDenied(what: string, attempt: PromiseLike<unknown>): Promise<void> {
        await assert.rejects(Promise.resolve(attempt), (e: Error) => {
            assert.match(e.message, /permission denied/, `${what}: ${e.message}`);
            return true;
        });
    }

    async function bootstrap(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
        const ran = await runCommand("python3", [scriptPath, ...args], env);
        outputs.push(ran.stdout, ran.stderr);
        return ran;
    }

    const connection = () => [
        `--endpoints=${endpoint}`,
        `--cacert=${who["etcd-backup"].ca}`,
        `--cert=${who["etcd-backup"].cert}`,
        `--key=${who["etcd-backup"].key}`,
    ];

    before(async () => {
        cluster = await startNetnsCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-rbac-e2e-"));
        endpoint = `https://${cluster.members[0].ip}:2379`;
        allEndpoints = cluster.members.map((m) => `https://${m.ip}:2379`).join(",");
        const creds = cluster.rendered.clientCredentials;
        fs.writeFileSync(path.join(dir, "ca.crt"), creds["etcd-backup"].caCertPem, { mode: 0o644 });
        for (const name of ["kube-apiserver-etcd-client", "kube-etcd-healthcheck-client", "etcd-backup"]) {
            saveCreds(name, creds[name].certPem, creds[name].keyPem, creds[name].caCertPem);
        }
        const ca = creds["etcd-backup"].caCertPem;
        for (const cn of ["app-client", "unknown-client"]) {
            const issued = await issueLeaf({ ca: cluster.rendered.etcdCa, commonName: cn });
            saveCreds(cn, issued.certPem, issued.keyPem, ca);
        }
        password = crypto.randomBytes(24).toString("base64");
        passwordFile = path.join(dir, "root-password");
        fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
        scriptPath = path.join(dir, "bootstrap-etcd-rbac.py");
        fs.writeFileSync(scriptPath, renderBootstrapScript(rbac), { mode: 0o755 });
    });

    after(async () => {
        await cluster?.stop();
        if (dir) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("renders a script python3 compiles, whose DESIRED is the resolved state, awkward keys included", async () => {
        const tricky = resolveRbac({
            roles: [{ name: "q", permissions: [{ key: '/a"""b\\c\'/', permission: EtcdPermission.Read }] }],
            clients: [{ commonName: "CN with spaces", roles: ["q"] }],
        });
        const trickyPath = path.join(dir, "tricky.py");
        fs.writeFileSync(trickyPath, renderBootstrapScript(tricky));
        for (const [file, expected] of [
            [scriptPath, rbac],
            [trickyPath, tricky],
        ] as const) {
            // Loaded as a module (not __main__): the state is evaluated, nothing runs.
            const ran = await runCommand("python3", [
                "-c",
                "import json, runpy, sys; print(json.dumps(runpy.run_path(sys.argv[1])['DESIRED']))",
                file,
            ]);
            assert.equal(ran.code, 0, ran.stderr);
            assert.deepEqual(JSON.parse(ran.stdout), { rootUser: "root", rootRole: "root", ...expected });
        }
    });

    it("before the bootstrap (auth off), any certificate from the etcd CA reads and writes anything", async () => {
        await withClient("unknown-client", async (c) => {
            await c.put("/other").value("planted before auth").exec();
            assert.equal(await c.get("/other").string(), "planted before auth");
        });
    });

    it("fails clearly, before any write, without etcdctl or the root password; a dry run writes nothing", async () => {
        const noEtcdctl = await bootstrap([...connection(), "--etcdctl", path.join(dir, "no-etcdctl")]);
        assert.equal(noEtcdctl.code, 2);
        assert.match(noEtcdctl.stderr, /^error: etcdctl not found .*--etcdctl PATH/m);
        const noPassword = await bootstrap(connection());
        assert.equal(noPassword.code, 2, noPassword.stderr);
        assert.match(noPassword.stderr, /root user does not exist yet.*--root-password-file/);
        const dry = await bootstrap([...connection(), "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /^user root: would be created \(granted role root\)$/m);
        assert.match(dry.stdout, /^auth: would be enabled$/m);
        assert.match(dry.stdout, /^dry run: 8 item\(s\) would change \(14 write\(s\)\); nothing was written$/m);
        assert.deepEqual(await dumpAuth(), { roles: {}, users: {} }, "nothing written");
    });

    it("bootstraps: root user, roles, certificate users, then auth enabled", async () => {
        const ran = await bootstrap([...connection(), "--root-password-file", passwordFile]);
        assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
        const lines = ran.stdout.trim().split("\n");
        assert.deepEqual(lines, [
            "user root: created (granted role root)",
            "role kube-apiserver: created (granted readwrite prefix /registry/)",
            "role app-reader: created (granted read prefix /app/)",
            "user kube-apiserver-etcd-client: created (granted role kube-apiserver)",
            "user kube-etcd-healthcheck-client: created (no roles)",
            "user etcd-backup: created (granted role root)",
            "user app-client: created (granted role app-reader)",
            "auth: enabled",
            "converged: 8 item(s) changed with 14 write(s)",
        ]);
        const dump = await dumpAuth();
        assert.deepEqual(dump.roles["kube-apiserver"], {
            perm: [
                {
                    permType: 2,
                    key: Buffer.from("/registry/").toString("base64"),
                    range_end: Buffer.from(rbac.roles[0].permissions[0].rangeEnd).toString("base64"),
                },
            ],
        });
        assert.deepEqual(Object.keys(dump.users).sort(), [
            "app-client",
            "etcd-backup",
            "kube-apiserver-etcd-client",
            "kube-etcd-healthcheck-client",
            "root",
        ]);
    });

    it("auth is enabled: a certificate from the etcd CA with an unknown CN is denied reads and writes", async () => {
        await withClient("unknown-client", async (c) => {
            await assertDenied("read", c.get("/other").string());
            await assertDenied("read /registry/", c.getAll().prefix("/registry/").keys());
            await assertDenied("write", c.put("/other").value("again").exec());
            await assertDenied("write /registry/", c.put("/registry/x").value("x").exec());
        });
    });

    it("kube-apiserver's certificate reads and writes under /registry/, and nothing outside it", async () => {
        await withClient("kube-apiserver-etcd-client", async (c) => {
            await c.put("/registry/secrets/default/db").value("s3cr3t").exec();
            assert.equal(await c.get("/registry/secrets/default/db").string(), "s3cr3t");
            await c.put("/registry/pods/default/web").value("pod").exec();
            assert.deepEqual(await c.getAll().prefix("/registry/").keys(), [
                "/registry/pods/default/web",
                "/registry/secrets/default/db",
            ]);
            await assertDenied("write /other", c.put("/other").value("x").exec());
            await assertDenied("read /other", c.get("/other").string());
            await assertDenied("read /registry-other", c.get("/registry-other").string());
            await assertDenied("read everything", c.getAll().prefix("/").keys());
        });
    });

    it("the health-check certificate reads no key, yet `etcdctl endpoint health` reports healthy", async () => {
        await withClient("kube-etcd-healthcheck-client", async (c) => {
            await assertDenied("read a secret", c.get("/registry/secrets/default/db").string());
            await assertDenied("write", c.put("/registry/x").value("x").exec());
        });
        // Asked again while a member is briefly unhealthy (a busy machine can starve its health read).
        await eventually("`etcdctl endpoint health` reports 3 healthy members", async (seen) => {
            const health = await etcdctl("kube-etcd-healthcheck-client", ["endpoint", "health"], allEndpoints);
            seen.last = `exit ${health.code}: ${health.stdout}${health.stderr}`;
            const healthy = `${health.stdout}${health.stderr}`.match(/is healthy/g) ?? [];
            return health.code === 0 && healthy.length === 3 ? true : undefined;
        });
    });

    it("an extra client gets exactly its role: read under /app/, nothing else", async () => {
        await withClient("etcd-backup", (c) => c.put("/app/config").value("v1").exec());
        await withClient("app-client", async (c) => {
            assert.equal(await c.get("/app/config").string(), "v1");
            await assertDenied("write /app/", c.put("/app/config").value("v2").exec());
            await assertDenied("read /registry/", c.get("/registry/secrets/default/db").string());
        });
    });

    it("the backup certificate takes a snapshot; kube-apiserver's cannot", async () => {
        const file = path.join(dir, "snapshot.db");
        const ran = await etcdctl("etcd-backup", ["snapshot", "save", file]);
        assert.equal(ran.code, 0, ran.stderr);
        assert.ok(fs.statSync(file).size > 0, "a non-empty snapshot");
        const denied = await etcdctl("kube-apiserver-etcd-client", ["snapshot", "save", `${file}.2`]);
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /permission denied/);
    });

    it("root authenticates with the password from the file (break-glass)", async () => {
        const keys = await withClient("kube-etcd-healthcheck-client", (c) => c.getAll().prefix("/registry/").keys(), {
            auth: { username: "root", password },
        });
        assert.ok(keys.includes("/registry/secrets/default/db"));
    });

    it("a second run is a no-op: every item unchanged, no write command, the same users and roles", async () => {
        // An etcdctl that logs each call, to prove no write subcommand is issued; options from the environment.
        const log = path.join(dir, "etcdctl-calls.log");
        const wrapper = path.join(dir, "etcdctl-logging");
        fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec etcdctl "$@"\n`, { mode: 0o755 });
        const before = await dumpAuth();
        const ran = await bootstrap([], {
            ...process.env,
            [BOOTSTRAP_ENV.endpoints]: endpoint,
            [BOOTSTRAP_ENV.cacert]: who["etcd-backup"].ca,
            [BOOTSTRAP_ENV.cert]: who["etcd-backup"].cert,
            [BOOTSTRAP_ENV.key]: who["etcd-backup"].key,
            [BOOTSTRAP_ENV.rootPasswordFile]: passwordFile,
            [BOOTSTRAP_ENV.etcdctl]: wrapper,
        });
        assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
        assert.deepEqual(ran.stdout.trim().split("\n"), [
            "user root: unchanged",
            "role kube-apiserver: unchanged",
            "role app-reader: unchanged",
            "user kube-apiserver-etcd-client: unchanged",
            "user kube-etcd-healthcheck-client: unchanged",
            "user etcd-backup: unchanged",
            "user app-client: unchanged",
            "auth: unchanged (enabled)",
            "everything unchanged; no write issued",
        ]);
        const calls = fs.readFileSync(log, "utf8").trim().split("\n");
        assert.ok(
            calls.some((c) => / role get /.test(c)),
            "the wrapper saw the reads",
        );
        for (const call of calls) {
            for (const w of ETCDCTL_WRITE_COMMANDS) {
                assert.ok(!new RegExp(`(^| )${w}( |$)`).test(call), `a write: ${call}`);
            }
        }
        assert.deepEqual(await dumpAuth(), before);
    });

    it("converges drift: an extra permission and role are revoked, a lost one granted again", async () => {
        for (const args of [
            ["role", "grant-permission", "kube-apiserver", "read", "/other"],
            ["role", "revoke-permission", "app-reader", "/app/", "--prefix"],
            ["user", "grant-role", "app-client", "kube-apiserver"],
        ]) {
            const ran = await etcdctl("etcd-backup", args);
            assert.equal(ran.code, 0, ran.stderr);
        }
        assert.equal(
            await withClient("kube-apiserver-etcd-client", (c) => c.get("/other").string()),
            "planted before auth",
            "the drift is real",
        );
        const dry = await bootstrap([...connection(), "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /^role kube-apiserver: would be updated \(revoked read key \/other\)$/m);
        const ran = await bootstrap(connection());
        assert.equal(ran.code, 0, ran.stderr);
        const changed = ran.stdout.split("\n").filter((l) => / (created|updated)/.test(l));
        assert.deepEqual(changed, [
            "role kube-apiserver: updated (revoked read key /other)",
            "role app-reader: updated (granted read prefix /app/)",
            "user app-client: updated (revoked role kube-apiserver)",
        ]);
        await withClient("kube-apiserver-etcd-client", (c) => assertDenied("read /other", c.get("/other").string()));
        assert.equal(await withClient("app-client", (c) => c.get("/app/config").string()), "v1");
    });

    it("fails with etcdctl's error and a hint when run with a certificate that lacks root", async () => {
        const c = who["kube-apiserver-etcd-client"];
        const ran = await bootstrap([
            `--endpoints=${endpoint}`,
            `--cacert=${c.ca}`,
            `--cert=${c.cert}`,
            `--key=${c.key}`,
        ]);
        assert.equal(ran.code, 1);
        assert.match(ran.stderr, /^error: etcdctl .* failed \(exit \d+\):/m);
        assert.match(ran.stderr, /Error: etcdserver: permission denied/);
        assert.match(ran.stderr, /hint: .*etcd-backup client certificate/);
    });

    it("never printed the root password", () => {
        assert.ok(outputs.length >= 10);
        for (const text of outputs) {
            assert.ok(!text.includes(password), "the password appears in the script's output");
        }
    });
});
