// The rendered flags against the installed etcd's own help text, not just our table.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";
import { installedEtcdVersion } from "../../agent/etcdBinary";

describe("flags against the installed etcd binary", function () {
    it("renders only flags that `etcd --help` of the installed version lists", () => {
        const version = parseEtcdVersion(installedEtcdVersion())!;
        const help = execFileSync("etcd", ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const known = new Set([...help.matchAll(/^\s+(--[a-z0-9-]+)/gm)].map((m) => m[1]));
        assert.ok(known.size > 50, "help text parsed");
        const members = [
            { name: "a", ip: "10.0.0.1" },
            { name: "b", ip: "10.0.0.2" },
        ];
        const flags = renderEtcdFlags({ member: members[0], members, clusterToken: "t", version });
        const unknown = flags.map((f) => f.split("=")[0]).filter((f) => !known.has(f));
        assert.deepEqual(unknown, [], `etcd ${version.text} does not know ${unknown.join(", ")}`);
    });
});
