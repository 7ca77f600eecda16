// What the agent says while it works: a progress line for a person at a terminal, one JSON object
// per line for journald and log shippers otherwise. Never a secret: only names, sizes and digests.

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface AgentLog {
    info(event: string, fields?: LogFields): void;
    error(event: string, message: string, fields?: LogFields): void;
    /** Bytes done of a total (0 when unknown). */
    progress(done: number, total: number): void;
    /** Ends an open progress line. */
    close(): void;
}

export function structuredLog(write: (line: string) => void = (l) => process.stdout.write(l)): AgentLog {
    let lastReported = 0;
    const emit = (level: string, event: string, fields: LogFields = {}) =>
        write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + "\n");
    return {
        info: (event, fields) => emit("info", event, fields),
        error: (event, message, fields) => emit("error", event, { ...fields, error: message }),
        progress: (done, total) => {
            // One line per 10% (or per 64 MiB when the size is unknown) keeps logs readable.
            const step = total > 0 ? total / 10 : 64 * 1024 * 1024;
            if (done - lastReported >= step) {
                lastReported = done;
                emit("info", "progress", { bytes: done, totalBytes: total || undefined });
            }
        },
        close: () => undefined,
    };
}

export function interactiveLog(stream: NodeJS.WriteStream = process.stderr): AgentLog {
    let open = false;
    let lastDraw = 0;
    const endLine = () => {
        if (open) {
            stream.write("\n");
            open = false;
        }
    };
    const describe = (fields: LogFields = {}) =>
        Object.entries(fields)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ");
    return {
        info: (event, fields) => {
            endLine();
            stream.write(`${event} ${describe(fields)}\n`);
        },
        error: (event, message, fields) => {
            endLine();
            stream.write(`${event}: ${message}${fields ? ` (${describe(fields)})` : ""}\n`);
        },
        progress: (done, total) => {
            const now = Date.now();
            if (now - lastDraw < 100 && done !== total) {
                return;
            }
            lastDraw = now;
            const mib = (n: number) => (n / 1048576).toFixed(1);
            const percent = total > 0 ? ` ${Math.floor((100 * done) / total)}%` : "";
            stream.write(`\r${mib(done)} MiB${total > 0 ? ` of ${mib(total)} MiB` : ""}${percent}   `);
            open = true;
        },
        close: endLine,
    };
}

/** A terminal gets progress; anything else (systemd, CI, a pipe) gets JSON lines. */
export function defaultLog(): AgentLog {
    return process.stderr.isTTY && !process.env.CI ? interactiveLog() : structuredLog();
}
