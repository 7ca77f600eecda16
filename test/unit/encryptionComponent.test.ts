// Encryption at rest and Secrets Manager as wired by the component, checked on what the engine
// receives; key rotation walked as successive `pulumi up`s of one stack.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental/provider";
import { serializeResourceProperties } from "@pulumi/pulumi/runtime/rpc";
import * as YAML from "yaml";
import { EncryptionProvider, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { EncryptionConfiguration, encryptionConfigViolations } from "../../src/encryption/encryptionConfig";
import { containsSecret, ProviderMocks, Registration } from "../../testing/mocks";
import { attemptProgram, resolve, runProgram, valueOf } from "../../testing/program";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";
import { REPO_ROOT } from "../harness/schema";
import { MOCK_ACCOUNT, MOCK_POLICY_SCOPE, MOCK_REGION } from "../../testing/awsEmulator";
import { secretsKeyPolicy } from "../../src/secrets/policies";
import { writtenText, bundleContents } from "../harness/userData";

const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const KMS_KEY = "aws:kms/key:Key";
const RANDOM_BYTES = "random:index/randomBytes:RandomBytes";
const PARAMETER = "aws:ssm/parameter:Parameter";
/** The key ring's record (the CA rotation guard records beside it, in a parameter of its own). */
const ringRecords = (mocks: ProviderMocks) => mocks.ofType(PARAMETER).filter((r) => r.name.endsWith("-ring-record"));
const PLUGIN_IMAGE = "registry.example/aws-encryption-provider:v1.0.0@sha256:" + "a".repeat(64);

async function build(args: Partial<SecureEtcdClusterArgs> = {}, previous?: ProviderMocks, name = "prod") {
    return runProgram(() => new SecureEtcdCluster(name, { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }), {
        previous,
    });
}

/** A `pulumi preview` (or with `up: true`, a `pulumi up`) after `previous`, which may fail. */
async function attempt(args: Partial<SecureEtcdClusterArgs>, previous: ProviderMocks, options: { up?: boolean } = {}) {
    return attemptProgram(
        () => new SecureEtcdCluster("prod", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }),
        {
            previous,
            preview: !options.up,
        },
    );
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
            mocks
                .ofType(KMS_KEY)
                .map((k) => k.name)
                .sort(),
            ["prod-alarms-topic-kms-key", "prod-backup-kms-key", "prod-secrets-kms-key"],
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
        const suffix = mocks.named("prod-secrets-suffix").state!.hex as string;
        // Rendered for this cluster's secrets; with no roles named, the members' and kube-apiserver's
        // uses are left to IAM (the component warns), the deployer's is named.
        assert.deepEqual(
            JSON.parse(key.inputs.policy as string),
            secretsKeyPolicy(
                MOCK_POLICY_SCOPE,
                { administrators: [], memberRoleNames: [], apiServerRoleNames: [] },
                `secure-etcd/prod-${suffix}`,
            ),
        );
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
        const bundle = bundleContents(mocks.named("prod-secrets-member-etcd-1-version").inputs.secretString as string);
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
            // As the JSON holds it (newlines escaped), and its body alone, so an escaped copy is found too.
            const key = mocks.named(ca).state!.privateKeyPem as string;
            assert.ok(!everything.includes(JSON.stringify(key).slice(1, -1)), `${ca} is stored`);
            assert.ok(!everything.includes(key.split("\n")[1]), `${ca} is stored`);
        }
    });

    it("each member's policy reads its own secret only, and decrypts only via Secrets Manager, for that secret", async () => {
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
                            StringEquals: {
                                "kms:ViaService": `secretsmanager.${MOCK_REGION}.amazonaws.com`,
                                "kms:EncryptionContext:SecretARN": [
                                    mocks.named(`prod-secrets-member-${member}`).state!.arn,
                                ],
                            },
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
            a.mocks
                .ofType(KMS_KEY)
                .map((k) => k.name)
                .sort(),
            ["prod-alarms-topic-kms-key", "prod-backup-kms-key"],
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
            assert.ok(userData.value[member].startsWith("#cloud-config\n"));
            const text = writtenText(userData.value[member]);
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
    /** What the key ring decides: key material, where it and the configuration are stored, the ring's record. */
    const decidedByRing = (r: Registration) =>
        r.type === RANDOM_BYTES ||
        (r.type === PARAMETER && r.name.endsWith("-ring-record")) ||
        r.name === "prod-encryption-kms-key" ||
        (r.type.startsWith("aws:secretsmanager") && /-encryption-(key-|config)/.test(r.name));
    const recordOf = (mocks: ProviderMocks) => {
        const records = ringRecords(mocks);
        assert.equal(records.length, 1);
        return records[0];
    };

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
            // Each step records its ring in place of the last one's.
            const record = recordOf(mocks);
            assert.deepEqual(JSON.parse(record.state!.insecureValue as string), { provider: "secretbox", keyNames });
            assert.equal(record.change, i === 0 ? "create" : "update", `step ${i}`);
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

    it("the first deployment records its ring in SSM: names only, readable, tagged, under the component", async () => {
        const { mocks } = await build({ encryptionKeyNames: ["key-2", "key-1"] });
        const record = recordOf(mocks);
        assert.equal(record.name, "prod-encryption-ring-record");
        assert.deepEqual(record.inputs, {
            name: "/secure-etcd/project/stack/prod/key-ring",
            type: "String",
            tier: "Standard",
            insecureValue: '{"provider":"secretbox","keyNames":["key-2","key-1"]}',
            description:
                "Encryption-at-rest key ring (provider and key names, no key material) of the last deployment of the etcd cluster the path names; its rotation guard compares every update with it (secure-etcd)",
            tags: { "secure-etcd:cluster": "prod" },
        });
        assert.deepEqual(record.secretInputs, [], "a ring is no secret");
        assert.equal(
            record.state!.arn,
            `arn:aws:ssm:${MOCK_REGION}:${MOCK_ACCOUNT}:parameter/secure-etcd/project/stack/prod/key-ring`,
        );
        assert.match(
            mocks.optionsOf(record)!.urn,
            /SecureEtcdCluster\$secure-etcd:encryption:EncryptionAtRest\$aws:ssm\/parameter:Parameter::prod-encryption-ring-record$/,
        );
        // The guard read its record back by path, without recursion (and found none: a first deployment).
        const read = mocks.invokes.filter((i) => i.token === "aws:ssm/getParametersByPath:getParametersByPath");
        assert.deepEqual(
            read.map((i): unknown => i.inputs),
            [{ path: "/secure-etcd/project/stack/prod", recursive: false, withDecryption: false }],
        );
        const kms = await build({ encryptionProvider: EncryptionProvider.Kms, kmsPluginImage: PLUGIN_IMAGE });
        assert.equal(recordOf(kms.mocks).inputs.insecureValue, '{"provider":"kms","keyNames":[]}');
    });

    it("records the ring only after its keys and where they and the configuration are stored", async () => {
        for (const args of [{}, { encryptionProvider: EncryptionProvider.Kms, kmsPluginImage: PLUGIN_IMAGE }]) {
            const { mocks } = await build(args);
            const after = new Set(mocks.optionsOf(recordOf(mocks))!.dependencies.map((urn) => urn.split("::").pop()));
            const expected = mocks.registrations.filter(
                (r) => r.custom && r.type !== PARAMETER && (decidedByRing(r) || r.name.startsWith("prod-secrets-")),
            );
            assert.ok(expected.length >= 4, `${expected.length}`);
            for (const r of expected) {
                assert.ok(after.has(r.name), `the record does not wait for ${r.name}`);
            }
        }
    });

    it("a safe step passes at preview and changes only what the step adds", async () => {
        const first = await build({ encryptionKeyNames: ["key-1"] });
        const { error, mocks } = await attempt({ encryptionKeyNames: ["key-1", "key-2"] }, first.mocks);
        assert.equal(error, undefined);
        const changed = mocks.registrations.filter((r) => r.custom && r.change !== "same").map((r) => r.name);
        assert.deepEqual(changed.sort(), [
            "prod-encryption-key-key-2",
            "prod-encryption-ring-record",
            "prod-secrets-encryption-config-version",
            "prod-secrets-encryption-key-key-2",
            "prod-secrets-encryption-key-key-2-version",
        ]);
    });

    /**
     * The update from `from` to `to` fails at preview with `pattern`, having registered nothing the
     * ring decides and changed nothing at all; `pulumi up` fails the same way.
     */
    async function refused(from: Partial<SecureEtcdClusterArgs>, to: Partial<SecureEtcdClusterArgs>, pattern: RegExp) {
        const first = await build(from);
        const preview = await attempt(to, first.mocks);
        assert.ok(preview.error, "the preview was not refused");
        assert.match(preview.error.message, pattern);
        assert.match(preview.error.message, /^SecureEtcdCluster "prod" refuses this update before changing anything/);
        assert.deepEqual(
            preview.mocks.registrations.filter(decidedByRing).map((r) => r.name),
            [],
        );
        assert.deepEqual(
            preview.mocks.registrations.filter((r) => r.custom && r.change !== "same").map((r) => r.name),
            [],
        );
        const up = await attempt(to, first.mocks, { up: true });
        assert.match(up.error?.message ?? "", pattern);
        assert.deepEqual(
            up.mocks.registrations.filter(decidedByRing).map((r) => r.name),
            [],
        );
    }

    it("refuses removing the key that encrypts, explaining the procedure", () =>
        refused(
            { encryptionKeyNames: ["key-1"] },
            { encryptionKeyNames: ["key-2"] },
            /"key-1" encrypts everything written since it became first[\s\S]*add the new key second/,
        ));

    it("refuses demoting and removing the encrypting key in one update", () =>
        refused(
            { encryptionKeyNames: ["key-1", "key-2"] },
            { encryptionKeyNames: ["key-2"] },
            /"key-1" encrypts everything/,
        ));

    it("refuses a new key that would encrypt before every apiserver has it", () =>
        refused(
            { encryptionKeyNames: ["key-1"] },
            { encryptionKeyNames: ["key-2", "key-1"] },
            /"key-2" is new and would encrypt at once/,
        ));

    it("refuses switching the provider of a deployed cluster", async () => {
        await refused(
            {},
            { encryptionProvider: EncryptionProvider.Kms, kmsPluginImage: PLUGIN_IMAGE },
            /changing secretbox to kms in place would leave every object written with secretbox unreadable/,
        );
        await refused(
            { encryptionProvider: EncryptionProvider.Kms, kmsPluginImage: PLUGIN_IMAGE },
            { encryptionKeyNames: ["key-1"] },
            /encryptionProvider: changing kms to secretbox in place/,
        );
    });

    it("refuses to go ahead on a record it cannot read, saying how to repair it", async () => {
        const first = await build();
        const record = recordOf(first.mocks);
        record.state = { ...record.state, insecureValue: '{"provider":"secretbox","keyNames":["key-1"' };
        const { error, mocks } = await attempt({}, first.mocks);
        assert.match(
            error?.message ?? "",
            /^SecureEtcdCluster "prod" cannot check this update of encryption at rest, so it changes nothing: the key ring recorded in SSM parameter \/secure-etcd\/project\/stack\/prod\/key-ring is unreadable: it is not JSON/,
        );
        assert.match(
            error!.message,
            /aws ssm get-parameter-history --name \/secure-etcd\/project\/stack\/prod\/key-ring/,
        );
        assert.deepEqual(
            mocks.registrations.filter(decidedByRing).map((r) => r.name),
            [],
        );
    });

    it("two clusters, or one cluster name in two stacks, never share a record", async () => {
        const names = new Set<string>();
        for (const stack of ["staging", "prod"]) {
            const { mocks } = await runProgram(
                () => [
                    new SecureEtcdCluster("main", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID }),
                    new SecureEtcdCluster("events", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID }),
                ],
                { stack, project: "platform" },
            );
            for (const record of ringRecords(mocks)) {
                names.add(record.inputs.name as string);
            }
        }
        assert.deepEqual([...names].sort(), [
            "/secure-etcd/platform/prod/events/key-ring",
            "/secure-etcd/platform/prod/main/key-ring",
            "/secure-etcd/platform/staging/events/key-ring",
            "/secure-etcd/platform/staging/main/key-ring",
        ]);
        // Another cluster's record is not this one's: "events" deploys its first ring freely next to "main".
        const main = await build({ encryptionKeyNames: ["key-1"] }, undefined, "main");
        const events = await attemptProgram(
            () =>
                new SecureEtcdCluster("events", {
                    members: THREE_MEMBERS,
                    vpcId: TEST_VPC_ID,
                    encryptionKeyNames: ["key-9"],
                }),
            { previous: main.mocks, preview: true },
        );
        assert.equal(events.error, undefined);
    });
});

/**
 * Construct as the Node.js component provider's server answers another language's program
 * (@pulumi/pulumi provider/server.js): with the component's state once serialized, or with the
 * first error that reached no handler, which its own handler turns into the Construct's answer.
 */
function constructAsProviderHost(provider: ComponentProvider, name: string, inputs: pulumi.Inputs): Promise<string[]> {
    return new Promise<string[]>((resolveState, rejectConstruct) => {
        process.on("unhandledRejection", rejectConstruct);
        provider
            .construct(name, "secure-etcd:index:SecureEtcdCluster", inputs, {})
            .then((result) => serializeResourceProperties(`construct(${name})`, result.state))
            .then(([state]) => resolveState(Object.keys(state)), rejectConstruct)
            .finally(() => process.off("unhandledRejection", rejectConstruct));
    });
}

describe("SecureEtcdCluster: the rotation guard from other languages (the component provider)", function () {
    this.timeout(120_000);
    let provider: ComponentProvider;
    before(async () => {
        // The provider `pulumi package add` runs: it infers the component from the source.
        provider = new ComponentProvider({ dirname: REPO_ROOT, name: "secure-etcd", components: [SecureEtcdCluster] });
        await provider.getSchema();
    });
    const construct = (keyNames: string[], options: { previous?: ProviderMocks; preview?: boolean } = {}) =>
        attemptProgram(
            () =>
                constructAsProviderHost(provider, "prod", {
                    members: THREE_MEMBERS,
                    vpcId: TEST_VPC_ID,
                    encryptionKeyNames: keyNames,
                }),
            options,
        );

    it("registers only provider resources (no dynamic provider), records the ring, and refuses an unsafe step", async () => {
        const first = await construct(["key-1"]);
        assert.equal(first.error, undefined);
        assert.ok(first.result!.includes("encryptionConfigYaml"), first.result!.join(","));
        const custom = first.mocks.registrations.filter((r) => r.custom);
        assert.deepEqual(
            custom.filter((r) => !/^(aws|tls|random):/.test(r.type)).map((r) => r.type),
            [],
            "every resource belongs to a provider package any language can use",
        );
        assert.equal(ringRecords(first.mocks).length, 1);

        const safe = await construct(["key-1", "key-2"], { previous: first.mocks, preview: true });
        assert.equal(safe.error, undefined);

        const unsafe = await construct(["key-2"], { previous: first.mocks, preview: true });
        assert.match(
            unsafe.error?.message ?? "",
            /^SecureEtcdCluster "prod" refuses this update before changing anything/,
        );
        assert.match(unsafe.error!.message, /"key-1" encrypts everything written since it became first/);
        assert.equal(unsafe.mocks.ofType(RANDOM_BYTES).length, 0);
        assert.equal(ringRecords(unsafe.mocks).length, 0);
    });
});
