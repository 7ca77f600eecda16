// The EncryptionConfiguration renderer against kube-apiserver's own validation rules, and the
// key-rotation rules as pure functions.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as YAML from "yaml";
import {
    EncryptionConfiguration,
    encryptionConfigViolations,
    encryptionConfigYaml,
    EncryptionProvider,
    keyNameProblem,
    renderEncryptionConfig,
    resourceListProblems,
} from "../../src/encryption/encryptionConfig";
import { KMS_ENDPOINT } from "../../src/encryption/kmsPlugin";
import { keyRingTransitionProblems, rewriteCommand } from "../../src/encryption/rotation";

const key = (name: string, bytes = 32) => ({ name, secret: crypto.randomBytes(bytes).toString("base64") });
const kms = { name: "aws-encryption-provider", endpoint: KMS_ENDPOINT, timeout: "3s" };

function render(provider: EncryptionProvider, over: Partial<Parameters<typeof renderEncryptionConfig>[0]> = {}) {
    return renderEncryptionConfig({
        provider,
        keys: provider === EncryptionProvider.Kms ? [] : [key("key-1")],
        kms,
        resources: ["secrets", "configmaps"],
        identityFallback: true,
        ...over,
    });
}

describe("EncryptionConfiguration renderer", () => {
    it("renders secretbox first and identity last, and kube-apiserver's rules accept it", () => {
        const config = render(EncryptionProvider.Secretbox, { keys: [key("key-2"), key("key-1")] });
        assert.equal(config.apiVersion, "apiserver.config.k8s.io/v1");
        assert.equal(config.kind, "EncryptionConfiguration");
        assert.deepEqual(config.resources[0].resources, ["secrets", "configmaps"]);
        const providers = config.resources[0].providers;
        assert.deepEqual(
            providers.map((p) => Object.keys(p)),
            [["secretbox"], ["identity"]],
        );
        const keys = (providers[0].secretbox as { keys: { name: string }[] }).keys;
        assert.deepEqual(
            keys.map((k) => k.name),
            ["key-2", "key-1"],
        );
        assert.deepEqual(encryptionConfigViolations(config), []);
    });

    it("drops identity when asked, so plaintext is no longer read", () => {
        const config = render(EncryptionProvider.Secretbox, { identityFallback: false });
        assert.deepEqual(
            config.resources[0].providers.map((p) => Object.keys(p)[0]),
            ["secretbox"],
        );
    });

    for (const provider of [EncryptionProvider.Aesgcm, EncryptionProvider.Aescbc]) {
        it(`renders ${provider} with 32-byte keys that the upstream rules accept`, () => {
            assert.deepEqual(encryptionConfigViolations(render(provider)), []);
        });
    }

    it("renders a KMS v2 provider: apiVersion v2, unix socket, timeout, no cachesize, no local key", () => {
        const config = render(EncryptionProvider.Kms);
        assert.deepEqual(config.resources[0].providers[0], {
            kms: {
                apiVersion: "v2",
                name: "aws-encryption-provider",
                endpoint: "unix:///var/run/kmsplugin/socket.sock",
                timeout: "3s",
            },
        });
        assert.ok(!JSON.stringify(config.resources[0].providers).includes("keys"));
        assert.deepEqual(encryptionConfigViolations(config), []);
    });

    it("round-trips through YAML unchanged", () => {
        const config = render(EncryptionProvider.Secretbox);
        assert.deepEqual(YAML.parse(encryptionConfigYaml(config)), config);
    });

    it("the upstream rules catch what kube-apiserver would refuse", () => {
        const bad: EncryptionConfiguration = {
            apiVersion: "apiserver.config.k8s.io/v1",
            kind: "EncryptionConfiguration",
            resources: [
                {
                    resources: ["secrets", "*."],
                    providers: [
                        { secretbox: { keys: [{ name: "a:b", secret: crypto.randomBytes(16).toString("base64") }] } },
                        { aesgcm: { keys: [] }, identity: {} },
                        {
                            kms: {
                                apiVersion: "v2",
                                name: "x:y",
                                endpoint: "tcp://1.2.3.4",
                                timeout: "0s",
                                cachesize: 10,
                            },
                        },
                    ],
                },
            ],
        };
        const v = encryptionConfigViolations(bad).join("\n");
        assert.match(v, /mixes a wildcard/);
        assert.match(v, /keys\[0\]\.name: required, without ':'/);
        assert.match(v, /16 bytes, expected one of 32/);
        assert.match(v, /exactly one provider type per list item/);
        assert.match(v, /kms\.name/);
        assert.match(v, /unix:\/\/\//);
        assert.match(v, /timeout/);
        assert.match(v, /cachesize/);
    });
});

describe("encrypted resources: the upstream rules", () => {
    const ok = [
        ["secrets"],
        ["secrets", "configmaps"],
        ["*.*"],
        ["*."],
        ["*.apps"],
        ["secrets", "*.apps"],
        ["deployments.apps", "configmaps"],
    ];
    for (const list of ok) {
        it(`accepts ${JSON.stringify(list)}`, () => assert.deepEqual(resourceListProblems(list), []));
    }
    const bad: [string[], RegExp][] = [
        [[], /is empty/],
        [["secrets", "secrets"], /more than once/],
        [["secrets", "*."], /mixes a wildcard/],
        [["*.*", "configmaps"], /mixes a wildcard/],
        [["deployments.apps", "*.apps"], /mixes a wildcard/],
        [["*"], /use "\*\." to encrypt/],
        [["Secrets"], /capital letters/],
        [["serviceipallocations"], /no REST API/],
        [["events.events.k8s.io"], /use "events"/],
        [["ingresses.extensions"], /extensions/],
        [["secrets.*"], /name its group/],
    ];
    for (const [list, pattern] of bad) {
        it(`refuses ${JSON.stringify(list)}`, () => assert.match(resourceListProblems(list).join("\n"), pattern));
    }

    it("key names: no ':' (it separates the stored prefix), DNS-1123 labels", () => {
        assert.equal(keyNameProblem("key-2026-11"), undefined);
        assert.match(keyNameProblem("key:1")!, /no ':'/);
        assert.match(keyNameProblem("")!, /not a usable key name/);
    });

    it("the rewrite command names the resources, or every listable resource for wildcards", () => {
        assert.equal(
            rewriteCommand(["secrets", "configmaps"]),
            "kubectl get secrets,configmaps --all-namespaces -o json | kubectl replace -f -",
        );
        assert.match(rewriteCommand(["*.*"]), /kubectl api-resources --verbs=list,update -o name/);
    });
});

describe("key rotation rules", () => {
    const ring = (...keyNames: string[]) => ({ provider: EncryptionProvider.Secretbox, keyNames });

    it("every step of the documented procedure is safe", () => {
        const steps = [ring("k1"), ring("k1", "k2"), ring("k2", "k1"), ring("k2")];
        assert.deepEqual(keyRingTransitionProblems(undefined, steps[0]), []);
        for (let i = 1; i < steps.length; i++) {
            assert.deepEqual(keyRingTransitionProblems(steps[i - 1], steps[i]), [], `step ${i}`);
        }
    });

    it("re-running an update with the same list is safe", () => {
        assert.deepEqual(keyRingTransitionProblems(ring("k2", "k1"), ring("k2", "k1")), []);
    });

    it("refuses removing the key that encrypts, and explains the procedure", () => {
        const [problem] = keyRingTransitionProblems(ring("k1"), ring("k2"));
        assert.match(problem, /"k1" encrypts everything written since it became first/);
        assert.match(problem, /add the new key second/);
        assert.match(problem, /rewrite every object/);
    });

    it("refuses demoting and removing the encrypting key in one update", () => {
        const problems = keyRingTransitionProblems(ring("k1", "k2"), ring("k2"));
        assert.equal(problems.length, 1);
        assert.match(problems[0], /"k1" encrypts/);
    });

    it("refuses a new key that would encrypt before every apiserver can read it", () => {
        const problems = keyRingTransitionProblems(ring("k1"), ring("k2", "k1"));
        assert.equal(problems.length, 1);
        assert.match(problems[0], /"k2" is new and would encrypt at once/);
    });

    it("refuses changing the provider in place", () => {
        const problems = keyRingTransitionProblems(ring("k1"), { provider: EncryptionProvider.Kms, keyNames: [] });
        assert.match(problems[0], /changing secretbox to kms in place/);
    });
});
