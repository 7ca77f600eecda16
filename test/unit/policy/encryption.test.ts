// Encryption-provider policies over the component's configuration: identity first is a mandatory
// failure, aescbc/aesgcm first an advisory warning. The order is read from a non-secret
// `encryptionProviderOrder` output when the component registers one, else from the (secret, but
// decrypted for policies) `encryptionConfigYaml` output; nothing of the YAML reaches a message.
import { strict as assert } from "assert";
import { DISCOURAGED_PROVIDERS, EncryptionProvider } from "../../../src/encryption/encryptionConfig";
import {
    encryptionProviderOrderFor,
    firstProviderFinding,
    ProviderVerdict,
} from "../../../src/rules/encryptionProviders";
import { COMPONENT, EtcdPolicy } from "../../../policy/lib/types";
import { encryptionNotPlaintextFirst } from "../../../policy/rules/encryptionNotPlaintextFirst";
import { encryptionRecommendedProvider } from "../../../policy/rules/encryptionRecommendedProvider";
import { compliantCluster, ENCRYPTION_YAML, patched } from "./fixtures";
import { Fixture, runStackPolicy, stackOf, UNKNOWN } from "./policyHarness";

const SECRET = "c2VjcmV0LWtleS1tYXRlcmlhbC1vZi0zMi1ieXRlcyE=";

function yamlWith(...providers: string[][]): string {
    const entries = providers.map(
        (list, i) =>
            `  - resources: [${i === 0 ? "secrets" : "configmaps"}]\n    providers:\n` +
            list
                .map((p) =>
                    p === "identity"
                        ? "      - identity: {}\n"
                        : `      - ${p}:\n          keys:\n            - name: key-1\n              secret: ${SECRET}\n`,
                )
                .join(""),
    );
    return `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n${entries.join("")}`;
}

const cluster = (props: Record<string, unknown>): Fixture[] => patched(compliantCluster(), "prod", props);

async function messages(policy: EtcdPolicy, fixtures: Fixture[]): Promise<string[]> {
    const outcome = await runStackPolicy(policy, stackOf(fixtures));
    assert.equal(outcome.unknownValueError, undefined);
    for (const v of outcome.violations) {
        assert.ok(!v.message.includes(SECRET), "no key material in a message");
    }
    return outcome.violations.map((v) => v.message);
}

const IDENTITY_FIRST =
    "has identity first, so kube-apiserver writes every object in plain text; put secretbox (or kms) first and keep identity only last, as a read fallback (encryptionProvider, encryptionIdentityFallback)";

describe("encryption providers: the shared rule", () => {
    it("judges each order the component can render by its first provider", () => {
        for (const provider of Object.values(EncryptionProvider)) {
            assert.deepEqual(encryptionProviderOrderFor(provider, true), [provider, "identity"]);
            assert.deepEqual(encryptionProviderOrderFor(provider, false), [provider]);
            const { verdict, reason } = firstProviderFinding(encryptionProviderOrderFor(provider, true));
            if (provider in DISCOURAGED_PROVIDERS) {
                assert.equal(verdict, ProviderVerdict.Discouraged);
                assert.equal(reason, `encrypts with ${provider} first: ${DISCOURAGED_PROVIDERS[provider]}`);
            } else {
                assert.equal(verdict, ProviderVerdict.Recommended, provider);
            }
        }
        assert.equal(firstProviderFinding(["identity", "secretbox"]).verdict, ProviderVerdict.Forbidden);
        assert.equal(firstProviderFinding([]).verdict, ProviderVerdict.Forbidden);
    });
});

describe("policy etcd-encryption-not-plaintext-first", () => {
    const policy = encryptionNotPlaintextFirst;

    it("passes secretbox first with identity last, and kms", async () => {
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: ENCRYPTION_YAML })), []);
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: yamlWith(["kms"]) })), []);
    });

    it("fails identity first, reported against the cluster", async () => {
        const outcome = await runStackPolicy(
            policy,
            stackOf(cluster({ encryptionConfigYaml: yamlWith(["identity", "secretbox"]) })),
        );
        assert.deepEqual(
            outcome.violations.map((v) => [v.message, v.urn]),
            [
                [
                    `SecureEtcdCluster "prod": its EncryptionConfiguration ${IDENTITY_FIRST}.`,
                    "urn:pulumi:test::secure-etcd::secure-etcd:index:SecureEtcdCluster::prod",
                ],
            ],
        );
    });

    it("names the entry when there are several, and fails an empty provider list", async () => {
        assert.deepEqual(
            await messages(policy, cluster({ encryptionConfigYaml: yamlWith(["secretbox"], ["identity"]) })),
            [`SecureEtcdCluster "prod": its EncryptionConfiguration (resources[1]) ${IDENTITY_FIRST}.`],
        );
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: yamlWith([]) })), [
            'SecureEtcdCluster "prod": its EncryptionConfiguration lists no provider, so kube-apiserver refuses it; put secretbox (or kms) first.',
        ]);
    });

    it("reads a non-secret encryptionProviderOrder output first", async () => {
        const fixtures = cluster({
            encryptionProviderOrder: ["identity", "secretbox"],
            encryptionConfigYaml: ENCRYPTION_YAML,
        });
        assert.deepEqual(await messages(policy, fixtures), [
            `SecureEtcdCluster "prod": its EncryptionConfiguration ${IDENTITY_FIRST}.`,
        ]);
    });

    it("reports nothing while the configuration is unknown (first preview) or unreadable", async () => {
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: UNKNOWN.string })), []);
        assert.deepEqual(await messages(policy, cluster({ encryptionProviderOrder: UNKNOWN.array })), []);
        assert.deepEqual(
            await messages(policy, cluster({ encryptionProviderOrder: [UNKNOWN.string, "identity"] })),
            [],
        );
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: "{ not: [yaml" })), []);
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: undefined })), []);
    });

    it("does not apply without a cluster", async () => {
        const outcome = await runStackPolicy(policy, stackOf([{ type: COMPONENT.pki, name: "pki" }]));
        assert.equal(outcome.notApplicable, "no SecureEtcdCluster in this stack");
    });
});

describe("policy etcd-encryption-recommended-provider (advisory)", () => {
    const policy = encryptionRecommendedProvider;

    it("passes secretbox and kms, and leaves identity first to the mandatory policy", async () => {
        assert.deepEqual(await messages(policy, compliantCluster()), []);
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: yamlWith(["kms", "identity"]) })), []);
        assert.deepEqual(await messages(policy, cluster({ encryptionConfigYaml: yamlWith(["identity"]) })), []);
    });

    it("warns for aescbc and aesgcm first, with the component's own reason", async () => {
        const outcome = await runStackPolicy(
            policy,
            stackOf(cluster({ encryptionConfigYaml: yamlWith(["aescbc", "identity"]) })),
        );
        assert.deepEqual(
            outcome.violations.map((v) => [v.enforcementLevel, v.message]),
            [
                [
                    "advisory",
                    `SecureEtcdCluster "prod": its EncryptionConfiguration encrypts with aescbc first: ${DISCOURAGED_PROVIDERS.aescbc}.`,
                ],
            ],
        );
        assert.deepEqual(await messages(policy, cluster({ encryptionProviderOrder: ["aesgcm"] })), [
            `SecureEtcdCluster "prod": its EncryptionConfiguration encrypts with aesgcm first: ${DISCOURAGED_PROVIDERS.aesgcm}.`,
        ]);
    });
});
