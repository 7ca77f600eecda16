// Component cost: time and peak memory to construct 1, 10 and 50 three-member clusters under the
// local stand-ins, against replaying the same registrations as bare resources (componentChild.ts).
// Every measurement is a fresh process; component and bare runs alternate within each round.
import { SecureEtcdCluster } from "../src";
import { runProgram } from "../testing/program";
import { collectingWarnings } from "../testing/warnings";
import {
    BENCH_CLUSTER_ARGS,
    benchClusterName,
    ComponentMeasurementRaw,
    ComponentSpec,
    TemplateRegistration,
} from "./componentChild";
import { median, runChild } from "./stats";

export interface ComponentMeasurement extends ComponentMeasurementRaw {
    mode: ComponentSpec["mode"];
    clusters: number;
    round: number;
}

export interface ComponentSizeSummary {
    clusters: number;
    registrations: number;
    componentSeconds: number;
    bareSeconds: number;
    /** Median component time over median bare time: the target is at most 1.2. */
    timeRatio: number;
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

/** One cluster's registrations, recorded under the stand-ins, as the bare replay needs them. */
async function recordTemplate(): Promise<TemplateRegistration[]> {
    // The component's warnings are not what is measured.
    const { mocks } = await collectingWarnings(
        () => runProgram(() => new SecureEtcdCluster(benchClusterName(0), BENCH_CLUSTER_ARGS)),
        [],
    );
    return mocks.registrations.map((r) => ({
        type: r.type,
        name: r.name,
        custom: r.custom,
        inputs: r.inputs,
        secretInputs: r.secretInputs,
    }));
}

export async function benchComponent(rounds: number, sizes: number[]): Promise<ComponentBenchResult> {
    const template = await recordTemplate();
    const runs: ComponentMeasurement[] = [];
    for (let round = 0; round < rounds; round++) {
        for (const clusters of sizes) {
            const modes: ComponentSpec["mode"][] = round % 2 === 0 ? ["component", "bare"] : ["bare", "component"];
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
        const componentMaxRssMiB = of("component", (r) => r.maxRssMiB);
        const bareMaxRssMiB = of("bare", (r) => r.maxRssMiB);
        return {
            clusters,
            registrations: template.length * clusters,
            componentSeconds,
            bareSeconds,
            timeRatio: componentSeconds / bareSeconds,
            componentMaxRssMiB,
            bareMaxRssMiB,
            memoryRatio: componentMaxRssMiB / bareMaxRssMiB,
            componentMsPerCluster: (componentSeconds * 1000) / clusters,
            bareMsPerCluster: (bareSeconds * 1000) / clusters,
        };
    });
    return { registrationsPerCluster: template.length, runs, sizes: sizesSummary };
}
