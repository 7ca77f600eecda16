// The flags rendered for each etcd line against what that release's own sources define. Only etcd
// 3.4.23 runs here (the e2e suite checks it against `etcd --help`); for 3.5, 3.6 and 3.7,
// scripts/etcd-flags-from-source.mjs reads etcd-io/etcd at a release tag and writes
// test/fixtures/etcd-flags/<tag>.json: each flag with the path:line that registers it, the flags the
// help text (`etcd --help`) lists, the server feature gates, and 3.6's map from each `--experimental-*`
// flag to its successor.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { MemberAddress, renderEtcdFlags } from "../../src/manifests/etcdFlags";
import { ETCD_FLAGS, flagKnown } from "../../src/manifests/etcdFlagTable";
import { parseEtcdVersion } from "../../src/manifests/etcdVersion";

interface FlagFixture {
    source: { repository: string; tag: string; commit: string; commitDate: string; files: Record<string, string> };
    flags: Record<string, string>;
    helpFlags: string[];
    featureGates: Record<string, { default: boolean; preRelease: string | null }> | null;
    replacedExperimentalFlags: Record<string, string>;
}

const FIXTURES = path.join(__dirname, "../../../test/fixtures/etcd-flags");
const fixture = (tag: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${tag}.json`), "utf8")) as FlagFixture;

/** The first and the latest release of each line, as the fixtures hold them. */
const TAGS = ["v3.5.0", "v3.5.33", "v3.6.0", "v3.6.14", "v3.7.0", "v3.7.1"];

const routable: MemberAddress[] = [
    { name: "etcd-0", ip: "10.0.1.10" },
    { name: "etcd-1", ip: "10.0.1.11" },
    { name: "etcd-2", ip: "fd00::12" },
];
const loopback: MemberAddress[] = [
    { name: "etcd-0", ip: "127.0.0.1" },
    { name: "etcd-1", ip: "127.0.0.2" },
    { name: "etcd-2", ip: "127.0.0.3" },
];

/** Every flag the package renders for a version, over the member layouts and options that change them. */
function renderedFlags(versionText: string): string[] {
    const version = parseEtcdVersion(versionText)!;
    const flags = new Set<string>();
    for (const members of [routable, loopback]) {
        for (const member of members) {
            for (const exposeMetrics of [false, true]) {
                renderEtcdFlags({ member, members, clusterToken: "prod", version, exposeMetrics }).forEach((f) =>
                    flags.add(f),
                );
            }
        }
    }
    return [...flags];
}

const nameOf = (flag: string) => flag.split("=")[0];
const valueOf = (flag: string) => flag.slice(flag.indexOf("=") + 1);

/** The gates the rendered `--feature-gates=A=true,B=false` flags set. */
function gatesOf(flags: string[]): Map<string, string> {
    const gates = new Map<string, string>();
    for (const f of flags.filter((f) => nameOf(f) === "--feature-gates")) {
        for (const pair of valueOf(f).split(",")) {
            const [gate, value] = pair.split("=");
            gates.set(gate, value);
        }
    }
    return gates;
}

describe("etcd flags against etcd's own sources", function () {
    it("each fixture names the etcd tag, commit and files it was read from", () => {
        for (const tag of TAGS) {
            const f = fixture(tag);
            assert.equal(f.source.repository, "https://github.com/etcd-io/etcd", tag);
            assert.equal(f.source.tag, tag);
            assert.match(f.source.commit, /^[0-9a-f]{40}$/, tag);
            assert.ok("server/etcdmain/help.go" in f.source.files, tag);
            assert.ok(Object.keys(f.flags).length > 90, `${tag}: flags parsed`);
            assert.ok(f.helpFlags.length > 80, `${tag}: help text parsed`);
            for (const where of Object.values(f.flags)) {
                assert.ok(where.split(":")[0] in f.source.files, `${tag}: ${where} is a recorded file`);
            }
        }
    });

    for (const tag of TAGS) {
        const versionText = tag.slice(1);

        it(`${versionText}: every rendered flag is one the sources register and the help text lists`, () => {
            const f = fixture(tag);
            const names = [...new Set(renderedFlags(versionText).map(nameOf))];
            assert.deepEqual(
                names.filter((n) => !(n in f.flags)),
                [],
                `not registered at ${tag}`,
            );
            assert.deepEqual(
                names.filter((n) => !f.helpFlags.includes(n)),
                [],
                `not in the help text at ${tag}`,
            );
        });

        it(`${versionText}: every rendered feature gate is one the sources define`, () => {
            const gates = [...gatesOf(renderedFlags(versionText)).keys()];
            const defined = fixture(tag).featureGates ?? {};
            assert.deepEqual(
                gates.filter((g) => !(g in defined)),
                [],
            );
        });

        it(`${versionText}: the flag table agrees with the sources on every flag it lists`, () => {
            const f = fixture(tag);
            const version = parseEtcdVersion(versionText)!;
            const disagree = Object.keys(ETCD_FLAGS).filter((name) => {
                const defined = name in f.flags;
                return flagKnown(name, version) !== defined;
            });
            assert.deepEqual(disagree, []);
        });
    }

    it("3.7 renders no --experimental-* flag, and its sources define none", () => {
        for (const tag of ["v3.7.0", "v3.7.1"]) {
            assert.deepEqual(
                renderedFlags(tag.slice(1)).filter((f) => f.startsWith("--experimental-")),
                [],
            );
            assert.deepEqual(
                Object.keys(fixture(tag).flags).filter((f) => f.startsWith("--experimental-")),
                [],
            );
        }
    });

    it("3.7 drops every --experimental-* flag 3.6 defines and defines every successor 3.6 names", () => {
        const v36 = fixture("v3.6.14");
        const v37 = fixture("v3.7.1");
        const experimental = Object.keys(v36.flags).filter((f) => f.startsWith("--experimental-"));
        assert.ok(experimental.length > 20);
        assert.deepEqual(
            experimental.filter((f) => f in v37.flags),
            [],
        );
        for (const [old, successor] of Object.entries(v36.replacedExperimentalFlags)) {
            const defined = successor.startsWith("--feature-gates=")
                ? successor.slice("--feature-gates=".length) in (v37.featureGates ?? {})
                : successor in v37.flags;
            assert.ok(defined, `${old} -> ${successor}`);
        }
    });

    it("where 3.6 moved a flag rendered for 3.5, 3.6 and 3.7 render the successor it names, same value", () => {
        const moved = fixture("v3.6.14").replacedExperimentalFlags;
        const experimental = renderedFlags("3.5.33").filter((f) => f.startsWith("--experimental-"));
        assert.deepEqual(experimental.map(nameOf).sort(), [
            "--experimental-initial-corrupt-check",
            "--experimental-watch-progress-notify-interval",
        ]);
        for (const versionText of ["3.6.14", "3.7.1"]) {
            const flags = renderedFlags(versionText);
            for (const f of experimental) {
                const successor = moved[nameOf(f)];
                assert.ok(successor, `3.6 names a successor for ${nameOf(f)}`);
                if (successor.startsWith("--feature-gates=")) {
                    const gate = successor.slice("--feature-gates=".length);
                    assert.equal(gatesOf(flags).get(gate), valueOf(f), `${versionText}: ${gate}`);
                } else {
                    assert.ok(flags.includes(`${successor}=${valueOf(f)}`), `${versionText}: ${successor}`);
                }
            }
        }
    });
});
