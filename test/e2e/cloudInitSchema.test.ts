// The rendered user-data against cloud-init's own schema (Debian's cloud-init, installed by .ci/run).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { runProgram, valueOf } from "../../testing/program";
import { SecureEtcdCluster } from "../../src";

function schemaCheck(userData: string): { status: number | null; output: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-userdata-"));
    try {
        const file = path.join(dir, "user-data");
        fs.writeFileSync(file, userData);
        const result = spawnSync("cloud-init", ["schema", "--config-file", file], {
            encoding: "utf8",
            timeout: 60_000,
        });
        if (result.error) {
            throw new Error(
                `cloud-init is not installed: run \`apt-get install -y cloud-init\` (${result.error.message})`,
            );
        }
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("cloud-init user-data against cloud-init's schema", function () {
    this.timeout(120_000);

    for (const [title, extra] of [
        ["", {}],
        [
            ", with the node agent's artifact to install",
            {
                backupAgentUrl: "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs",
                backupAgentSha256: "6d09f9792369c76b2fbcd01f97407f45b5639c9053082a5ab55a07b2b4e1be8e",
            },
        ],
    ] as const) {
        it(`every member's user-data is valid cloud-config${title}`, async () => {
            const { result } = await runProgram(
                () => new SecureEtcdCluster("prod", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...extra }),
            );
            const userData = await valueOf(result.memberUserData);
            assert.deepEqual(Object.keys(userData), ["etcd-0", "etcd-1", "etcd-2"]);
            for (const [member, text] of Object.entries(userData)) {
                const check = schemaCheck(text);
                assert.equal(check.status, 0, `${member}: ${check.output}`);
                assert.match(check.output, /Valid (schema|cloud-config)/);
            }
        });
    }

    it("the same check refuses a broken document (the checker is really checking)", () => {
        const check = schemaCheck("#cloud-config\nwrite_files:\n  - path: 3\n    permissions: 777\nruncmd: 5\n");
        assert.notEqual(check.status, 0);
        assert.match(check.output, /runcmd: 5 is not of type 'array'/);
    });
});
