// The YAML writer (src/core/yaml.ts) writes what `yaml`'s stringify writes, byte for byte: on every
// document the component renders (and without handing any of them to `yaml`), and on thousands of
// generated documents full of text that yaml quotes, blocks, folds or escapes.
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { EncryptionProvider, KeyAlgorithm, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { blockYaml, toYaml } from "../../src/core/yaml";
import { runProgram, valueOf } from "../../testing/program";
import { collectingWarnings } from "../../testing/warnings";
import { TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";

/** A small deterministic generator (mulberry32): the same documents on every run. */
function generator(seed: number): () => number {
    let a = seed;
    return () => {
        a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Pieces of text that yaml treats specially somewhere (start, middle or end of a scalar). */
const PIECES = [
    "a",
    "etcd",
    "x-y",
    "0",
    "1",
    "12",
    "0o7",
    "0x1F",
    "1e3",
    ".5",
    "-",
    "+",
    ".",
    "~",
    "null",
    "true",
    "False",
    ".inf",
    ".NaN",
    "---",
    "...",
    "%",
    "@",
    "`",
    "!",
    "&",
    "*",
    "|",
    ">",
    "?",
    ",",
    "[",
    "]",
    "{",
    "}",
    "#",
    ":",
    ": ",
    " #",
    " ",
    "  ",
    "\n",
    "\n\n",
    "'",
    '"',
    "--name=etcd-0",
    "https://10.0.1.10:2379",
    "{{ $labels.instance }}",
    "a long run of words that goes on",
];
/** Pieces that always send a document to yaml: rarer, so that most documents test the writer. */
const RARE_PIECES = ["\t", "\\", "é", "\u0007", "\r"];

function text(next: () => number): string {
    let s = "";
    const n = Math.floor(next() * 6);
    for (let i = 0; i < n; i++) {
        const pieces = next() < 0.02 ? RARE_PIECES : PIECES;
        s += pieces[Math.floor(next() * pieces.length)];
    }
    // Now and then long enough for folding at a line width of 80.
    return next() < 0.1 ? s + " word".repeat(Math.floor(next() * 30)) : s;
}

function value(next: () => number, depth: number, shared: object[]): unknown {
    const r = next();
    if (depth < 4 && r < 0.35) {
        const items: Record<string, unknown> = {};
        const n = Math.floor(next() * 4);
        for (let i = 0; i < n; i++) {
            const key =
                next() < 0.8 ? ["name", "path", "x", "a-b", "k.1", "true", "0"][Math.floor(next() * 7)] : text(next);
            items[key + (next() < 0.5 ? "" : String(i))] = value(next, depth + 1, shared);
        }
        shared.push(items);
        return items;
    }
    if (depth < 4 && r < 0.55) {
        const items = Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1, shared));
        shared.push(items);
        return items;
    }
    if (r < 0.58 && shared.length > 0) {
        return shared[Math.floor(next() * shared.length)]; // yaml writes an anchor and an alias
    }
    if (r < 0.62) {
        return [0, 7, -3, 2379, 0.5, -0, 1e21, NaN][Math.floor(next() * 8)];
    }
    if (r < 0.65) {
        return [true, false, null, undefined][Math.floor(next() * 4)];
    }
    return text(next);
}

interface Rendered {
    name: string;
    text: string;
    lineWidth?: number;
}

/** Every YAML document the component renders, with the line width it is rendered at. */
async function renderedDocuments(args: SecureEtcdClusterArgs): Promise<Rendered[]> {
    // The key-policy warnings are not what this test is about.
    const { result: c } = await collectingWarnings(() => runProgram(() => new SecureEtcdCluster("prod", args)), []);
    const documents: Rendered[] = [
        { name: "prometheusRulesYaml", text: await valueOf(c.prometheusRulesYaml), lineWidth: 0 },
        { name: "encryptionConfigYaml", text: await valueOf(c.encryptionConfigYaml) },
        { name: "kubeadmClusterConfiguration", text: await valueOf(c.kubeadmClusterConfiguration) },
    ];
    for (const [member, manifest] of Object.entries(await valueOf(c.etcdManifests))) {
        documents.push({ name: `etcdManifests.${member}`, text: manifest, lineWidth: 0 });
    }
    for (const [member, userData] of Object.entries(await valueOf(c.memberUserData))) {
        assert.ok(userData.startsWith("#cloud-config\n"));
        documents.push({ name: `memberUserData.${member}`, text: userData.slice(14), lineWidth: 0 });
    }
    const kmsPlugin = await valueOf(c.kmsPluginManifest);
    if (kmsPlugin !== undefined) {
        documents.push({ name: "kmsPluginManifest", text: kmsPlugin, lineWidth: 0 });
    }
    return documents;
}

describe("YAML writer: the text yaml's stringify writes, without its document tree", function () {
    this.timeout(120_000);

    const configurations: Record<string, SecureEtcdClusterArgs> = {
        default: { members: THREE_MEMBERS, vpcId: TEST_VPC_ID },
        kms: {
            members: THREE_MEMBERS,
            vpcId: TEST_VPC_ID,
            keyAlgorithm: KeyAlgorithm.Rsa2048,
            encryptionProvider: EncryptionProvider.Kms,
            kmsPluginImage: "registry.example/aws-encryption-provider:v0.5.0",
            clientCidrs: ["10.0.8.0/24"],
            metricsSecurityGroupIds: ["sg-0fedcba9876543210"],
            hostFirewallMetricsCidrs: ["10.0.9.0/24"],
        },
    };
    for (const [name, args] of Object.entries(configurations)) {
        it(`${name}: every document the component renders is yaml's text, written without yaml`, async () => {
            const documents = await renderedDocuments(args);
            assert.ok(documents.length >= 9, `${documents.length} documents`);
            for (const d of documents) {
                const data = YAML.parse(d.text) as unknown;
                const options = d.lineWidth === undefined ? {} : { lineWidth: d.lineWidth };
                assert.equal(d.text, YAML.stringify(data, options), `${d.name}: not what yaml writes`);
                assert.equal(blockYaml(data, d.lineWidth ?? 80), d.text, `${d.name}: handed to yaml`);
            }
        });
    }

    it("writes what yaml writes for generated documents, at line widths 0, 20 and 80", () => {
        const next = generator(18);
        let written = 0;
        const total = 6000;
        for (let i = 0; i < total; i++) {
            const document = value(next, 0, []);
            for (const lineWidth of [0, 20, 80]) {
                const expected = YAML.stringify(document, { lineWidth });
                assert.equal(toYaml(document, { lineWidth }), expected, JSON.stringify(document));
                if (blockYaml(document, lineWidth) !== undefined) {
                    written++;
                }
            }
        }
        // The comparison means something only if a good share was written without yaml.
        assert.ok(written > total / 2, `${written} of ${total * 3} written without yaml`);
    });

    it("writes what yaml writes for generated text, as a key, a value and an item at every depth", () => {
        const next = generator(2379);
        let written = 0;
        let compared = 0;
        for (let i = 0; i < 5000; i++) {
            const t = text(next);
            const documents = [{ k: t }, [t], { a: { k: t } }, { a: [{ k: t, l: [t] }] }, [[t]], { [t]: 1 }];
            for (const document of documents) {
                for (const lineWidth of [0, 20, 80]) {
                    const expected = YAML.stringify(document, { lineWidth });
                    assert.equal(toYaml(document, { lineWidth }), expected, JSON.stringify(document));
                    compared++;
                    if (blockYaml(document, lineWidth) !== undefined) {
                        written++;
                    }
                }
            }
        }
        assert.ok(written > compared / 2, `${written} of ${compared} written without yaml`);
    });

    it("leaves to yaml what it does not write itself", () => {
        const shared = { a: "b" };
        for (const document of [
            { x: shared, y: shared }, // an anchor and an alias
            { x: null },
            { x: 0.5 },
            { x: "é" },
            { x: "tab\there" },
            { x: "trailing newlines\n\n" },
            { x: " leading space\nand more" },
            { "needs quotes: yes": 1 },
            "a scalar document",
        ]) {
            assert.equal(blockYaml(document, 80), undefined, JSON.stringify(document));
            assert.equal(toYaml(document), YAML.stringify(document), JSON.stringify(document));
        }
    });
});
