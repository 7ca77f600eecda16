// Output plumbing with fewer Output objects than the SDK's general helpers build. Each Output is
// about fifteen promises and a proxy, and a cluster makes hundreds of them: they were the largest
// part of the component's own construction cost (docs/benchmarks.md).
import * as pulumi from "@pulumi/pulumi";
import { isPlain } from "./rules";

/** The tuple of `inputs`' values. */
export type Values<T extends readonly unknown[]> = { [K in keyof T]: pulumi.Unwrap<T[K]> };

/**
 * The values of `inputs` together, as `pulumi.all(inputs)` gives them, from one `apply` per Output
 * among them: `pulumi.all` wraps each Output it is given in two more before joining them, so this
 * builds about half as many. The result depends on every input's resources and is secret when any
 * input is (once known). One difference, of no consequence to the wiring that uses it: while an
 * input is unknown (at preview) the inputs after it are not awaited, so the unknown result is
 * secret only if the inputs up to it are. Use it for resource outputs, not for validation, which
 * must see every input's failure.
 */
export function allOf<T extends readonly unknown[]>(inputs: [...T]): pulumi.Output<Values<T>> {
    const values: unknown[] = new Array(inputs.length);
    const pending: [number, pulumi.Output<unknown>][] = [];
    inputs.forEach((input, i) => {
        if (pulumi.Output.isInstance(input)) {
            pending.push([i, input]);
        } else if (isPlain(input)) {
            values[i] = input;
        } else {
            // Outputs or promises inside a structure: the SDK's lifting, for this input only.
            pending.push([i, pulumi.output(input)]);
        }
    });
    if (pending.length === 0) {
        return pulumi.output(values) as unknown as pulumi.Output<Values<T>>;
    }
    const from = (k: number): pulumi.Output<unknown[]> => {
        const [index, output] = pending[k];
        return output.apply((value): pulumi.Input<unknown[]> => {
            values[index] = value;
            return k + 1 < pending.length ? from(k + 1) : values;
        }) as pulumi.Output<unknown[]>;
    };
    return from(0) as unknown as pulumi.Output<Values<T>>;
}

/** A record's values together, as `pulumi.all(record)` gives them (see allOf). */
export function allOfRecord<V>(
    record: Record<string, pulumi.Input<V>>,
): pulumi.Output<Record<string, pulumi.Unwrap<V>>> {
    const keys = Object.keys(record);
    return allOf(keys.map((k) => record[k])).apply((values) =>
        Object.fromEntries(keys.map((k, i) => [k, values[i] as pulumi.Unwrap<V>])),
    );
}
