// Output plumbing (src/core/outputs.ts): allOf and allOfRecord give what pulumi.all gives (values,
// secretness, the dependencies of a resource that takes the result) from fewer Output objects.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { allOf, allOfRecord } from "../../src/core/outputs";
import { resolve, runProgram } from "../../testing/program";

/** Output objects built until `work`'s Output has resolved (each carries the SDK's `__pulumiOutput` mark). */
async function outputsBuilt(work: () => pulumi.Output<unknown>): Promise<number> {
    const proto = Object.getPrototypeOf(pulumi.output(0)) as object;
    let built = 0;
    Object.defineProperty(proto, "__pulumiOutput", {
        configurable: true,
        set(this: object, value: boolean) {
            built++;
            Object.defineProperty(this, "__pulumiOutput", {
                value,
                writable: true,
                enumerable: true,
                configurable: true,
            });
        },
    });
    try {
        await resolve(work());
    } finally {
        delete (proto as Record<string, unknown>).__pulumiOutput;
    }
    return built;
}

describe("Output plumbing: allOf", () => {
    it("gives pulumi.all's values and secretness, and the result depends on every input's resource", async () => {
        const { result, mocks } = await runProgram(() => {
            const a = new random.RandomId("a", { byteLength: 4 });
            const b = new random.RandomPassword("b", { length: 12 });
            const inputs = [a.hex, "plain", b.result, [pulumi.output("x"), "y"], 7] as const;
            const ours = allOf([...inputs]);
            const sdk = pulumi.all([...inputs]);
            new random.RandomId("c", { byteLength: 4, keepers: { joined: ours.apply((v) => JSON.stringify(v)) } });
            return { ours, sdk };
        });
        const [ours, sdk] = [await resolve(result.ours), await resolve(result.sdk)];
        assert.deepEqual(ours, sdk);
        assert.equal(ours.secret, true, "the password is secret, so the values together are");
        assert.deepEqual(
            mocks
                .optionsOf(mocks.named("c"))!
                .dependencies.map((urn) => urn.split("::").pop())
                .sort(),
            ["a", "b"],
        );
    });

    it("is not secret when no input is, and takes plain inputs as they are", async () => {
        const { result } = await runProgram(() => {
            new random.RandomId("a", { byteLength: 4 });
            return { none: allOf([]), plain: allOf(["x", 1]), open: allOf([pulumi.output("x"), "y"]) };
        });
        assert.deepEqual(await resolve(result.none), { value: [], secret: false });
        assert.deepEqual(await resolve(result.plain), { value: ["x", 1], secret: false });
        assert.deepEqual(await resolve(result.open), { value: ["x", "y"], secret: false });
    });

    it("gives pulumi.all's record with allOfRecord", async () => {
        const { result } = await runProgram(() => {
            new random.RandomId("a", { byteLength: 4 });
            const record = { x: pulumi.output("1"), y: "2", z: pulumi.secret("3") };
            return { ours: allOfRecord(record), sdk: pulumi.all(record) };
        });
        assert.deepEqual(await resolve(result.ours), await resolve(result.sdk));
        assert.deepEqual(await resolve(result.ours), { value: { x: "1", y: "2", z: "3" }, secret: true });
    });

    it("builds about half the Outputs pulumi.all builds for the same inputs", async () => {
        const inputs = Array.from({ length: 20 }, (_, i) => pulumi.output(`v${i}`));
        const ours = await outputsBuilt(() => allOf(inputs).apply((v) => v.length));
        const sdk = await outputsBuilt(() => pulumi.all(inputs).apply((v) => v.length));
        assert.ok(ours * 2 <= sdk + 4, `allOf ${ours}, pulumi.all ${sdk}`);
    });
});
