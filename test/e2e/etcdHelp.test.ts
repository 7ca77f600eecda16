// The rendered flags against the running etcd's own help text, not just our table: the etcd on PATH
// (the e2e suite runs once per etcd line, each with that line's etcd first on PATH).
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";
import { installedEtcd } from "../../agent/etcdBinary";

describe("flags against the installed etcd binary", function () {
    it("renders only flags that `etcd --help` of the etcd on PATH lists, for that etcd's release", function () {
        const etcd = installedEtcd();
        const version = parseEtcdVersion(etcd.version)!;
        this.test!.title += ` (etcd ${etcd.version}, ${etcd.path})`;
        const help = execFileSync(etcd.path, ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
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
