// Staged CA rotation as successive `pulumi up`s of one stack under the mocks: at each stage, what
// every member, client and kube-apiserver trusts, which CA issued every leaf, which CA resources
// exist, that the other CA is untouched, and that a step skipping a stage is refused at preview.
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { CaRotationStage as Stage, SecureEtcdCluster, SecureEtcdClusterArgs } from "../../src";
import { APISERVER_PATHS } from "../../src/apiserver/apiServerFragment";
import { NODE_PATHS } from "../../src/manifests/nodeLayout";
import { TRUST_BUNDLE_ANNOTATION } from "../../src/manifests/staticPod";
import { ProviderMocks, Registration } from "../../testing/mocks";
import { attemptProgram, runProgram, valueOf } from "../../testing/program";
import { certFacts, issuedBy, keyMatches } from "../harness/certs";
import { capturedWarnings, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";

const SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert";
const PARAMETER = "aws:ssm/parameter:Parameter";
const PKI_TYPES = /^tls:/;

/** Every certificate in a PEM bundle. */
export function pemsOf(bundle: string): string[] {
    return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

const norm = (pem: string) => pem.trim();

interface Stage_ {
    generation: number;
    stage: Stage;
}

interface Observed {
    mocks: ProviderMocks;
    /** CA certificates by resource name. */
    cas: Record<string, string>;
    caCertPem: string;
    peerCaCertPem: string;
    nodeFiles: Record<string, { path: string; content: string }[]>;
    manifests: Record<string, string>;
    clients: Record<string, { certPem: string; keyPem: string; caCertPem: string }>;
    apiServerFiles: { path: string; content: string }[];
    certificateIds: string[];
}

async function up(args: Partial<SecureEtcdClusterArgs>, previous?: ProviderMocks): Promise<Observed> {
    const { result, mocks } = await runProgram(
        () => new SecureEtcdCluster("prod", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }),
        { previous },
    );
    const cas = Object.fromEntries(mocks.ofType(SELF_SIGNED).map((r) => [r.name, r.state!.certPem as string]));
    return {
        mocks,
        cas,
        caCertPem: await valueOf(result.caCertPem),
        peerCaCertPem: await valueOf(result.peerCaCertPem),
        nodeFiles: await valueOf(result.nodeFiles),
        manifests: await valueOf(result.etcdManifests),
        clients: await valueOf(result.clientCredentials),
        apiServerFiles: await valueOf(result.apiServerNodeFiles),
        certificateIds: (await valueOf(result.certificates)).map((c) => c.id),
    };
}

const fileOf = (files: { path: string; content: string }[], path: string) =>
    files.find((f) => f.path === path)!.content;

function annotationOf(manifest: string): string | undefined {
    const pod = YAML.parse(manifest) as { metadata: { annotations?: Record<string, string> } };
    return pod.metadata.annotations?.[TRUST_BUNDLE_ANNOTATION];
}

/** Asserts a bundle holds exactly `expected` CAs, in order. */
function assertBundle(bundle: string, expected: string[], what: string): void {
    assert.deepEqual(pemsOf(bundle).map(norm), expected.map(norm), what);
}

/** Every trust bundle of the etcd CA: the output, each member's ca.crt, each client's, kube-apiserver's. */
function etcdTrustBundles(o: Observed): [string, string][] {
    return [
        ["caCertPem", o.caCertPem],
        ...Object.entries(o.nodeFiles).map(([m, files]): [string, string] => [
            `${m} ca.crt`,
            fileOf(files, NODE_PATHS.caCert),
        ]),
        ...Object.entries(o.clients).map(([c, creds]): [string, string] => [`client ${c}`, creds.caCertPem]),
        ["kube-apiserver --etcd-cafile", fileOf(o.apiServerFiles, APISERVER_PATHS.etcdCaFile)],
    ];
}

function peerTrustBundles(o: Observed): [string, string][] {
    return [
        ["peerCaCertPem", o.peerCaCertPem],
        ...Object.entries(o.nodeFiles).map(([m, files]): [string, string] => [
            `${m} peer-ca.crt`,
            fileOf(files, NODE_PATHS.peerCaCert),
        ]),
    ];
}

/** Every leaf the etcd CA issues: member server certificates, every client's, kube-apiserver's file. */
function etcdLeaves(o: Observed): [string, string][] {
    return [
        ...Object.entries(o.nodeFiles).map(([m, files]): [string, string] => [
            `${m} server`,
            fileOf(files, NODE_PATHS.serverCert),
        ]),
        ...Object.entries(o.clients).map(([c, creds]): [string, string] => [`client ${c}`, creds.certPem]),
        ["kube-apiserver client file", fileOf(o.apiServerFiles, APISERVER_PATHS.etcdCertFile)],
    ];
}

function peerLeaves(o: Observed): [string, string][] {
    return Object.entries(o.nodeFiles).map(([m, files]): [string, string] => [
        `${m} peer`,
        fileOf(files, NODE_PATHS.peerCert),
    ]);
}

const recordOf = (mocks: ProviderMocks): unknown =>
    JSON.parse(mocks.named("prod-pki-ca-rotation-record").state!.insecureValue as string);

const changed = (mocks: ProviderMocks, filter: (r: Registration) => boolean) =>
    mocks.registrations
        .filter((r) => r.custom && filter(r) && r.change !== "same")
        .map((r) => r.name)
        .sort();

interface Kind {
    label: string;
    arg: (s: Stage_) => Partial<SecureEtcdClusterArgs>;
    caName: (g: number) => string;
    cn: (g: number) => string;
    bundles: (o: Observed) => [string, string][];
    leaves: (o: Observed) => [string, string][];
    otherBundles: (o: Observed) => [string, string][];
    otherLeaves: (o: Observed) => [string, string][];
    /** The resources of the other CA and its leaves, which the rotation must leave alone. */
    otherResources: RegExp;
    recordKey: "etcdCa" | "peerCa";
}

const KINDS: Kind[] = [
    {
        label: "etcd CA",
        arg: (s) => ({ etcdCaGeneration: s.generation, etcdCaRotationStage: s.stage }),
        caName: (g) => (g === 1 ? "prod-pki-etcd-ca" : `prod-pki-etcd-ca-g${g}`),
        cn: (g) => (g === 1 ? "etcd-ca" : `etcd-ca-${g}`),
        bundles: etcdTrustBundles,
        leaves: etcdLeaves,
        otherBundles: peerTrustBundles,
        otherLeaves: peerLeaves,
        otherResources: /^prod-pki-(peer-ca|member-etcd-\d-peer)/,
        recordKey: "etcdCa",
    },
    {
        label: "peer CA",
        arg: (s) => ({ peerCaGeneration: s.generation, peerCaRotationStage: s.stage }),
        caName: (g) => (g === 1 ? "prod-pki-peer-ca" : `prod-pki-peer-ca-g${g}`),
        cn: (g) => (g === 1 ? "etcd-peer-ca" : `etcd-peer-ca-${g}`),
        bundles: peerTrustBundles,
        leaves: peerLeaves,
        otherBundles: etcdTrustBundles,
        otherLeaves: etcdLeaves,
        otherResources: /^prod-pki-(etcd-ca|member-etcd-\d-server|client-)/,
        recordKey: "peerCa",
    },
];

const STAGES: Stage_[] = [
    { generation: 1, stage: Stage.Complete },
    { generation: 2, stage: Stage.TrustNew },
    { generation: 2, stage: Stage.IssueFromNew },
    { generation: 2, stage: Stage.Complete },
];

describe("SecureEtcdCluster: staged CA rotation as successive updates", function () {
    this.timeout(120_000);

    for (const kind of KINDS) {
        it(`rotates the ${kind.label} stage by stage: trust both, issue from the new, remove the old`, async () => {
            const runs: Observed[] = [];
            for (const [i, s] of STAGES.entries()) {
                const o = await up(kind.arg(s), runs[i - 1]?.mocks);
                const what = (x: string) => `${kind.label} ${s.generation}/${s.stage}: ${x}`;
                const trusted = s.stage === Stage.Complete ? [s.generation] : [s.generation - 1, s.generation];
                const issuing = s.stage === Stage.TrustNew ? s.generation - 1 : s.generation;
                // Exactly the CAs of this stage exist, each with its own subject.
                const names = Object.keys(o.cas).filter((n) => n.startsWith(kind.caName(1)));
                assert.deepEqual(names.sort(), trusted.map(kind.caName).sort(), what("CA resources"));
                for (const g of trusted) {
                    const facts = certFacts(o.cas[kind.caName(g)]);
                    assert.equal(facts.subjectCn, kind.cn(g), what(`CN of generation ${g}`));
                    assert.ok(facts.isCa);
                    assert.ok(o.certificateIds.includes(kind.cn(g)), what(`expiry of ${kind.cn(g)} is published`));
                }
                // Every trust bundle holds every CA of this stage, oldest first.
                for (const [where, bundle] of kind.bundles(o)) {
                    assertBundle(
                        bundle,
                        trusted.map((g) => o.cas[kind.caName(g)]),
                        what(where),
                    );
                }
                // Every leaf is issued by the issuing CA, and verifies against every bundle.
                const issuer = o.cas[kind.caName(issuing)];
                for (const [where, leaf] of kind.leaves(o)) {
                    assert.ok(issuedBy(leaf, issuer), what(`${where} is issued by generation ${issuing}`));
                    assert.equal(certFacts(leaf).cert.issuer, `CN=${kind.cn(issuing)}`, what(where));
                }
                // The other CA is one CA, untouched, and so are its leaves.
                for (const [where, bundle] of kind.otherBundles(o)) {
                    assert.equal(pemsOf(bundle).length, 1, what(`other CA: ${where}`));
                }
                if (i > 0) {
                    const before = runs[i - 1];
                    assert.deepEqual(
                        changed(o.mocks, (r) => kind.otherResources.test(r.name)),
                        [],
                        what("other CA's resources"),
                    );
                    assert.deepEqual(kind.otherLeaves(o), kind.otherLeaves(before), what("other CA's leaves"));
                    // Leaf keys are kept: only certificates are re-issued.
                    assert.deepEqual(
                        changed(
                            o.mocks,
                            (r) => r.type === "tls:index/privateKey:PrivateKey" && !/-ca(-g\d+)?-key$/.test(r.name),
                        ),
                        [],
                    );
                    // A CA that exists in both runs is the same CA.
                    for (const g of trusted) {
                        if (before.cas[kind.caName(g)]) {
                            assert.equal(
                                o.cas[kind.caName(g)],
                                before.cas[kind.caName(g)],
                                what(`generation ${g} unchanged`),
                            );
                        }
                    }
                }
                // Keys still match their certificates.
                for (const [name, creds] of Object.entries(o.clients)) {
                    assert.ok(keyMatches(creds.keyPem, creds.certPem), what(name));
                }
                assert.deepEqual((recordOf(o.mocks) as Record<string, unknown>)[kind.recordKey], s, what("record"));
                runs.push(o);
            }
            const [g1, trustNew, issueFromNew, complete] = runs;
            // Deleted: nothing until stage 3, which deletes generation 1 and only it.
            assert.deepEqual(
                trustNew.mocks.deleted().map((r) => r.name),
                [],
            );
            assert.deepEqual(
                issueFromNew.mocks.deleted().map((r) => r.name),
                [],
            );
            assert.deepEqual(
                complete.mocks
                    .deleted()
                    .map((r) => r.name)
                    .sort(),
                [kind.caName(1), `${kind.caName(1)}-key`],
            );
            // Stage 1 changes no leaf; stage 2 re-issues every leaf of this CA (and only leaves); stage 3 none.
            assert.deepEqual(
                changed(trustNew.mocks, (r) => r.type === "tls:index/locallySignedCert:LocallySignedCert"),
                [],
            );
            const reissued = changed(issueFromNew.mocks, (r) => PKI_TYPES.test(r.type));
            assert.equal(
                reissued.length,
                kind.leaves(g1).length - (kind.recordKey === "etcdCa" ? 1 : 0),
                reissued.join(", "),
            );
            assert.deepEqual(
                changed(complete.mocks, (r) => PKI_TYPES.test(r.type)),
                [],
            );
            // The static pod changes exactly when a trust bundle does: stage 1 and stage 3, not stage 2.
            const annotations = runs.map((o) => annotationOf(o.manifests["etcd-0"]));
            assert.ok(
                annotations.every((a) => /^[0-9a-f]{64}$/.test(a ?? "")),
                annotations.join(),
            );
            assert.notEqual(annotations[1], annotations[0]);
            assert.equal(annotations[2], annotations[1]);
            assert.notEqual(annotations[3], annotations[2]);
            assert.notEqual(annotations[3], annotations[0]);
        });
    }

    it("the trust-bundle annotation is the SHA-256 of ca.crt and peer-ca.crt as the member has them", async () => {
        const o = await up({});
        const crypto = await import("crypto");
        for (const [member, files] of Object.entries(o.nodeFiles)) {
            const digest = crypto
                .createHash("sha256")
                .update(fileOf(files, NODE_PATHS.caCert) + fileOf(files, NODE_PATHS.peerCaCert))
                .digest("hex");
            assert.equal(annotationOf(o.manifests[member]), digest, member);
            assert.equal(annotationOf(fileOf(files, NODE_PATHS.manifest)), digest, member);
        }
    });

    it("rotates both CAs at once when asked, each on its own stages", async () => {
        const first = await up({});
        const both = await up({ ...KINDS[0].arg(STAGES[1]), ...KINDS[1].arg(STAGES[1]) }, first.mocks);
        assert.equal(pemsOf(both.caCertPem).length, 2);
        assert.equal(pemsOf(both.peerCaCertPem).length, 2);
        const mixed = await up({ ...KINDS[0].arg(STAGES[2]), ...KINDS[1].arg(STAGES[1]) }, both.mocks);
        assert.deepEqual(recordOf(mixed.mocks), { etcdCa: STAGES[2], peerCa: STAGES[1] });
    });

    /** The step from `from` (deployed stage by stage from generation 1) to `to` is refused at preview and at up. */
    async function refused(from: Stage_[], to: Partial<SecureEtcdClusterArgs>, kind: Kind, pattern: RegExp) {
        let previous: ProviderMocks | undefined;
        for (const s of from) {
            previous = (await up(kind.arg(s), previous)).mocks;
        }
        for (const preview of [true, false]) {
            const attempt = await attemptProgram(
                () => new SecureEtcdCluster("prod", { members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...to }),
                { previous, preview },
            );
            assert.ok(attempt.error, "the step was not refused");
            assert.match(
                attempt.error.message,
                /^SecureEtcdCluster "prod" refuses this update before changing anything \(CA rotation stages recorded in SSM parameter \/secure-etcd\/project\/stack\/prod\/ca-rotation\)\./,
            );
            assert.match(attempt.error.message, pattern);
            // Nothing of the PKI is registered, and nothing at all changes.
            assert.deepEqual(
                attempt.mocks.registrations.filter((r) => PKI_TYPES.test(r.type)).map((r) => r.name),
                [],
            );
            assert.deepEqual(
                changed(attempt.mocks, () => true),
                [],
            );
            assert.deepEqual(
                attempt.mocks.registrations
                    .filter((r) => r.type === PARAMETER && r.name.includes("ca-rotation"))
                    .map((r) => r.name),
                [],
            );
        }
    }

    it("refuses at preview a step that skips a stage, registering nothing of the PKI", async () => {
        await refused(
            [STAGES[0]],
            KINDS[0].arg(STAGES[2]),
            KINDS[0],
            /\netcdCaRotationStage: the etcd CA is deployed at generation 1, stage "complete", and generation 2, stage "issue-from-new" skips a stage/,
        );
        await refused(
            [STAGES[0], STAGES[1]],
            KINDS[1].arg(STAGES[3]),
            KINDS[1],
            /\npeerCaRotationStage: .*Next allowed step: peerCaGeneration: 2, peerCaRotationStage: "issue-from-new"/,
        );
        await refused(
            [STAGES[0]],
            KINDS[0].arg({ generation: 3, stage: Stage.TrustNew }),
            KINDS[0],
            /\netcdCaGeneration: /,
        );
    });

    it("a cluster deployed before CA rotation existed (a key-ring record, no CA record) starts at generation 1", async () => {
        const first = await up({});
        // As an older release left it: the CA record removed from what the previous run created.
        const previous = first.mocks;
        const index = previous.registrations.findIndex((r) => r.name === "prod-pki-ca-rotation-record");
        previous.registrations.splice(index, 1);
        const start = await up(KINDS[0].arg(STAGES[1]), previous);
        assert.equal(pemsOf(start.caCertPem).length, 2);
        const skip = await attemptProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: THREE_MEMBERS,
                    vpcId: TEST_VPC_ID,
                    ...KINDS[0].arg(STAGES[2]),
                }),
            { previous, preview: true },
        );
        assert.match(skip.error?.message ?? "", /\(CA rotation stages no record yet\)[\s\S]*deployed at generation 1/);
    });

    it("tells the operator at each stage what to do before the next (restart kube-apiserver), and nothing outside one", async () => {
        let previous: ProviderMocks | undefined;
        const said: string[][] = [];
        for (const s of STAGES) {
            said.push(
                (
                    await capturedWarnings(async () => {
                        previous = (await up({ ...KINDS[0].arg(s), ...KINDS[1].arg(s) }, previous)).mocks;
                    })
                ).filter((w) => /CaRotationStage/.test(w)),
            );
        }
        assert.deepEqual(said[0], []);
        assert.match(
            said[1][0],
            /^etcdCaRotationStage: "trust-new" \(generation 2\): .*restart every kube-apiserver \(it reads --etcd-cafile only at start\)/,
        );
        assert.match(said[1][1], /^peerCaRotationStage: "trust-new" \(generation 2\): wait until node sync/);
        assert.match(
            said[2][0],
            /^etcdCaRotationStage: "issue-from-new" .*restart every kube-apiserver \(it reads --etcd-certfile only at start\)/,
        );
        assert.deepEqual(said[3], []);
    });

    it("a first deployment cannot start in the middle of a rotation", async () => {
        const attempt = await attemptProgram(
            () =>
                new SecureEtcdCluster("prod", {
                    members: THREE_MEMBERS,
                    vpcId: TEST_VPC_ID,
                    ...KINDS[1].arg(STAGES[1]),
                }),
            { preview: true },
        );
        assert.match(attempt.error?.message ?? "", /peerCaRotationStage: "trust-new" on a first deployment/);
    });
});
