import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { EncryptionProvider, KeyAlgorithm, SecureEtcdCluster, SecureEtcdClusterArgs, validateArgs } from "../../src";
import { ProviderMocks } from "../../testing/mocks";
import { attemptProgram, runProgram, valueOf } from "../../testing/program";
import { MOCK_CALLER_ARN } from "../../testing/awsEmulator";
import { capturedWarnings, refusedWhenResolved, rejectedArgs, TEST_VPC_ID } from "../harness/cluster";

const ok = { name: "etcd-0", ip: "10.0.1.10" };

async function expectProblem(args: SecureEtcdClusterArgs, path: string, ...fragments: (string | RegExp)[]) {
    const error = await rejectedArgs(args);
    const problem = error.errors.find((e) => e.propertyPath === path);
    assert.ok(problem, `no problem at ${path}; got ${JSON.stringify(error.errors)}`);
    assert.match(error.message, /^SecureEtcdCluster "bad" has invalid arguments:/);
    assert.ok(error.message.includes(`${path}: ${problem.reason}`));
    for (const f of fragments) {
        if (typeof f === "string") {
            assert.ok(problem.reason.includes(f), `"${problem.reason}" lacks "${f}"`);
        } else {
            assert.match(problem.reason, f);
        }
    }
}

describe("SecureEtcdCluster: input validation", function () {
    it("rejects an empty member list", () => expectProblem({ members: [] }, "members", "is empty", "1 to 9"));

    it("rejects more than 9 members", () =>
        expectProblem(
            { members: Array.from({ length: 10 }, (_, i) => ({ name: `m${i}`, ip: `10.0.0.${i + 1}` })) },
            "members",
            "has 10 members",
            "3, 5 or 7",
        ));

    it("rejects duplicate member names", () =>
        expectProblem(
            { members: [ok, { name: "etcd-0", ip: "10.0.1.11" }] },
            "members[1].name",
            '"etcd-0" is already',
            "unique",
        ));

    for (const bad of ["Etcd-0", "etcd_0", "-etcd", "etcd-", "", "a".repeat(64), "etcd.0"]) {
        it(`rejects member name ${JSON.stringify(bad)}`, () =>
            expectProblem(
                { members: [{ name: bad, ip: "10.0.0.1" }] },
                "members[0].name",
                "not a DNS-1123 label",
                "lowercase",
            ));
    }

    for (const bad of ["10.0.1", "10.0.1.256", "010.0.1.1", "etcd-0", "10.0.0.1/24", "fe80::1%eth0"]) {
        it(`rejects member ip ${JSON.stringify(bad)}`, () =>
            expectProblem({ members: [{ name: "m", ip: bad }] }, "members[0].ip", "not an IPv4 or IPv6 address"));
    }

    it("rejects unspecified and multicast addresses", async () => {
        await expectProblem({ members: [{ name: "m", ip: "0.0.0.0" }] }, "members[0].ip", "unspecified");
        await expectProblem({ members: [{ name: "m", ip: "::" }] }, "members[0].ip", "unspecified");
        await expectProblem({ members: [{ name: "m", ip: "224.0.0.1" }] }, "members[0].ip", "multicast");
    });

    it("rejects two members on one address, however it is written", () =>
        expectProblem(
            {
                members: [
                    { name: "a", ip: "fd00::1" },
                    { name: "b", ip: "fd00:0::1" },
                ],
            },
            "members[1].ip",
            "already the address of members[0]",
        ));

    it("rejects bad DNS names", async () => {
        await expectProblem(
            { members: [{ ...ok, dnsNames: ["ok.internal", "*.internal"] }] },
            "members[0].dnsNames[1]",
            "not a DNS name",
            "without wildcards",
        );
        await expectProblem(
            { members: [{ ...ok, dnsNames: ["Etcd.Internal"] }] },
            "members[0].dnsNames[0]",
            "lowercase",
        );
    });

    it("rejects an unknown key algorithm", () =>
        expectProblem(
            { members: [ok], keyAlgorithm: "ECDSA-P224" as KeyAlgorithm },
            "keyAlgorithm",
            '"ECDSA-P224" is not a supported key algorithm',
            "ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096",
        ));

    it("rejects a renewal window not shorter than the validity", async () => {
        await expectProblem(
            { members: [ok], certificateValidityHours: 720, certificateRenewalHours: 720 },
            "certificateRenewalHours",
            "is not shorter than certificateValidityHours (720)",
        );
        // The default window (720h) against a short validity is caught as well.
        await expectProblem({ members: [ok], certificateValidityHours: 500 }, "certificateRenewalHours", "not shorter");
    });

    it("rejects validity that is not a positive whole number, or outlives the CA", async () => {
        await expectProblem(
            { members: [ok], certificateValidityHours: 0 },
            "certificateValidityHours",
            "whole number of hours above 0",
        );
        await expectProblem({ members: [ok], caValidityHours: 1.5 }, "caValidityHours", "whole number");
        await expectProblem({ members: [ok], certificateRenewalHours: -1 }, "certificateRenewalHours", "whole number");
        await expectProblem(
            { members: [ok], caValidityHours: 5000, certificateValidityHours: 8760 },
            "certificateValidityHours",
            "cannot outlive the CA",
        );
    });

    it("rejects duplicate clients and identities that collide", async () => {
        await expectProblem(
            { members: [ok], clients: [{ name: "x" }, { name: "x", commonName: "y" }] },
            "clients[1].name",
            "already",
        );
        await expectProblem(
            { members: [ok], clients: [{ name: "etcd-backup" }] },
            "clients[0].name",
            "built-in client",
        );
        await expectProblem(
            { members: [ok], clients: [{ name: "sneaky", commonName: "kube-apiserver-etcd-client" }] },
            "clients[0].commonName",
            "common name of a built-in client",
        );
        await expectProblem(
            {
                members: [ok],
                clients: [
                    { name: "a", commonName: "same" },
                    { name: "b", commonName: "same" },
                ],
            },
            "clients[1].commonName",
            "already the common name of clients[0]",
        );
        await expectProblem(
            { members: [ok], clients: [{ name: "etcd-0" }] },
            "clients[0].commonName",
            "a member's name",
        );
        await expectProblem({ members: [ok], clients: [{ name: "Bad Name" }] }, "clients[0].name", "DNS-1123");
    });

    it("rejects etcd versions it cannot render, root ids and malformed digests", async () => {
        await expectProblem(
            { members: [ok], etcdVersion: "3.3.25" },
            "etcdVersion",
            "use 3.6 (the default), 3.7, 3.5 or 3.4",
        );
        await expectProblem({ members: [ok], etcdVersion: "v3.6" }, "etcdVersion", "MAJOR.MINOR.PATCH");
        await expectProblem({ members: [ok], etcdUid: 0 }, "etcdUid", "must not run as root");
        await expectProblem({ members: [ok], etcdGid: -5 }, "etcdGid", "non-root id");
        await expectProblem(
            { members: [ok], etcdImageDigest: "latest" },
            "etcdImageDigest",
            '"sha256:" followed by 64',
        );
    });

    it("reports every problem at once", async () => {
        const error = await rejectedArgs({
            members: [{ name: "A", ip: "nope" }],
            keyAlgorithm: "DSA" as KeyAlgorithm,
        });
        assert.deepEqual(
            error.errors.map((e) => e.propertyPath),
            ["members[0].name", "members[0].ip", "keyAlgorithm"],
        );
    });

    it("fails the deployment with the same message when an output value resolves to bad input", async () => {
        // The Pulumi host turns an unhandled rejection into a failed update showing its message;
        // mocha's own handler is set aside while this test listens for it.
        const mochaHandlers = process.listeners("unhandledRejection");
        process.removeAllListeners("unhandledRejection");
        const seen: string[] = [];
        let rejected!: () => void;
        const firstRejection = new Promise<void>((resolve) => (rejected = resolve));
        const listener = (e: unknown) => {
            seen.push(String(e));
            rejected();
        };
        process.on("unhandledRejection", listener);
        try {
            await pulumi.runtime.setMocks(new ProviderMocks());
            new SecureEtcdCluster("late", {
                members: [{ name: "m", ip: pulumi.output("not-an-ip") }],
                vpcId: TEST_VPC_ID,
            });
            // Waited for, however long a busy machine takes (mocha's timeout bounds it).
            await firstRejection;
        } finally {
            process.removeListener("unhandledRejection", listener);
            mochaHandlers.forEach((h) => process.on("unhandledRejection", h));
        }
        assert.ok(seen.length > 0, "the deployment fails");
        assert.match(
            seen[0],
            /SecureEtcdCluster "late" has invalid arguments:\n {2}- members\[0\]\.ip: "not-an-ip" is not an IPv4 or IPv6 address/,
        );
    });

    it("warns on an even member count", async () => {
        const warnings = await capturedWarnings(async () => {
            const { result } = await runProgram(
                () =>
                    new SecureEtcdCluster("even", {
                        members: [ok, { name: "etcd-1", ip: "10.0.1.11" }],
                        vpcId: TEST_VPC_ID,
                    }),
            );
            await valueOf(result.caCertPem);
        });
        const own = warnings.filter((w) => !w.startsWith("key policies:"));
        assert.equal(own.length, 1);
        assert.match(own[0], /2 members tolerate no more failures than 1; an odd count/);
    });

    it("warns which key uses no role is named for, and only those", async () => {
        const named = {
            memberRoleNames: ["etcd-member"],
            apiServerRoleNames: ["kube-apiserver"],
            backupWriterRoleNames: ["etcd-member"],
            backupReaderRoleNames: ["etcd-dr"],
        };
        const keyWarnings = async (args: Partial<SecureEtcdClusterArgs>) =>
            (
                await capturedWarnings(async () => {
                    const { result } = await runProgram(
                        () => new SecureEtcdCluster("keys", { members: [ok], vpcId: TEST_VPC_ID, ...args }),
                    );
                    await valueOf(result.caCertPem);
                })
            ).filter((w) => w.startsWith("key policies:"));
        const [all] = await keyWarnings({});
        for (const use of ["memberRoleNames", "apiServerRoleNames", "backupWriterRoleNames", "backupReaderRoleNames"]) {
            assert.ok(all.includes(`(${use})`), use);
        }
        assert.match(all, /any principal in the account whose IAM policy allows them/);
        assert.deepEqual(await keyWarnings(named), []);
        const [some] = await keyWarnings({ ...named, backupReaderRoleNames: undefined });
        assert.match(some, /^key policies: no role is named for restoring backups \(backupReaderRoleNames\);/);
        // Keys you bring are yours to write policies for.
        const KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert.deepEqual(await keyWarnings({ secretsKmsKeyArn: KEY, backups: false }), []);
    });
});

describe("SecureEtcdCluster: encryption and secrets arguments", function () {
    const members = [ok];
    const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    it("rejects an unknown provider", () =>
        expectProblem(
            { members, encryptionProvider: "rot13" as EncryptionProvider },
            "encryptionProvider",
            '"rot13" is not a supported provider',
            "secretbox, aesgcm, aescbc, kms",
        ));

    it("rejects an empty key list", () =>
        expectProblem({ members, encryptionKeyNames: [] }, "encryptionKeyNames", "is empty", "the first encrypts"));

    it("rejects duplicate key names", () =>
        expectProblem(
            { members, encryptionKeyNames: ["k1", "k1"] },
            "encryptionKeyNames[1]",
            '"k1" is already encryptionKeyNames[0]',
        ));

    it("rejects key names with ':' (they are part of every stored object's prefix)", () =>
        expectProblem({ members, encryptionKeyNames: ["k:1"] }, "encryptionKeyNames[0]", "no ':'"));

    it("rejects overlapping wildcards, as kube-apiserver would", () =>
        expectProblem({ members, encryptedResources: ["secrets", "*."] }, "encryptedResources", "mixes a wildcard"));

    it("rejects a key alias where a key ARN is needed, saying why", async () => {
        await expectProblem(
            {
                members,
                encryptionProvider: EncryptionProvider.Kms,
                kmsPluginImage: "registry.example/aws-encryption-provider:v1.0.0",
                encryptionKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:alias/etcd",
            },
            "encryptionKmsKeyArn",
            "is a key alias",
            "re-pointed",
        );
        await expectProblem({ members, secretsKmsKeyArn: "alias/secrets" }, "secretsKmsKeyArn", "is a key alias");
    });

    it("requires a pinned plugin image with kms, and refuses local key names there", () =>
        expectProblem(
            { members, encryptionProvider: EncryptionProvider.Kms, encryptionKeyNames: ["k1"] },
            "kmsPluginImage",
            "is required with encryptionProvider kms",
        ));

    it("refuses KMS-only arguments without kms", () =>
        expectProblem(
            { members, encryptionKmsKeyArn: KEY_ARN },
            "encryptionKmsKeyArn",
            "only applies to encryptionProvider kms",
        ));

    it("rejects recovery and deletion windows outside AWS's 7 to 30 days", async () => {
        await expectProblem({ members, secretRecoveryWindowDays: 0 }, "secretRecoveryWindowDays", "from 7 to 30");
        await expectProblem({ members, kmsKeyDeletionWindowDays: 31 }, "kmsKeyDeletionWindowDays", "from 7 to 30");
    });

    it("rejects a secret name prefix Secrets Manager would refuse", () =>
        expectProblem(
            { members, secretNamePrefix: "etcd secrets!" },
            "secretNamePrefix",
            "letters, digits and /_+=.@-",
        ));

    it("checks encrypted resources that arrive as an output when they resolve, with nothing registered", async () => {
        const { error } = await refusedWhenResolved({ members, encryptedResources: pulumi.output(["*.*", "secrets"]) });
        assert.match(error.message, /encryptedResources: mixes a wildcard/);
    });

    for (const provider of [EncryptionProvider.Aescbc, EncryptionProvider.Aesgcm]) {
        it(`warns why ${provider} is discouraged`, async () => {
            const warnings = await capturedWarnings(async () => {
                const { result } = await runProgram(
                    () => new SecureEtcdCluster("aes", { members, vpcId: TEST_VPC_ID, encryptionProvider: provider }),
                );
                await valueOf(result.encryptionConfigYaml);
            });
            const own = warnings.filter((w) => !w.startsWith("key policies:"));
            assert.equal(own.length, 1);
            assert.match(own[0], provider === EncryptionProvider.Aescbc ? /padding-oracle/ : /200,000 writes/);
        });
    }
});

describe("SecureEtcdCluster: key administrators and users", function () {
    const members = [ok];

    it("refuses key administrators that are not IAM role or user ARNs, and an empty list", async () => {
        await expectProblem(
            { members, keyAdministratorArns: ["arn:aws:sts::123456789012:assumed-role/admin/alice"] },
            "keyAdministratorArns[0]",
            "not an IAM role or user ARN",
            "changes with every session",
        );
        await expectProblem(
            {
                members,
                keyAdministratorArns: [
                    "arn:aws:iam::123456789012:role/platform/admin",
                    "arn:aws:iam::123456789012:role/platform/admin",
                ],
            },
            "keyAdministratorArns[1]",
            "name each principal once",
        );
        await expectProblem(
            { members, keyAdministratorArns: [] },
            "keyAdministratorArns",
            "leave it out for the account root",
        );
    });

    it("refuses role ARNs where role names are asked for", async () => {
        await expectProblem(
            { members, memberRoleNames: ["arn:aws:iam::123456789012:role/etcd"] },
            "memberRoleNames[0]",
            "not its ARN",
        );
        await expectProblem(
            { members, apiServerRoleNames: ["a", "a"] },
            "apiServerRoleNames[1]",
            "name each role once",
        );
    });

    it("refuses VPC endpoint ids that are not vpce- and 8 or 17 hex digits, repeats and an empty list", async () => {
        await expectProblem(
            { members, secretsVpcEndpointIds: ["vpce-0123456789ABCDEF0"] },
            "secretsVpcEndpointIds[0]",
            "not a VPC endpoint id",
            "8 or 17 lowercase hex digits",
        );
        await expectProblem(
            {
                members,
                backupVpcEndpointIds: ["arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0123456789abcdef0"],
            },
            "backupVpcEndpointIds[0]",
            "not its ARN",
        );
        await expectProblem(
            { members, backupVpcEndpointIds: ["vpce-1a2b3c4d", "vpce-1a2b3c4d"] },
            "backupVpcEndpointIds[1]",
            "name each endpoint once",
        );
        await expectProblem({ members, secretsVpcEndpointIds: [] }, "secretsVpcEndpointIds", "restricts nothing");
        await expectProblem(
            { members, secretsVpcEndpointIds: pulumi.output(["vpce-1a2b3c4d"]) as unknown as string[] },
            "secretsVpcEndpointIds",
            "an Output of a list is not",
        );
        await expectProblem(
            { members, backups: false, backupVpcEndpointIds: ["vpce-1a2b3c4d"] },
            "backupVpcEndpointIds",
            "only applies when backups are on",
        );
        // Both lengths AWS issues are accepted.
        assert.deepEqual(
            validateArgs({
                members,
                vpcId: TEST_VPC_ID,
                secretsVpcEndpointIds: ["vpce-1a2b3c4d", "vpce-0123456789abcdef0"],
                backupVpcEndpointIds: ["vpce-0123456789abcdef0"],
            }),
            [],
        );
    });

    it("refuses an endpoint id given as an Output when it resolves, before anything registers", async () => {
        const { error } = await refusedWhenResolved({
            members,
            secretsVpcEndpointIds: [pulumi.output("vpce-nothex00")],
        });
        assert.match(error.message, /secretsVpcEndpointIds\[0\]: "vpce-nothex00" is not a VPC endpoint id/);
    });

    it("AWS refuses a key policy that locks out the identity running pulumi up; the stand-in does too", async () => {
        const { error } = await attemptProgram(
            () =>
                new SecureEtcdCluster("locked", {
                    members,
                    vpcId: TEST_VPC_ID,
                    keyAdministratorArns: ["arn:aws:iam::123456789012:role/someone-else"],
                }),
        );
        assert.match(
            String(error),
            /MalformedPolicyDocumentException: The new key policy will not allow you to update/,
        );
        // Among the administrators, it is accepted.
        await runProgram(
            () =>
                new SecureEtcdCluster("admins", {
                    members,
                    vpcId: TEST_VPC_ID,
                    keyAdministratorArns: [MOCK_CALLER_ARN, "arn:aws:iam::123456789012:role/platform-admin"],
                }),
        );
    });
});
