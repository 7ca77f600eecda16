// What every benchmark shares: medians and spreads of repeated runs, and running a measurement in a
// child process of its own (its heap, event loop and peak RSS are its own).
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** "median (min-max)" with `digits` decimals. */
export function spread(values: number[], digits = 1): string {
    const sorted = [...values].sort((a, b) => a - b);
    const f = (x: number) => x.toFixed(digits);
    return `${f(median(sorted))} (${f(sorted[0])}-${f(sorted[sorted.length - 1])})`;
}

/**
 * Runs `bench/<script>.js` with `input` as JSON on its standard input (never on its command line,
 * where `ps` would show a key) and returns the JSON of its last line of output.
 */
export function runChild<T>(script: string, input: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(__dirname, `${script}.js`)], {
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new Error(`${script} exited with ${code}: ${stderr.trim().split("\n").slice(-5).join("\n")}`));
                return;
            }
            resolve(JSON.parse(stdout.trim().split("\n").pop()!) as T);
        });
        child.stdin.end(JSON.stringify(input));
    });
}

/** The body of a child measurement: reads its input as JSON on stdin, prints its result as JSON, exits. */
export function childMain<I, O>(measure: (input: I) => Promise<O>): void {
    (async () => {
        let text = "";
        for await (const chunk of process.stdin) {
            text += (chunk as Buffer).toString();
        }
        return measure(JSON.parse(text) as I);
    })()
        .then((result) => {
            process.stdout.write(JSON.stringify(result) + "\n");
            process.exit(0);
        })
        .catch((e: Error) => {
            process.stderr.write(`${e.stack ?? e.message}\n`);
            process.exit(1);
        });
}

/** User + system CPU seconds of a process so far, from /proc (clock ticks are 1/100 s on Linux). */
export function processCpuSeconds(pid: number): number {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ")"; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100;
