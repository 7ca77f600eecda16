// Whether a system tool a test uses is installed (tests that need one skip only where it is absent;
// .ci/run installs them all).
import { spawnSync } from "child_process";

export function onPath(command: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}
