// Staged CA rotation as pure rules: which generations exist at each stage, every step the guard
// allows and refuses (with the argument, the recorded stage and the next step named), the record
// and how a garbled one is refused, and the arguments' own rules.
import { strict as assert } from "assert";
import { CaRotationStage as Stage } from "../../src";
import {
    allowedNextStates,
    caCommonName,
    caGenerations,
    caNameSuffix,
    caRotationCheck,
    caRotationRecordValue,
    CaRotationState,
    caTransitionProblem,
    parseCaRotationRecord,
} from "../../src/pki/caRotation";
import { validateArgs } from "../../src/component/validate";
import { THREE_MEMBERS, TEST_VPC_ID } from "../harness/cluster";

const at = (generation: number, stage: Stage): CaRotationState => ({ generation, stage });
const PARAM = "/secure-etcd/p/s/prod/ca-rotation";
const both = (etcdCa: CaRotationState, peerCa: CaRotationState = at(1, Stage.Complete)) => ({ etcdCa, peerCa });

describe("CA rotation: generations at each stage", () => {
    it("trust-new keeps the previous CA issuing, issue-from-new issues from the new, complete keeps one", () => {
        assert.deepEqual(caGenerations(at(1, Stage.Complete)), { generations: [1], issuing: 1 });
        assert.deepEqual(caGenerations(at(2, Stage.TrustNew)), { generations: [1, 2], issuing: 1 });
        assert.deepEqual(caGenerations(at(2, Stage.IssueFromNew)), { generations: [1, 2], issuing: 2 });
        assert.deepEqual(caGenerations(at(2, Stage.Complete)), { generations: [2], issuing: 2 });
        assert.deepEqual(caGenerations(at(7, Stage.TrustNew)), { generations: [6, 7], issuing: 6 });
    });

    it("generation 1 keeps the names and subject deployed clusters hold; later ones get their own", () => {
        assert.equal(caNameSuffix(1), "");
        assert.equal(caNameSuffix(2), "-g2");
        assert.equal(caCommonName("etcd-ca", 1), "etcd-ca");
        assert.equal(caCommonName("etcd-ca", 2), "etcd-ca-2");
        assert.equal(caCommonName("etcd-peer-ca", 3), "etcd-peer-ca-3");
    });
});

describe("CA rotation: the steps the guard allows", () => {
    const allowed: [CaRotationState, CaRotationState][] = [
        [at(1, Stage.Complete), at(1, Stage.Complete)],
        [at(1, Stage.Complete), at(2, Stage.TrustNew)],
        [at(2, Stage.TrustNew), at(2, Stage.TrustNew)],
        [at(2, Stage.TrustNew), at(2, Stage.IssueFromNew)],
        [at(2, Stage.TrustNew), at(1, Stage.Complete)],
        [at(2, Stage.IssueFromNew), at(2, Stage.IssueFromNew)],
        [at(2, Stage.IssueFromNew), at(2, Stage.Complete)],
        [at(2, Stage.IssueFromNew), at(2, Stage.TrustNew)],
        [at(2, Stage.Complete), at(3, Stage.TrustNew)],
    ];
    for (const [from, to] of allowed) {
        it(`allows ${from.generation}/${from.stage} -> ${to.generation}/${to.stage}`, () => {
            assert.equal(caTransitionProblem("etcdCa", from, to), undefined);
            assert.equal(caTransitionProblem("peerCa", from, to), undefined);
        });
    }

    it("allows nothing else from any stage (the allowed list is exhaustive over nearby states)", () => {
        for (const from of [
            at(1, Stage.Complete),
            at(2, Stage.TrustNew),
            at(2, Stage.IssueFromNew),
            at(2, Stage.Complete),
        ]) {
            const ok = allowedNextStates(from);
            for (let generation = 1; generation <= 4; generation++) {
                for (const stage of Object.values(Stage)) {
                    const to = at(generation, stage);
                    const expected = ok.some((s) => s.generation === generation && s.stage === stage);
                    assert.equal(
                        caTransitionProblem("etcdCa", from, to) === undefined,
                        expected,
                        JSON.stringify({ from, to }),
                    );
                }
            }
        }
    });

    const refused: [CaRotationState, CaRotationState, string, RegExp][] = [
        // Straight to issuing from a CA nobody trusts yet.
        [
            at(1, Stage.Complete),
            at(2, Stage.IssueFromNew),
            "etcdCaRotationStage",
            /etcdCaGeneration: 2, etcdCaRotationStage: "trust-new" \(stage 1/,
        ],
        // Straight to removing the old CA.
        [
            at(1, Stage.Complete),
            at(2, Stage.Complete),
            "etcdCaRotationStage",
            /etcdCaGeneration: 2, etcdCaRotationStage: "trust-new"/,
        ],
        [
            at(2, Stage.TrustNew),
            at(2, Stage.Complete),
            "etcdCaRotationStage",
            /etcdCaGeneration: 2, etcdCaRotationStage: "issue-from-new" \(stage 2/,
        ],
        [
            at(1, Stage.Complete),
            at(3, Stage.TrustNew),
            "etcdCaGeneration",
            /Next allowed step: etcdCaGeneration: 2, etcdCaRotationStage: "trust-new"/,
        ],
        [
            at(2, Stage.IssueFromNew),
            at(3, Stage.TrustNew),
            "etcdCaGeneration",
            /etcdCaGeneration: 2, etcdCaRotationStage: "complete" \(stage 3: remove the old CA\)/,
        ],
        [
            at(2, Stage.IssueFromNew),
            at(1, Stage.Complete),
            "etcdCaGeneration",
            /etcdCaGeneration: 2, etcdCaRotationStage: "trust-new" \(back/,
        ],
        [
            at(2, Stage.Complete),
            at(1, Stage.Complete),
            "etcdCaGeneration",
            /etcdCaGeneration: 3, etcdCaRotationStage: "trust-new"/,
        ],
        [
            at(2, Stage.Complete),
            at(2, Stage.IssueFromNew),
            "etcdCaRotationStage",
            /keep etcdCaGeneration: 2, etcdCaRotationStage: "complete"/,
        ],
    ];
    for (const [from, to, path, next] of refused) {
        it(`refuses ${from.generation}/${from.stage} -> ${to.generation}/${to.stage}, naming ${path} and the next step`, () => {
            const problem = caTransitionProblem("etcdCa", from, to);
            assert.ok(problem, "accepted");
            assert.equal(problem.path, path);
            assert.ok(
                problem.reason.startsWith(
                    `the etcd CA is deployed at generation ${from.generation}, stage "${from.stage}", and generation ${to.generation}, stage "${to.stage}" skips a stage`,
                ),
                problem.reason,
            );
            assert.match(problem.reason, next);
            assert.match(problem.reason, /runbook "Rotate the etcd CA or the peer CA"/);
        });
    }

    it("names the peer CA's arguments for the peer CA", () => {
        const problem = caTransitionProblem("peerCa", at(1, Stage.Complete), at(2, Stage.IssueFromNew))!;
        assert.equal(problem.path, "peerCaRotationStage");
        assert.match(problem.reason, /^the peer CA is deployed/);
        assert.match(problem.reason, /peerCaGeneration: 2, peerCaRotationStage: "trust-new"/);
    });

    it("a first deployment accepts only a complete CA (there is nothing to rotate from)", () => {
        assert.equal(caTransitionProblem("etcdCa", undefined, at(1, Stage.Complete)), undefined);
        assert.equal(caTransitionProblem("etcdCa", undefined, at(4, Stage.Complete)), undefined);
        const problem = caTransitionProblem("etcdCa", undefined, at(2, Stage.TrustNew))!;
        assert.equal(problem.path, "etcdCaRotationStage");
        assert.match(
            problem.reason,
            /on a first deployment: there is no deployed etcd CA to rotate from; deploy with "complete"/,
        );
    });
});

describe("CA rotation: the record and the guard's verdict", () => {
    it("records generations and stages as JSON and reads them back", () => {
        const record = both(at(2, Stage.TrustNew), at(3, Stage.Complete));
        const value = caRotationRecordValue(record);
        assert.equal(
            value,
            '{"etcdCa":{"generation":2,"stage":"trust-new"},"peerCa":{"generation":3,"stage":"complete"}}',
        );
        assert.deepEqual(parseCaRotationRecord(PARAM, value), record);
    });

    it("refuses a garbled record with the parameter and the repair", () => {
        const cases: [string, RegExp][] = [
            ["{", /it is not JSON/],
            ["[]", /it is not a JSON object/],
            ['{"etcdCa":{"generation":1,"stage":"complete"}}', /its peerCa is not an object/],
            [
                '{"etcdCa":{"generation":0,"stage":"complete"},"peerCa":{"generation":1,"stage":"complete"}}',
                /its etcdCa has generation 0/,
            ],
            [
                '{"etcdCa":{"generation":2,"stage":"done"},"peerCa":{"generation":1,"stage":"complete"}}',
                /its etcdCa has stage "done"/,
            ],
            [
                '{"etcdCa":{"generation":1,"stage":"trust-new"},"peerCa":{"generation":1,"stage":"complete"}}',
                /at generation 1, which has no previous CA/,
            ],
        ];
        for (const [value, why] of cases) {
            assert.throws(
                () => parseCaRotationRecord(PARAM, value),
                (e: Error) =>
                    why.test(e.message) &&
                    e.message.startsWith(
                        `the CA rotation stages recorded in SSM parameter ${PARAM} are unreadable: `,
                    ) &&
                    e.message.includes(`aws ssm get-parameter-history --name ${PARAM}`),
                value,
            );
        }
        const verdict = caRotationCheck("prod", PARAM, "{", true, both(at(1, Stage.Complete)));
        assert.match(verdict!, /^SecureEtcdCluster "prod" cannot check this CA rotation step, so it changes nothing: /);
    });

    it("without a CA record: a first deployment, or a cluster deployed before rotation existed (generation 1)", () => {
        const start = both(at(2, Stage.TrustNew));
        // Another record of the cluster (its key ring) shows it was deployed: generation 1 is deployed.
        assert.equal(caRotationCheck("prod", PARAM, undefined, true, start), undefined);
        assert.match(
            caRotationCheck("prod", PARAM, undefined, true, both(at(2, Stage.Complete)))!,
            /\netcdCaRotationStage: the etcd CA is deployed at generation 1, stage "complete"/,
        );
        // Nothing recorded at all: a first deployment.
        assert.match(caRotationCheck("prod", PARAM, undefined, false, start)!, /on a first deployment/);
        assert.equal(caRotationCheck("prod", PARAM, undefined, false, both(at(1, Stage.Complete))), undefined);
    });

    it("one message for both CAs: the cluster, where the stages were recorded, each refused step", () => {
        const recorded = caRotationRecordValue(both(at(1, Stage.Complete), at(2, Stage.TrustNew)));
        const message = caRotationCheck(
            "prod",
            PARAM,
            recorded,
            true,
            both(at(2, Stage.Complete), at(2, Stage.Complete)),
        )!;
        const lines = message.split("\n");
        assert.equal(
            lines[0],
            `SecureEtcdCluster "prod" refuses this update before changing anything (CA rotation stages recorded in SSM parameter ${PARAM}).`,
        );
        assert.match(lines[1], /^etcdCaRotationStage: the etcd CA is deployed at generation 1/);
        assert.match(lines[2], /^peerCaRotationStage: the peer CA is deployed at generation 2, stage "trust-new"/);
        assert.equal(lines.length, 3);
    });
});

describe("CA rotation: the arguments' rules", () => {
    const problems = (args: object) =>
        validateArgs({ members: THREE_MEMBERS, vpcId: TEST_VPC_ID, ...args }).filter((p) =>
            /Ca(Generation|RotationStage)$/.test(p.path),
        );

    it("accepts the defaults and every stage from generation 2", () => {
        assert.deepEqual(problems({}), []);
        for (const stage of Object.values(Stage)) {
            assert.deepEqual(
                problems({
                    etcdCaGeneration: 2,
                    etcdCaRotationStage: stage,
                    peerCaGeneration: 5,
                    peerCaRotationStage: stage,
                }),
                [],
            );
        }
    });

    it("refuses a rotation stage at generation 1, unknown stages, and generations that are not whole numbers from 1", () => {
        assert.deepEqual(problems({ etcdCaRotationStage: Stage.TrustNew }), [
            {
                path: "etcdCaRotationStage",
                reason: '"trust-new" at etcdCaGeneration 1: generation 1 has no previous CA to rotate from; to rotate the etcd CA, set etcdCaGeneration to 2 with "trust-new"',
            },
        ]);
        assert.match(
            problems({ peerCaRotationStage: "done" })[0].reason,
            /^"done"; give a plain stage, one of trust-new, issue-from-new, complete$/,
        );
        for (const generation of [0, 1.5, -1, "2", 1001]) {
            const found = problems({ etcdCaGeneration: generation });
            assert.equal(found[0]?.path, "etcdCaGeneration", String(generation));
        }
    });
});
