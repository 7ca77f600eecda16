// Component cost: time and peak memory to construct 1, 10 and 50 three-member clusters under the
// local stand-ins, against replaying the same registrations as bare resources (componentChild.ts): with
// the dependencies they had (the baseline) and with none (for comparison). Every measurement is a fresh
// process; the modes' order rotates from round to round.
import { SecureEtcdCluster } from "../src";
import { runProgram } from "../testing/program";
import { collectingWarnings } from "../testing/warnings";
import {
    BENCH_CLUSTER_ARGS,
    benchClusterName,
    ComponentBenchMode,
    ComponentMeasurementRaw,
    ComponentSpec,
    registrationKey,
    TemplateRegistration,
} from "./componentChild";
import { median, runChild } from "./stats";

export interface ComponentMeasurement extends ComponentMeasurementRaw {
    mode: ComponentBenchMode;
    clusters: number;
    round: number;
}

export interface ComponentSizeSummary {
    clusters: number;
    registrations: number;
    componentSeconds: number;
    /** The baseline: the same registrations waiting for the same dependencies, with no component. */
    bareSeconds: number;
    /** The same registrations with every input known up front (no real program can do that). */
    resolvedSeconds: number;
    /** Median component time over median bare time: the target is at most 1.1. */
    timeRatio: number;
    /** Median component time over median resolved time. */
    resolvedTimeRatio: number;
    componentMaxRssMiB: number;
    bareMaxRssMiB: number;
    memoryRatio: number;
    /** Median component time per cluster, in milliseconds: flat when growth is linear. */
    componentMsPerCluster: number;
    bareMsPerCluster: number;
}

export interface ComponentBenchResult {
    registrationsPerCluster: number;
    runs: ComponentMeasurement[];
    sizes: ComponentSizeSummary[];
}

/** `type::name` of a URN: the last type of its qualified type chain, and its name. */
function keyOfUrn(urn: string): string {
    const [, , qualifiedType, name] = urn.split("::");
    return registrationKey(qualifiedType.split("$").pop()!, name);
}

/** One cluster's registrations, recorded under the stand-ins, as the bare replay needs them. */
async function recordTemplate(): Promise<TemplateRegistration[]> {
    // The component's warnings are not what is measured.
    const { mocks } = await collectingWarnings(
        () => runProgram(() => new SecureEtcdCluster(benchClusterName(0), BENCH_CLUSTER_ARGS)),
        [],
    );
    return mocks.registrations.map((r) => {
        const options = mocks.optionsOf(r);
        if (!options) {
            throw new Error(`no options were recorded for ${r.type} ${r.name}`);
        }
        return {
            type: r.type,
            name: r.name,
            custom: r.custom,
            inputs: r.inputs,
            secretInputs: r.secretInputs,
            dependsOn: options.dependencies.map(keyOfUrn),
        };
    });
}

const MODES: ComponentBenchMode[] = ["component", "bare", "resolved"];

/** The modes in round-robin order: no mode always runs first (or right after another). */
function rotated<T>(items: T[], by: number): T[] {
    const k = by % items.length;
    return [...items.slice(k), ...items.slice(0, k)];
}

export async function benchComponent(rounds: number, sizes: number[]): Promise<ComponentBenchResult> {
    const template = await recordTemplate();
    const runs: ComponentMeasurement[] = [];
    for (let round = 0; round < rounds; round++) {
        for (const clusters of sizes) {
            const modes = rotated(MODES, round);
            for (const mode of modes) {
                const spec: ComponentSpec = { mode, clusters, templateName: benchClusterName(0), template };
                const raw = await runChild<ComponentMeasurementRaw>("componentChild", spec);
                if (raw.registrations !== template.length * clusters) {
                    throw new Error(
                        `${mode} run of ${clusters} clusters registered ${raw.registrations} resources, expected ${template.length * clusters}`,
                    );
                }
                runs.push({ ...raw, mode, clusters, round });
                process.stderr.write(
                    `component bench: round ${round + 1}/${rounds} ${clusters} clusters ${mode}: ` +
                        `${raw.seconds.toFixed(2)} s, peak RSS ${raw.maxRssMiB.toFixed(0)} MiB\n`,
                );
            }
        }
    }
    const sizesSummary = sizes.map((clusters): ComponentSizeSummary => {
        const of = (mode: string, pick: (r: ComponentMeasurement) => number) =>
            median(runs.filter((r) => r.clusters === clusters && r.mode === mode).map(pick));
        const componentSeconds = of("component", (r) => r.seconds);
        const bareSeconds = of("bare", (r) => r.seconds);
        const resolvedSeconds = of("resolved", (r) => r.seconds);
        const componentMaxRssMiB = of("component", (r) => r.maxRssMiB);
        const bareMaxRssMiB = of("bare", (r) => r.maxRssMiB);
        return {
            clusters,
            registrations: template.length * clusters,
            componentSeconds,
            bareSeconds,
            resolvedSeconds,
            timeRatio: componentSeconds / bareSeconds,
            resolvedTimeRatio: componentSeconds / resolvedSeconds,
            componentMaxRssMiB,
            bareMaxRssMiB,
            memoryRatio: componentMaxRssMiB / bareMaxRssMiB,
            componentMsPerCluster: (componentSeconds * 1000) / clusters,
            bareMsPerCluster: (bareSeconds * 1000) / clusters,
        };
    });
    return { registrationsPerCluster: template.length, runs, sizes: sizesSummary };
}
