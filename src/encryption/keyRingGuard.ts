// A resource whose only job is to remember which key names were deployed last, so the engine can
// refuse an update that would make stored data unreadable. A dynamic provider's `check` sees the
// previous inputs and the new ones at preview time, before anything changes.
import * as pulumi from "@pulumi/pulumi";
import { KeyRing, keyRingTransitionProblems } from "./rotation";

interface KeyRingInputs {
    provider: KeyRing["provider"];
    keyNames: string[];
}

function asKeyRing(inputs: Partial<KeyRingInputs> | undefined): KeyRing | undefined {
    return inputs?.provider === undefined ? undefined : { provider: inputs.provider, keyNames: inputs.keyNames ?? [] };
}

/** Plain object (not a class) so the SDK can serialize it for the engine's dynamic provider host. */
export const keyRingGuardProvider: pulumi.dynamic.ResourceProvider<KeyRingInputs, KeyRingInputs> = {
    check(olds: Partial<KeyRingInputs>, news: KeyRingInputs): Promise<pulumi.dynamic.CheckResult<KeyRingInputs>> {
        const problems = keyRingTransitionProblems(asKeyRing(olds), {
            provider: news.provider,
            keyNames: news.keyNames,
        });
        return Promise.resolve({
            inputs: news,
            failures: problems.map((reason) => ({ property: "keyNames", reason })),
        });
    },
    diff(_id: string, olds: KeyRingInputs, news: KeyRingInputs): Promise<pulumi.dynamic.DiffResult> {
        const changes =
            olds.provider !== news.provider || JSON.stringify(olds.keyNames) !== JSON.stringify(news.keyNames);
        return Promise.resolve({ changes, replaces: [], deleteBeforeReplace: false });
    },
    create(inputs: KeyRingInputs): Promise<pulumi.dynamic.CreateResult<KeyRingInputs>> {
        return Promise.resolve({ id: "key-ring", outs: inputs });
    },
    update(
        _id: string,
        _olds: KeyRingInputs,
        news: KeyRingInputs,
    ): Promise<pulumi.dynamic.UpdateResult<KeyRingInputs>> {
        return Promise.resolve({ outs: news });
    },
};

/** The type token the engine sees for a KeyRingGuard. */
export const KEY_RING_GUARD_TYPE = "pulumi-nodejs:dynamic/secure-etcd:KeyRingGuard";

export class KeyRingGuard extends pulumi.dynamic.Resource {
    public readonly keyNames!: pulumi.Output<string[]>;

    constructor(name: string, ring: KeyRing, opts?: pulumi.CustomResourceOptions) {
        super(
            keyRingGuardProvider,
            name,
            { provider: ring.provider, keyNames: ring.keyNames },
            opts,
            "secure-etcd",
            "KeyRingGuard",
        );
    }
}
