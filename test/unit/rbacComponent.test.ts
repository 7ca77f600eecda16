// etcd RBAC as the component wires it: the first member's node carries the bootstrap (script,
// unit, backup identity, root password), nothing else does, and no secret leaks into public outputs.
import { strict as assert } from "assert";
import { EtcdPermission, NodeFile } from "../../src";
import { RBAC_SCRIPT_PATH, RBAC_UNIT_PATH, ROOT_PASSWORD_PATH } from "../../src/rbac/rbacNodeFiles";
import { BOOTSTRAP_DEFAULTS } from "../../src/rbac/bootstrapScript";
import { buildCluster, rejectedArgs, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { resolve } from "../../testing/program";
import { writtenText } from "../harness/userData";

const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";

describe("SecureEtcdCluster: etcd RBAC", function () {
    it("puts the bootstrap on the first member only, with the backup identity, root-only", async () => {
        const { cluster, outputs } = await buildCluster({ members: THREE_MEMBERS });
        const files = outputs.nodeFiles.value as Record<string, NodeFile[]>;
        const byPath = (member: string) => Object.fromEntries(files[member].map((f) => [f.path, f]));
        const first = byPath("etcd-0");
        for (const p of [
            RBAC_SCRIPT_PATH,
            RBAC_UNIT_PATH,
            ROOT_PASSWORD_PATH,
            BOOTSTRAP_DEFAULTS.cert,
            BOOTSTRAP_DEFAULTS.key,
        ]) {
            assert.ok(first[p], `etcd-0 lacks ${p}`);
            assert.equal(first[p].owner, "0:0", p);
        }
        assert.equal(first[ROOT_PASSWORD_PATH].mode, "0600");
        assert.equal(first[BOOTSTRAP_DEFAULTS.key].mode, "0600");
        assert.equal(first[RBAC_SCRIPT_PATH].mode, "0700");
        const backup = outputs.clientCredentials.value["etcd-backup"];
        assert.equal(first[BOOTSTRAP_DEFAULTS.cert].content, backup.certPem);
        assert.equal(first[BOOTSTRAP_DEFAULTS.key].content, backup.keyPem);
        assert.match(first[ROOT_PASSWORD_PATH].content, /^[A-Za-z0-9]{32}$/);
        assert.deepEqual(first[RBAC_UNIT_PATH].apply, [
            "systemctl",
            "enable",
            "--now",
            "--no-block",
            "secure-etcd-rbac.service",
        ]);
        for (const other of ["etcd-1", "etcd-2"]) {
            assert.equal(byPath(other)[ROOT_PASSWORD_PATH], undefined, other);
            assert.equal(byPath(other)[RBAC_SCRIPT_PATH], undefined, other);
        }
        // Without backups, the backup identity is on the first member only.
        const { outputs: noBackups } = await buildCluster({ members: THREE_MEMBERS, backups: false });
        const withoutBackups = noBackups.nodeFiles.value as Record<string, NodeFile[]>;
        for (const other of ["etcd-1", "etcd-2"]) {
            assert.ok(!withoutBackups[other].some((f) => f.path === BOOTSTRAP_DEFAULTS.key), other);
        }
        // The script is public and holds no secret; the user-data does not either.
        const script = await resolve(cluster.rbacBootstrapScript);
        assert.equal(script.secret, false);
        assert.equal(script.value, first[RBAC_SCRIPT_PATH].content);
        const password = first[ROOT_PASSWORD_PATH].content;
        assert.ok(!script.value.includes(password));
        const userData = await resolve(cluster.memberUserData);
        assert.equal(userData.secret, false);
        const written = Object.values(userData.value).map(writtenText).join("\n");
        assert.ok(written.includes("/etc/secure-etcd/rbac-bootstrap.py"), "the decoded plan is what is checked");
        assert.ok(!written.includes(password));
        assert.ok(!written.includes("PRIVATE KEY"));
    });

    it("stores the root password in Secrets Manager, as a secret", async () => {
        const { mocks, outputs } = await buildCluster({ members: THREE_MEMBERS });
        const password = (outputs.nodeFiles.value as Record<string, NodeFile[]>)["etcd-0"].find(
            (f) => f.path === ROOT_PASSWORD_PATH,
        )!.content;
        const version = mocks.ofType(SECRET_VERSION).find((v) => v.name.endsWith("etcd-root-password-version"));
        assert.ok(version);
        assert.equal(version.inputs.secretString, password);
    });

    it("grants extra clients exactly the roles named for them", async () => {
        const { cluster } = await buildCluster({
            members: THREE_MEMBERS,
            etcdRoles: [{ name: "events-reader", permissions: [{ key: "/events/", permission: EtcdPermission.Read }] }],
            clients: [{ name: "auditor", roles: ["events-reader"] }, { name: "nobody" }],
        });
        const script = (await resolve(cluster.rbacBootstrapScript)).value;
        const desired = script.slice(script.indexOf("DESIRED"));
        assert.match(desired, /"events-reader"/);
        assert.match(desired, /"auditor"/);
        assert.match(desired, /"nobody"/);
    });

    it("refuses a client naming a role that does not exist, before anything is created", async () => {
        const error = await rejectedArgs({
            members: THREE_MEMBERS,
            vpcId: TEST_VPC_ID,
            clients: [{ name: "auditor", roles: ["events-reader"] }],
        });
        assert.match(error.message, /clients\[0\]\.roles\[0\]: .*events-reader/);
    });
});
