// The rotation guard's record as pure functions: where a cluster's ring is recorded, what the
// record holds, how a listing is read back (a garbled record is refused with a repair, not a
// crash), and the guard's verdict.
import { strict as assert } from "assert";
import { EncryptionProvider } from "../../src";
import {
    keyRingCheck,
    keyRingParameter,
    keyRingRecordValue,
    parseKeyRingRecord,
    recordedKeyRing,
} from "../../src/encryption/keyRingRecord";

const ring = (...keyNames: string[]) => ({ provider: EncryptionProvider.Secretbox, keyNames });
/** SSM's rules for a parameter name in a hierarchy. */
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+){2,15}$/;

describe("key-ring record: where it lives", () => {
    it("is /secure-etcd/<project>/<stack>/<component name>/key-ring, listed by its own path", () => {
        assert.deepEqual(keyRingParameter("platform", "prod", "etcd-main"), {
            path: "/secure-etcd/platform/prod/etcd-main",
            name: "/secure-etcd/platform/prod/etcd-main/key-ring",
        });
        assert.deepEqual(keyRingParameter("my_project.v2", "dev-1", "A.b_c"), {
            path: "/secure-etcd/my_project.v2/dev-1/A.b_c",
            name: "/secure-etcd/my_project.v2/dev-1/A.b_c/key-ring",
        });
    });

    it("differs for every project, stack and component name", () => {
        const names = [
            keyRingParameter("p", "s", "c").name,
            keyRingParameter("p", "s", "d").name,
            keyRingParameter("p", "t", "c").name,
            keyRingParameter("q", "s", "c").name,
        ];
        assert.equal(new Set(names).size, names.length);
    });

    it("turns a component name SSM would refuse into a readable level and a digest, one-to-one", () => {
        const odd = ["prod*", "prod etcd", "prod/etcd", "prod_etcd?", ".", "..", "é", "x".repeat(129), ""];
        const plainLookalikes = ["prod_", "prod_etcd", "prod_etcd_", "_", "x".repeat(128)];
        const all = [...odd, ...plainLookalikes].map((c) => keyRingParameter("p", "s", c));
        for (const { name, path } of all) {
            assert.match(name, SSM_NAME, name);
            assert.equal(name, `${path}/key-ring`);
            assert.ok(name.length < 1011 - "arn:aws:ssm:ap-southeast-2:123456789012:parameter".length, name);
        }
        assert.equal(new Set(all.map((p) => p.name)).size, all.length, "two names share a record");
        // A name that needs the digest sits one level deeper than any plain name, so no listing of a
        // plain name's path (which is not recursive) ever includes it.
        assert.match(keyRingParameter("p", "s", "prod*").path, /^\/secure-etcd\/p\/s\/prod_\/sha256-[0-9a-f]{32}$/);
        assert.equal(keyRingParameter("p", "s", "prod_").path, "/secure-etcd/p/s/prod_");
    });

    it("refuses a project or stack name Pulumi itself would refuse (it cannot happen under the CLI)", () => {
        assert.throws(() => keyRingParameter("my project", "prod", "c"), /project name "my project" is not a Pulumi/);
        assert.throws(() => keyRingParameter("p", "org/prod", "c"), /stack name "org\/prod" is not a Pulumi/);
    });
});

describe("key-ring record: what it holds and how it is read", () => {
    const name = "/secure-etcd/p/s/prod/key-ring";

    it("holds the provider and the key names in order as JSON, and reads back the same ring", () => {
        const value = keyRingRecordValue(ring("key-2", "key-1"));
        assert.equal(value, '{"provider":"secretbox","keyNames":["key-2","key-1"]}');
        assert.deepEqual(parseKeyRingRecord(name, value), ring("key-2", "key-1"));
        const kms = { provider: EncryptionProvider.Kms, keyNames: [] };
        assert.deepEqual(parseKeyRingRecord(name, keyRingRecordValue(kms)), kms);
    });

    it("refuses a garbled value with a message naming the parameter and the repair, never a crash", () => {
        const cases: [string, RegExp][] = [
            ["", /it is not JSON/],
            ['{"provider":"secretbox","keyNames":["key-1"', /it is not JSON/],
            ["null", /it is not a JSON object/],
            ['["key-1"]', /it is not a JSON object/],
            ['"secretbox"', /it is not a JSON object/],
            ['{"keyNames":["key-1"]}', /its provider undefined is none of secretbox, aesgcm, aescbc, kms/],
            ['{"provider":"plaintext","keyNames":[]}', /its provider "plaintext" is none of/],
            ['{"provider":"secretbox"}', /its keyNames is not a list of key names/],
            ['{"provider":"secretbox","keyNames":"key-1"}', /its keyNames is not a list of key names/],
            ['{"provider":"secretbox","keyNames":["key-1",2]}', /its keyNames is not a list of key names/],
            ['{"provider":"secretbox","keyNames":[""]}', /its keyNames is not a list of key names/],
        ];
        for (const [value, why] of cases) {
            let error: unknown;
            try {
                parseKeyRingRecord(name, value);
            } catch (e) {
                error = e;
            }
            assert.ok(error instanceof Error, `accepted ${JSON.stringify(value)}`);
            assert.match(
                error.message,
                /^the key ring recorded in SSM parameter \/secure-etcd\/p\/s\/prod\/key-ring is unreadable: /,
            );
            assert.match(error.message, why, value);
            assert.ok(error.message.includes(`aws ssm get-parameter-history --name ${name}`), value);
            assert.ok(error.message.includes('{"provider":"secretbox","keyNames":["key-1"]}'), value);
        }
    });

    it("finds the record by its exact name in a listing; none listed is a first deployment", () => {
        const listing = {
            names: ["/secure-etcd/p/s/prod/other", name],
            values: ["not a ring", keyRingRecordValue(ring("key-1"))],
        };
        assert.deepEqual(recordedKeyRing(listing, name), ring("key-1"));
        assert.equal(recordedKeyRing({ names: [], values: [] }, name), undefined);
        assert.equal(recordedKeyRing({ names: ["/secure-etcd/p/s/prod/other"], values: ["x"] }, name), undefined);
    });
});

describe("key-ring record: the guard's verdict", () => {
    const name = "/secure-etcd/p/s/prod/key-ring";
    const listed = (...keyNames: string[]) => ({ names: [name], values: [keyRingRecordValue(ring(...keyNames))] });

    it("lets a first deployment and every safe step go ahead", () => {
        assert.equal(keyRingCheck("prod", name, { names: [], values: [] }, ring("key-1")), undefined);
        assert.equal(keyRingCheck("prod", name, listed("key-1"), ring("key-1", "key-2")), undefined);
        assert.equal(keyRingCheck("prod", name, listed("key-1", "key-2"), ring("key-2", "key-1")), undefined);
        assert.equal(keyRingCheck("prod", name, listed("key-2", "key-1"), ring("key-2")), undefined);
    });

    it("stops an unsafe step with one message: both rings, the record, and every problem", () => {
        const message = keyRingCheck("prod", name, listed("key-1"), ring("key-2"))!;
        const lines = message.split("\n");
        assert.equal(
            lines[0],
            'SecureEtcdCluster "prod" refuses this update before changing anything: deployed secretbox [key-1] (recorded in SSM parameter /secure-etcd/p/s/prod/key-ring), in the program secretbox [key-2].',
        );
        assert.match(message, /\nencryptionKeyNames: "key-1" encrypts everything written since it became first/);
        assert.match(message, /\nencryptionKeyNames: "key-2" is new and would encrypt at once/);
        assert.match(message, /1\. add the new key second/);
        const provider = keyRingCheck("prod", name, listed("key-1"), {
            provider: EncryptionProvider.Kms,
            keyNames: [],
        });
        assert.match(provider!, /in the program kms\.\nencryptionProvider: changing secretbox to kms in place/);
    });

    it("stops on a record it cannot read, rather than guessing", () => {
        const message = keyRingCheck("prod", name, { names: [name], values: ["{"] }, ring("key-1"));
        assert.match(
            message!,
            /^SecureEtcdCluster "prod" cannot check this update of encryption at rest, so it changes nothing: the key ring recorded in SSM parameter \/secure-etcd\/p\/s\/prod\/key-ring is unreadable: it is not JSON/,
        );
    });
});
