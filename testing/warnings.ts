// The component's warnings when it runs in-process under the local stand-ins (the demo, the
// benchmarks): collected to be shown once, rather than printed as they come.

/** Collects the component's warnings (the SDK prints them with console.warn when no engine runs). */
export async function collectingWarnings<T>(work: () => Promise<T>, warnings: string[]): Promise<T> {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
        const text = args.map(String).join(" ");
        const m = /^warning: \[runtime\] (.*)$/s.exec(text);
        if (m) {
            warnings.push(m[1]);
        } else {
            original(...args);
        }
    };
    try {
        return await work();
    } finally {
        console.warn = original;
    }
}
