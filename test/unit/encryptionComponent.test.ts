// Encryption at rest and Secrets Manager as wired by the component, checked on what the engine
// receives; key rotation walked as successive `pulumi up`s of one stack.
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { EncryptionProvider, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { EncryptionConfiguration, encryptionConfigViolations } from "../../src/encryption/encryptionConfig";
import { containsSecret, ProviderMocks, Registration } from "../../testing/mocks";
import { resolve, runProgram, valueOf } from "../../testing/program";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { MOCK_ACCOUNT, MOCK_REGION } from "../../testing/awsEmulator";

const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const KMS_KEY = "aws:kms/key:Key";
const RANDOM_BYTES = "random:index/randomBytes:RandomBytes";
const PLUGIN_IMAGE = "registry.example/aws-encryption-provider:v1.0.0@sha256:" + "a".repeat(64);

async function build(args: Partial<SecureEtcdClusterArgs> = {}, previous?: ProviderMocks, name = "prod") {
    return runProgram(() => new SecureEtcdCluster(name, { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }), {
        previous,
    });
}

type Keys = { name: string; secret: string }[];

function configOf(yaml: string): EncryptionConfiguration {
    return YAML.parse(yaml) as EncryptionConfiguration;
}

function keysOf(config: EncryptionConfiguration): Keys {
    return (config.resources[0].providers[0].secretbox as { keys: Keys }).keys;
}

describe("SecureEtcdCluster: encryption at rest", function () {
    this.timeout(30_000);

    it("renders a secret EncryptionConfiguration kube-apiserver accepts, with the generated key", async () => {
        const { result, mocks } = await build();
        const out = await resolve(result.encryptionConfigYaml);
        assert.equal(out.secret, true);
        const config = configOf(out.value);
        assert.deepEqual(encryptionConfigViolations(config), []);
        const [key] = keysOf(config);
        assert.equal(key.name, "key-1");
        const bytes = mocks.named("prod-encryption-key-key-1");
        assert.equal(bytes.inputs.length, 32);
        assert.equal(key.secret, bytes.state!.base64);
        assert.equal(Buffer.from(key.secret, "base64").length, 32);
        assert.deepEqual(Object.keys(config.resources[0].providers[1]), ["identity"]);
    });

    it("gives kube-apiserver its flags, volumes and kubeadm config without any secret", async () => {
        const { result } = await build({ encryptionIdentityFallback: false });
        const fragment = await resolve(result.apiServer);
        assert.equal(fragment.secret, false);
        assert.ok(
            fragment.value.flags.includes(
                "--etcd-servers=https://10.0.1.10:2379,https://10.0.1.11:2379,https://10.0.1.12:2379",
            ),
        );
        const kubeadm = await resolve(result.kubeadmClusterConfiguration);
        assert.equal(kubeadm.secret, false);
        assert.match(kubeadm.value, /kind: ClusterConfiguration/);
        assert.equal(configOf(await valueOf(result.encryptionConfigYaml)).resources[0].providers.length, 1);
        assert.equal(
            await valueOf(result.encryptionRewriteCommand),
            "kubectl get secrets,configmaps --all-namespaces -o json | kubectl replace -f -",
        );
        const files = await resolve(result.apiServerNodeFiles);
        assert.equal(files.secret, true);
    });

    it("kms: KMS v2 config, a dedicated key with rotation, the plugin pod and its exact policy, no local key", async () => {
        const { result, mocks } = await build({
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: PLUGIN_IMAGE,
        });
        assert.equal(mocks.ofType(RANDOM_BYTES).length, 0, "no local key material");
        const key = mocks.named("prod-encryption-kms-key");
        assert.equal(key.inputs.enableKeyRotation, true);
        assert.equal(key.inputs.deletionWindowInDays, 30);
        const keyArn = key.state!.arn as string;
        const config = configOf(await valueOf(result.encryptionConfigYaml));
        assert.deepEqual(config.resources[0].providers[0], {
            kms: {
                apiVersion: "v2",
                name: "aws-encryption-provider",
                endpoint: "unix:///var/run/kmsplugin/socket.sock",
                timeout: "3s",
            },
        });
        assert.equal(await valueOf(result.encryptionKmsKeyArn), keyArn);
        const pod = YAML.parse((await valueOf(result.kmsPluginManifest))!) as {
            spec: { containers: { image: string; command: string[] }[] };
        };
        assert.equal(pod.spec.containers[0].image, PLUGIN_IMAGE);
        assert.ok(pod.spec.containers[0].command.includes(`--key=${keyArn}`));
        assert.ok(pod.spec.containers[0].command.includes(`--region=${MOCK_REGION}`));
        assert.deepEqual(JSON.parse((await valueOf(result.kmsPluginPolicy))!), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "EncryptionAtRestWithThisKey",
                    Effect: "Allow",
                    Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                    Resource: keyArn,
                },
            ],
        });
        const fragment = await valueOf(result.apiServer);
        assert.ok(fragment.volumes.some((v) => v.hostPath.path === "/var/run/kmsplugin"));
    });

    it("kms with a given key ARN creates no encryption key", async () => {
        const arn = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const { result, mocks } = await build({
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: PLUGIN_IMAGE,
            encryptionKmsKeyArn: arn,
        });
        assert.deepEqual(
            mocks.ofType(KMS_KEY).map((k) => k.name),
            ["prod-secrets-kms-key", "prod-backup-kms-key", "prod-alarms-topic-kms-key"],
        );
        assert.equal(await valueOf(result.encryptionKmsKeyArn), arn);
    });

    it("without kms there is no plugin, no plugin policy and no encryption KMS key", async () => {
        const { result } = await build();
        assert.equal(await valueOf(result.kmsPluginManifest), undefined);
        assert.equal(await valueOf(result.kmsPluginPolicy), undefined);
        assert.equal(await valueOf(result.encryptionKmsKeyArn), undefined);
    });
});

describe("SecureEtcdCluster: Secrets Manager", function () {
    this.timeout(30_000);

    it("stores every bundle under a customer-managed key with rotation and an explicit policy", async () => {
        const { result, mocks } = await build();
        const key = mocks.named("prod-secrets-kms-key");
        assert.equal(key.inputs.enableKeyRotation, true);
        assert.equal(key.inputs.deletionWindowInDays, 30);
        assert.deepEqual(JSON.parse(key.inputs.policy as string), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "AccountAdministersThroughIam",
                    Effect: "Allow",
                    Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` },
                    Action: "kms:*",
                    Resource: "*",
                },
            ],
        });
        const suffix = mocks.named("prod-secrets-suffix").state!.hex as string;
        const names = mocks
            .ofType(SECRET)
            .map((s) => s.inputs.name as string)
            .sort();
        assert.deepEqual(names, [
            `secure-etcd/prod-${suffix}/encryption-keys/key-1`,
            `secure-etcd/prod-${suffix}/etcd/root-password`,
            `secure-etcd/prod-${suffix}/kube-apiserver/encryption-config`,
            `secure-etcd/prod-${suffix}/kube-apiserver/etcd-client`,
            `secure-etcd/prod-${suffix}/members/etcd-0`,
            `secure-etcd/prod-${suffix}/members/etcd-1`,
            `secure-etcd/prod-${suffix}/members/etcd-2`,
        ]);
        for (const secret of mocks.ofType(SECRET)) {
            assert.equal(secret.inputs.kmsKeyId, key.state!.arn, secret.name);
            assert.equal(secret.inputs.recoveryWindowInDays, 30, secret.name);
        }
        // Values reach the engine as secrets and come back as secrets.
        for (const version of mocks.ofType(SECRET_VERSION)) {
            assert.ok(containsSecret(version.rawInputs.secretString), version.name);
        }
        const arns = await resolve(result.secretArns);
        assert.equal(arns.secret, false);
        assert.equal(arns.value["members/etcd-0"], mocks.named("prod-secrets-member-etcd-0").state!.arn);
    });

    it("a member's bundle holds its own keys and certificates and the CA certificates, never a CA key", async () => {
        const { result, mocks } = await build();
        const bundle = JSON.parse(mocks.named("prod-secrets-member-etcd-1-version").inputs.secretString as string) as {
            files: Record<string, string>;
        };
        const creds = (await valueOf(result.memberCredentials))["etcd-1"];
        assert.equal(bundle.files["/etc/kubernetes/pki/etcd/server.key"], creds.serverKeyPem);
        assert.equal(bundle.files["/etc/kubernetes/pki/etcd/peer.key"], creds.peerKeyPem);
        assert.equal(bundle.files["/etc/kubernetes/pki/etcd/ca.crt"], await valueOf(result.caCertPem));
        assert.equal(bundle.files["/etc/kubernetes/pki/etcd/peer-ca.crt"], await valueOf(result.peerCaCertPem));
        const everything = mocks
            .ofType(SECRET_VERSION)
            .map((v) => v.inputs.secretString as string)
            .join("\n");
        for (const ca of ["prod-pki-etcd-ca-key", "prod-pki-peer-ca-key"]) {
            assert.ok(!everything.includes(mocks.named(ca).state!.privateKeyPem as string), `${ca} is stored`);
        }
    });

    it("each member's policy reads its own secret only, and decrypts only via Secrets Manager", async () => {
        const { result, mocks } = await build();
        const policies = await resolve(result.memberSecretsPolicies);
        assert.equal(policies.secret, false);
        const keyArn = mocks.named("prod-secrets-kms-key").state!.arn;
        for (const member of ["etcd-0", "etcd-1", "etcd-2"]) {
            assert.deepEqual(JSON.parse(policies.value[member]), {
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "ReadOwnSecrets",
                        Effect: "Allow",
                        Action: "secretsmanager:GetSecretValue",
                        Resource: [mocks.named(`prod-secrets-member-${member}`).state!.arn],
                    },
                    {
                        Sid: "DecryptThroughSecretsManager",
                        Effect: "Allow",
                        Action: "kms:Decrypt",
                        Resource: keyArn,
                        Condition: {
                            StringEquals: { "kms:ViaService": `secretsmanager.${MOCK_REGION}.amazonaws.com` },
                        },
                    },
                ],
            });
        }
        const apiserver = JSON.parse(await valueOf(result.apiServerSecretsPolicy)) as {
            Statement: { Resource: string[] }[];
        };
        assert.deepEqual(apiserver.Statement[0].Resource, [
            mocks.named("prod-secrets-kube-apiserver-etcd-client").state!.arn,
            mocks.named("prod-secrets-encryption-config").state!.arn,
        ]);
    });

    it("uses a given KMS key and prefix, and two clusters never share a secret name", async () => {
        const arn = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const a = await build({ secretsKmsKeyArn: arn, secretNamePrefix: "platform/etcd/" });
        assert.deepEqual(
            a.mocks.ofType(KMS_KEY).map((k) => k.name),
            ["prod-backup-kms-key", "prod-alarms-topic-kms-key"],
        );
        assert.ok(a.mocks.ofType(SECRET).every((s) => s.inputs.kmsKeyId === arn));
        assert.ok(a.mocks.ofType(SECRET).every((s) => (s.inputs.name as string).startsWith("platform/etcd/prod-")));
        // Same cluster name, another stack in the same account: names still differ.
        const b = await build({ secretsKmsKeyArn: arn, secretNamePrefix: "platform/etcd/" });
        const namesA = new Set(a.mocks.ofType(SECRET).map((s) => s.inputs.name));
        assert.ok(b.mocks.ofType(SECRET).every((s) => !namesA.has(s.inputs.name)));
    });

    it("cloud-init user-data is public, names the member's secret, and carries no key", async () => {
        const { result, mocks } = await build();
        const userData = await resolve(result.memberUserData);
        assert.equal(userData.secret, false);
        const creds = await valueOf(result.memberCredentials);
        for (const member of ["etcd-0", "etcd-1", "etcd-2"]) {
            const text = userData.value[member];
            assert.ok(text.startsWith("#cloud-config\n"));
            assert.ok(text.includes(mocks.named(`prod-secrets-member-${member}`).state!.arn as string));
            for (const c of Object.values(creds)) {
                assert.ok(!text.includes(c.serverKeyPem.split("\n")[1]), `${member}'s user-data holds a key`);
            }
            assert.ok(!text.includes("BEGIN CERTIFICATE"));
        }
    });
});

describe("SecureEtcdCluster: key rotation as successive updates", function () {
    this.timeout(60_000);

    const steps = [["key-1"], ["key-1", "key-2"], ["key-2", "key-1"], ["key-2"]];
    const keyResources = (r: Registration) =>
        r.type === RANDOM_BYTES || (r.type.startsWith("aws:secretsmanager") && r.name.includes("encryption-key-"));

    it("walks the documented procedure: nothing replaced or deleted before the last step, all data readable", async () => {
        let previous: ProviderMocks | undefined;
        /** Every key written so far, by name: what stored data may be encrypted with. */
        const written = new Map<string, string>();
        for (const [i, keyNames] of steps.entries()) {
            const { result, mocks } = await build({ encryptionKeyNames: keyNames }, previous);
            const keys = keysOf(configOf(await valueOf(result.encryptionConfigYaml)));
            assert.deepEqual(
                keys.map((k) => k.name),
                keyNames,
                `step ${i}`,
            );
            for (const r of mocks.registrations.filter(keyResources)) {
                assert.ok(r.change === "same" || r.change === "create", `step ${i}: ${r.name} ${r.change}`);
            }
            const deleted = mocks.deleted();
            if (i < steps.length - 1) {
                assert.deepEqual(
                    deleted.map((d) => d.name),
                    [],
                    `step ${i} deletes nothing`,
                );
                // The config of this step decrypts everything written at earlier steps.
                for (const [name, material] of written) {
                    assert.equal(keys.find((k) => k.name === name)?.secret, material, `step ${i} still has ${name}`);
                }
            } else {
                // Last step: the old key leaves the config and the state, but its material stays
                // in Secrets Manager: the secret and its version are retained, not deleted.
                assert.deepEqual(deleted.map((d) => d.name).sort(), [
                    "prod-encryption-key-key-1",
                    "prod-secrets-encryption-key-key-1",
                    "prod-secrets-encryption-key-key-1-version",
                ]);
                for (const d of deleted.filter((r) => r.type.startsWith("aws:"))) {
                    assert.equal(previous!.optionsOf(d)?.retainOnDelete, true, `${d.name} is retained`);
                }
                const kept = deleted.find((d) => d.type === SECRET_VERSION)!;
                assert.equal(kept.inputs.secretString, written.get("key-1"));
            }
            // Data written from now on may use any key of this step (the first, or an older one).
            for (const k of keys) {
                written.set(k.name, k.secret);
            }
            previous = mocks;
        }
    });

    it("only encryption-key secrets are retained; everything else is deleted normally", async () => {
        const { mocks } = await build();
        for (const r of mocks.registrations.filter((x) => x.type.startsWith("aws:secretsmanager"))) {
            assert.equal(mocks.optionsOf(r)?.retainOnDelete, r.name.includes("encryption-key-"), r.name);
        }
    });

    async function refused(from: string[], to: string[], pattern: RegExp) {
        const first = await build({ encryptionKeyNames: from });
        await assert.rejects(build({ encryptionKeyNames: to }, first.mocks), pattern);
    }

    it("refuses removing the key that encrypts, explaining the procedure", () =>
        refused(
            ["key-1"],
            ["key-2"],
            /"key-1" encrypts everything written since it became first[\s\S]*add the new key second/,
        ));

    it("refuses demoting and removing the encrypting key in one update", () =>
        refused(["key-1", "key-2"], ["key-2"], /"key-1" encrypts everything/));

    it("refuses a new key that would encrypt before every apiserver has it", () =>
        refused(["key-1"], ["key-2", "key-1"], /"key-2" is new and would encrypt at once/));

    it("refuses switching the provider of a deployed cluster", async () => {
        const first = await build();
        await assert.rejects(
            build({ encryptionProvider: EncryptionProvider.Kms, kmsPluginImage: PLUGIN_IMAGE }, first.mocks),
            /changing secretbox to kms in place would leave every object written with secretbox unreadable/,
        );
    });

    it("key resources wait for the guard, so a refused update changes no key", async () => {
        const { mocks } = await build();
        const bytes = mocks.named("prod-encryption-key-key-1");
        assert.ok(
            mocks.optionsOf(bytes)!.dependencies.some((d) => d.endsWith("::prod-encryption-guard")),
            JSON.stringify(mocks.optionsOf(bytes)),
        );
    });
});
