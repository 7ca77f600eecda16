// Staged rotation of the etcd CA and of the peer CA, as pure functions: which CA generations exist
// and which one issues at each stage, the steps the guard allows from a recorded stage, what the
// record holds, and the guard's verdict. Each CA rotates on its own, one stage per `pulumi up`.
import { Problem, quote } from "../core/problems";
import { CaRotationStage } from "./args";

/** Where one CA stands. */
export interface CaRotationState {
    generation: number;
    stage: CaRotationStage;
}

/** What the record holds: where each CA stood at the last deployment. */
export interface CaRotationRecord {
    etcdCa: CaRotationState;
    peerCa: CaRotationState;
}

export type CaKind = keyof CaRotationRecord;

/** Each CA's arguments and how messages name it. */
export const CA_KINDS: Record<CaKind, { label: string; generationArg: string; stageArg: string }> = {
    etcdCa: { label: "etcd CA", generationArg: "etcdCaGeneration", stageArg: "etcdCaRotationStage" },
    peerCa: { label: "peer CA", generationArg: "peerCaGeneration", stageArg: "peerCaRotationStage" },
};

/** Where every CA stands on a cluster deployed before rotation existed: its first CA, complete. */
export const INITIAL_CA_STATE: CaRotationState = { generation: 1, stage: CaRotationStage.Complete };

/** The CA generations that exist at a state, oldest first, and the one that issues every leaf. */
export function caGenerations(state: CaRotationState): { generations: number[]; issuing: number } {
    const g = state.generation;
    switch (state.stage) {
        case CaRotationStage.TrustNew:
            return { generations: [g - 1, g], issuing: g - 1 };
        case CaRotationStage.IssueFromNew:
            return { generations: [g - 1, g], issuing: g };
        default:
            return { generations: [g], issuing: g };
    }
}

/** The CN of a CA generation: the profile's for the first, `<cn>-<generation>` after (kops PR 11964: a new CA needs its own subject). */
export function caCommonName(profileCn: string, generation: number): string {
    return generation === 1 ? profileCn : `${profileCn}-${generation}`;
}

/** The suffix of a CA generation's resource names: none for the first (names deployed clusters hold), `-g<N>` after. */
export function caNameSuffix(generation: number): string {
    return generation === 1 ? "" : `-g${generation}`;
}

const same = (a: CaRotationState, b: CaRotationState) => a.generation === b.generation && a.stage === b.stage;

/** The states the guard allows after `from`, staying put first. */
export function allowedNextStates(from: CaRotationState): CaRotationState[] {
    const g = from.generation;
    switch (from.stage) {
        case CaRotationStage.TrustNew:
            // Back to the previous CA alone is safe: nothing was issued by the new one yet.
            return [
                from,
                { generation: g, stage: CaRotationStage.IssueFromNew },
                { generation: g - 1, stage: CaRotationStage.Complete },
            ];
        case CaRotationStage.IssueFromNew:
            return [
                from,
                { generation: g, stage: CaRotationStage.Complete },
                { generation: g, stage: CaRotationStage.TrustNew },
            ];
        default:
            return [from, { generation: g + 1, stage: CaRotationStage.TrustNew }];
    }
}

export function describeState(s: CaRotationState): string {
    return `generation ${s.generation}, stage ${quote(s.stage)}`;
}

/** A state as the arguments that ask for it. */
function asArgs(kind: CaKind, s: CaRotationState): string {
    const names = CA_KINDS[kind];
    return `${names.generationArg}: ${s.generation}, ${names.stageArg}: ${quote(s.stage)}`;
}

/** What each allowed step does, for the refusal. */
function stepMeaning(from: CaRotationState, to: CaRotationState): string {
    if (same(from, to)) {
        return "stay";
    }
    if (to.stage === CaRotationStage.TrustNew && to.generation > from.generation) {
        return "stage 1: trust a new CA beside the current one";
    }
    if (to.stage === CaRotationStage.IssueFromNew) {
        return "stage 2: issue every certificate from the new CA";
    }
    if (to.stage === CaRotationStage.Complete && to.generation === from.generation) {
        return "stage 3: remove the old CA";
    }
    return "back: abandon the step just deployed";
}

/**
 * Why moving one CA from `previous` (the recorded state; undefined on a first deployment) to
 * `next` must not happen, as a problem naming the argument to change; undefined when it is allowed.
 */
export function caTransitionProblem(
    kind: CaKind,
    previous: CaRotationState | undefined,
    next: CaRotationState,
): Problem | undefined {
    const names = CA_KINDS[kind];
    if (previous === undefined) {
        if (next.stage === CaRotationStage.Complete) {
            return undefined;
        }
        return {
            path: names.stageArg,
            reason: `${quote(next.stage)} on a first deployment: there is no deployed ${names.label} to rotate from; deploy with ${quote(CaRotationStage.Complete)} (the default), and rotate in later updates`,
        };
    }
    const allowed = allowedNextStates(previous);
    if (allowed.some((s) => same(s, next))) {
        return undefined;
    }
    const generations = new Set(allowed.map((s) => s.generation));
    const path = generations.has(next.generation) ? names.stageArg : names.generationArg;
    const steps = allowed
        .filter((s) => !same(s, previous))
        .map((s) => `${asArgs(kind, s)} (${stepMeaning(previous, s)})`);
    return {
        path,
        reason: `the ${names.label} is deployed at ${describeState(previous)}, and ${describeState(next)} skips a stage of its rotation (trust the new CA, issue from it, remove the old). Next allowed step: ${steps.join("; or ")}; or keep ${asArgs(kind, previous)}. Deploy one stage per update, and let every node sync (and restart kube-apiserver) before the next: see the runbook "Rotate the etcd CA or the peer CA"`,
    };
}

/** What the record holds, as JSON: generations and stages only. */
export function caRotationRecordValue(record: CaRotationRecord): string {
    return JSON.stringify({
        etcdCa: { generation: record.etcdCa.generation, stage: record.etcdCa.stage },
        peerCa: { generation: record.peerCa.generation, stage: record.peerCa.stage },
    });
}

const STAGES = new Set<string>(Object.values(CaRotationStage));

function stateProblem(value: unknown): string | undefined {
    if (typeof value !== "object" || value === null) {
        return "is not an object";
    }
    const { generation, stage } = value as Record<string, unknown>;
    if (!Number.isInteger(generation) || (generation as number) < 1) {
        return `has generation ${quote(generation)}, not a whole number from 1`;
    }
    if (typeof stage !== "string" || !STAGES.has(stage)) {
        return `has stage ${quote(stage)}, none of ${[...STAGES].join(", ")}`;
    }
    if ((stage as CaRotationStage) !== CaRotationStage.Complete && generation === 1) {
        return `has stage ${quote(stage)} at generation 1, which has no previous CA`;
    }
    return undefined;
}

/**
 * The record a parameter's value holds. A value this package did not write is refused with the
 * repair: without the deployed stages the guard cannot tell a safe step from one that locks
 * members or clients out.
 */
export function parseCaRotationRecord(parameterName: string, value: string): CaRotationRecord {
    let parsed: unknown;
    let problem: string | undefined;
    try {
        parsed = JSON.parse(value) as unknown;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
            problem = "it is not a JSON object";
        } else {
            for (const kind of Object.keys(CA_KINDS) as CaKind[]) {
                const why = stateProblem((parsed as Record<string, unknown>)[kind]);
                problem ??= why && `its ${kind} ${why}`;
            }
        }
    } catch (e) {
        problem = `it is not JSON (${(e as Error).message})`;
    }
    if (problem !== undefined) {
        throw new Error(
            `the CA rotation stages recorded in SSM parameter ${parameterName} are unreadable: ${problem}. It must be what secure-etcd writes, e.g. ${caRotationRecordValue({ etcdCa: INITIAL_CA_STATE, peerCa: INITIAL_CA_STATE })}, with the generations and stages of the last successful deployment; restore it from the parameter's history (aws ssm get-parameter-history --name ${parameterName}), then run the update again`,
        );
    }
    const record = parsed as CaRotationRecord;
    return {
        etcdCa: { generation: record.etcdCa.generation, stage: record.etcdCa.stage },
        peerCa: { generation: record.peerCa.generation, stage: record.peerCa.stage },
    };
}

/**
 * The guard's verdict, from the cluster's records: undefined when the update may go ahead, else
 * the one message to stop it with. `recorded` is the CA record's value (undefined when none);
 * `deployedBefore` whether the cluster has any record at all: a cluster deployed before CA
 * rotation existed has no CA record but stands at generation 1, complete.
 */
export function caRotationCheck(
    clusterName: string,
    parameterName: string,
    recorded: string | undefined,
    deployedBefore: boolean,
    next: CaRotationRecord,
): string | undefined {
    let previous: CaRotationRecord | undefined;
    try {
        previous =
            recorded !== undefined
                ? parseCaRotationRecord(parameterName, recorded)
                : deployedBefore
                  ? { etcdCa: INITIAL_CA_STATE, peerCa: INITIAL_CA_STATE }
                  : undefined;
    } catch (e) {
        return `SecureEtcdCluster ${quote(clusterName)} cannot check this CA rotation step, so it changes nothing: ${(e as Error).message}`;
    }
    const problems = (Object.keys(CA_KINDS) as CaKind[]).flatMap((kind) => {
        const problem = caTransitionProblem(kind, previous?.[kind], next[kind]);
        return problem ? [`${problem.path}: ${problem.reason}`] : [];
    });
    if (problems.length === 0) {
        return undefined;
    }
    const where = recorded !== undefined ? `recorded in SSM parameter ${parameterName}` : "no record yet";
    return [
        `SecureEtcdCluster ${quote(clusterName)} refuses this update before changing anything (CA rotation stages ${where}).`,
        ...problems,
    ].join("\n");
}

/**
 * What the operator must do once a rotation stage is deployed, before the next `pulumi up`: the
 * steps no argument can take (node sync runs on its own; kube-apiserver reads its etcd files only
 * at start). None outside a rotation.
 */
export function caRotationWarnings(stages: CaRotationRecord): string[] {
    const warnings: string[] = [];
    const { etcdCa, peerCa } = stages;
    const runbook = 'the runbook "Rotate the etcd CA or the peer CA"';
    if (etcdCa.stage === CaRotationStage.TrustNew) {
        warnings.push(
            `etcdCaRotationStage: "trust-new" (generation ${etcdCa.generation}): once node sync has restarted every member with the new trust bundle, restart every kube-apiserver (it reads --etcd-cafile only at start) and give other clients the new caCertPem, before "issue-from-new"; see ${runbook}`,
        );
    } else if (etcdCa.stage === CaRotationStage.IssueFromNew) {
        warnings.push(
            `etcdCaRotationStage: "issue-from-new" (generation ${etcdCa.generation}): once node sync has delivered the new certificates, restart every kube-apiserver (it reads --etcd-certfile only at start) and give other clients their new certificates, before "complete" removes the old CA; see ${runbook}`,
        );
    }
    if (peerCa.stage !== CaRotationStage.Complete) {
        warnings.push(
            `peerCaRotationStage: ${quote(peerCa.stage)} (generation ${peerCa.generation}): wait until node sync has delivered this stage to every member (and restarted each whose static pod changed) before the next; see ${runbook}`,
        );
    }
    return warnings;
}
