// The node agent's artifact as the component takes it (backupAgentUrl and backupAgentSha256): the
// rules as pure functions and at the component (one error naming the argument and the fix, before
// anything is created, for plain values and Outputs alike), what reaches each member's user-data,
// and the one S3 permission its instance role gains for an s3:// URL.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import {
    agentArtifactReadPolicy,
    backupAgentPairProblems,
    backupAgentSha256Problems,
    backupAgentUrlProblems,
    parseS3Url,
} from "../../src/backup/agentArtifact";
import { validateArgs } from "../../src/component/validate";
import { PolicyDocument } from "../../src/core/policyDocument";
import { refusedWhenResolved, rejectedArgs, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { bootstrapPlanOf } from "../harness/userData";
import { resolve, runProgram, valueOf } from "../../testing/program";

const SHA256 = "6d09f9792369c76b2fbcd01f97407f45b5639c9053082a5ab55a07b2b4e1be8e";
const S3_URL = "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs";
const HTTPS_URL = "https://artifacts.example.com/secure-etcd/0.1.0/secure-etcd.cjs";
const base = (extra: Partial<SecureEtcdClusterArgs> = {}): SecureEtcdClusterArgs => ({
    members: THREE_MEMBERS,
    vpcId: TEST_VPC_ID,
    ...extra,
});
const reasons = (problems: { path: string; reason: string }[]) => problems.map((p) => `${p.path}: ${p.reason}`);

const planOf = (userData: string) => bootstrapPlanOf<{ agent: unknown; secretArn: string }>(userData);

describe("the node agent's artifact: rules", () => {
    it("accepts s3://<bucket>/<key> and https:// URLs that need no credential", () => {
        for (const url of [S3_URL, HTTPS_URL, "https://artifacts.example.com:8443/a.cjs?version=3"]) {
            assert.deepEqual(backupAgentUrlProblems(url), [], url);
        }
        assert.deepEqual(parseS3Url(S3_URL), { bucket: "acme-artifacts", key: "secure-etcd/secure-etcd-0.1.0.cjs" });
    });

    it("refuses other schemes, keys an IAM policy would read as wildcards, and URLs that carry a credential", () => {
        const cases: [unknown, string][] = [
            ["http://artifacts.example.com/secure-etcd.cjs", "is neither s3:// nor https://"],
            ["ftp://artifacts.example.com/secure-etcd.cjs", "is neither s3:// nor https://"],
            ["artifacts.example.com/secure-etcd.cjs", "is not a URL"],
            ["s3://acme-artifacts", "is not an s3://<bucket>/<key> URL"],
            ["s3://Acme_Artifacts/secure-etcd.cjs", "is not an s3://<bucket>/<key> URL"],
            ["s3://acme-artifacts/secure-etcd/*", "without *, ?, $ or whitespace"],
            ["s3://acme-artifacts/${aws:username}/a.cjs", "without *, ?, $ or whitespace"],
            ["s3://acme-artifacts/secure-etcd/", "must name one object"],
            ["https://user:secret@artifacts.example.com/a.cjs", "carries a credential (user:password@)"],
            [
                "https://acme.s3.amazonaws.com/a.cjs?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA&X-Amz-Signature=ab",
                "carries a credential (X-Amz-Credential)",
            ],
            [42, "42 is not a URL"],
        ];
        for (const [url, says] of cases) {
            const problems = backupAgentUrlProblems(url);
            assert.equal(problems.length, 1, String(url));
            assert.equal(problems[0].path, "backupAgentUrl");
            assert.ok(problems[0].reason.includes(says), `${problems[0].reason} lacks ${says}`);
            assert.ok(problems[0].reason.includes("s3://") || problems[0].reason.includes("e.g."), "says the fix");
        }
    });

    it("takes 64 hex digits in either case; names a whole sha256sum line for what it is", () => {
        assert.deepEqual(backupAgentSha256Problems(SHA256), []);
        assert.deepEqual(backupAgentSha256Problems(SHA256.toUpperCase()), []);
        assert.deepEqual(reasons(backupAgentSha256Problems(`${SHA256}  secure-etcd.cjs`)), [
            `backupAgentSha256: "${SHA256}  secure-etcd.cjs" is not a SHA-256 (64 hex digits): it is a whole sha256sum line; give the first field of secure-etcd.cjs.sha256, which npm run build:agent writes beside the artifact`,
        ]);
        for (const bad of [SHA256.slice(1), `sha256:${SHA256}`, "", 7]) {
            assert.equal(backupAgentSha256Problems(bad).length, 1, String(bad));
        }
    });

    it("takes the URL and the checksum together or not at all, naming the missing one", () => {
        assert.deepEqual(backupAgentPairProblems({ url: true, sha256: true }), []);
        assert.deepEqual(backupAgentPairProblems({ url: false, sha256: false }), []);
        assert.deepEqual(
            backupAgentPairProblems({ url: true, sha256: false }).map((p) => p.path),
            ["backupAgentSha256"],
        );
        assert.deepEqual(
            backupAgentPairProblems({ url: false, sha256: true }).map((p) => p.path),
            ["backupAgentUrl"],
        );
    });

    it("grants s3:GetObject on exactly the artifact for an s3:// URL, and nothing for https://", () => {
        assert.deepEqual(agentArtifactReadPolicy({ url: S3_URL, partition: "aws-us-gov" }), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ReadNodeAgentArtifact",
                    Effect: "Allow",
                    Action: "s3:GetObject",
                    Resource: "arn:aws-us-gov:s3:::acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs",
                },
            ],
        });
        assert.equal(agentArtifactReadPolicy({ url: HTTPS_URL, partition: "aws" }), undefined);
    });

    it("the component finds each problem before anything exists, in one list", () => {
        assert.deepEqual(validateArgs(base({ backupAgentUrl: S3_URL, backupAgentSha256: SHA256 })), []);
        assert.deepEqual(
            validateArgs(base({ backupAgentUrl: "http://x.example/a", backupAgentSha256: "abc" })).map((p) => p.path),
            ["backupAgentUrl", "backupAgentSha256"],
        );
    });
});

describe("the node agent's artifact: at the component", function () {
    this.timeout(60_000);

    async function expectProblem(args: Partial<SecureEtcdClusterArgs>, path: string, ...fragments: string[]) {
        const error = await rejectedArgs(base(args));
        assert.deepEqual(
            error.errors.map((e) => e.propertyPath),
            [path],
        );
        assert.ok(error.message.includes(`  - ${path}: ${error.errors[0].reason}`), error.message);
        for (const f of fragments) {
            assert.ok(error.errors[0].reason.includes(f), `"${error.errors[0].reason}" lacks "${f}"`);
        }
    }

    it("refuses one without the other, a bad URL, a bad checksum, and either with backups off", async () => {
        await expectProblem({ backupAgentUrl: S3_URL }, "backupAgentSha256", "is required with backupAgentUrl");
        await expectProblem({ backupAgentSha256: SHA256 }, "backupAgentUrl", "is required with backupAgentSha256");
        await expectProblem(
            { backupAgentUrl: "http://artifacts.example.com/a.cjs", backupAgentSha256: SHA256 },
            "backupAgentUrl",
            "is neither s3:// nor https://",
        );
        await expectProblem(
            { backupAgentUrl: S3_URL, backupAgentSha256: "not-a-digest" },
            "backupAgentSha256",
            "first field of secure-etcd.cjs.sha256",
        );
        const off = await rejectedArgs(base({ backups: false, backupAgentUrl: S3_URL, backupAgentSha256: SHA256 }));
        assert.deepEqual(
            off.errors.map((e) => `${e.propertyPath}: ${e.reason}`),
            ["backupAgentUrl", "backupAgentSha256"].map(
                (k) =>
                    `${k}: only applies when backups are on, and backups is false; remove it, or set backups to true`,
            ),
        );
    });

    it("checks a URL that arrives as an Output when it resolves, with nothing registered", async () => {
        const { error } = await refusedWhenResolved({
            members: THREE_MEMBERS,
            backupAgentUrl: pulumi.output("s3://acme-artifacts/secure-etcd/*"),
            backupAgentSha256: SHA256,
        });
        assert.match(
            error.message,
            /- backupAgentUrl: "s3:\/\/acme-artifacts\/secure-etcd\/\*": the key must name one object/,
        );
    });

    it("puts URL, checksum (lowercase) and path in every member's plan, and s3:GetObject on the artifact in its role's policy", async () => {
        const { result: cluster } = await runProgram(
            () =>
                new SecureEtcdCluster(
                    "prod",
                    base({
                        backupAgentUrl: pulumi.output(S3_URL),
                        backupAgentSha256: SHA256.toUpperCase(),
                        backupAgentPath: "/opt/secure-etcd/bin/secure-etcd",
                    }),
                ),
        );
        const userData = await resolve(cluster.memberUserData);
        assert.equal(userData.secret, false);
        const policies = await valueOf(cluster.memberInstancePolicies);
        const writer = JSON.parse((await valueOf(cluster.backupWriterPolicy))!) as PolicyDocument;
        const own = await valueOf(cluster.memberSecretsPolicies);
        for (const member of THREE_MEMBERS.map((m) => m.name)) {
            assert.deepEqual(planOf(userData.value[member]).agent, {
                url: S3_URL,
                sha256: SHA256,
                path: "/opt/secure-etcd/bin/secure-etcd",
            });
            const doc = JSON.parse(policies[member]) as PolicyDocument;
            assert.deepEqual(doc.Statement, [
                ...(JSON.parse(own[member]) as PolicyDocument).Statement,
                ...writer.Statement,
                {
                    Sid: "ReadNodeAgentArtifact",
                    Effect: "Allow",
                    Action: "s3:GetObject",
                    Resource: "arn:aws:s3:::acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs",
                },
            ]);
        }
    });

    it("an https:// artifact adds nothing to the role; without one the plan names no agent", async () => {
        const https = (
            await runProgram(
                () => new SecureEtcdCluster("prod", base({ backupAgentUrl: HTTPS_URL, backupAgentSha256: SHA256 })),
            )
        ).result;
        const plain = (await runProgram(() => new SecureEtcdCluster("prod", base()))).result;
        // The same statements (the two runs differ only in their random names).
        const sids = async (c: SecureEtcdCluster) =>
            Object.values(await valueOf(c.memberInstancePolicies)).map((p) =>
                (JSON.parse(p) as PolicyDocument).Statement.map((st) => st.Sid),
            );
        assert.deepEqual(await sids(https), await sids(plain));
        assert.ok(!(await sids(https)).flat().includes("ReadNodeAgentArtifact"));
        assert.deepEqual(planOf((await valueOf(https.memberUserData))["etcd-0"]).agent, {
            url: HTTPS_URL,
            sha256: SHA256,
            path: "/usr/local/bin/secure-etcd",
        });
        assert.equal(planOf((await valueOf(plain.memberUserData))["etcd-0"]).agent, null);
    });
});
