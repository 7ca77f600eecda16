// Which etcd `npm run demo` runs: the one on PATH, Debian's fetched into the per-user cache, or a clear
// failure that says what to install (testing/demoEtcd.ts; the fetch itself runs in test/e2e/demo.test.ts).
import { strict as assert } from "assert";
import * as path from "path";
import { chooseEtcd, DEMO_ETCD_LINE, etcdCacheDir, EtcdChoice, releaseMatches } from "../../testing/demoEtcd";
import { etcdVersionProblem } from "../../src/manifests/etcdVersion";
import { EtcdBinary } from "../../agent/etcdBinary";

const CACHE = "/home/u/.cache/secure-etcd/etcd";
const system34 = { path: "/usr/bin/etcd", version: "3.4.23" };
const local35 = { path: "/opt/etcd/etcd", version: "3.5.30" };

const NONE = null;
/** The choice with `onPath` (system34 unless given; NONE: no etcd on PATH). */
const choose = (requested: string | undefined, onPath: EtcdBinary | null = system34, canFetch = true) =>
    chooseEtcd({ requested, onPath: onPath ?? undefined, canFetch, cacheDir: CACHE });

function message(choice: EtcdChoice): string {
    assert.equal(choice.kind, "fail", JSON.stringify(choice));
    return (choice as { message: string }).message;
}

describe("demo: which etcd it runs", () => {
    it("runs the etcd on PATH when nothing is asked for, whatever its line", () => {
        assert.deepEqual(choose(undefined), { kind: "use", etcd: system34 });
        assert.deepEqual(choose(undefined, local35), { kind: "use", etcd: local35 });
    });

    it("runs the etcd on PATH when it is the requested line or release", () => {
        assert.deepEqual(choose("3.4"), { kind: "use", etcd: system34 });
        assert.deepEqual(choose("3.4.23"), { kind: "use", etcd: system34 });
        assert.deepEqual(choose("3.5", local35), { kind: "use", etcd: local35 });
        assert.deepEqual(choose("3.5.30-2", local35), { kind: "use", etcd: local35 });
    });

    it("without etcd on PATH: fetches the newest 3.5 into the per-user cache, one directory per request", () => {
        assert.deepEqual(choose(undefined, NONE), {
            kind: "fetch",
            request: "3.5",
            dir: path.join(CACHE, "3.5"),
            why: "no etcd on PATH",
        });
        assert.equal(DEMO_ETCD_LINE, "3.5");
        assert.deepEqual(choose("3.5.16", NONE), {
            kind: "fetch",
            request: "3.5.16",
            dir: path.join(CACHE, "3.5.16"),
            why: "no etcd on PATH",
        });
    });

    it("fetches the requested line or release when PATH has another", () => {
        assert.deepEqual(choose("3.5"), {
            kind: "fetch",
            request: "3.5",
            dir: path.join(CACHE, "3.5"),
            why: "etcd 3.4.23 on PATH is not the requested 3.5",
        });
        const pinned = choose("3.5.16", local35);
        assert.equal(pinned.kind, "fetch");
        assert.equal((pinned as { dir: string }).dir, path.join(CACHE, "3.5.16"));
    });

    it("the default line is one the component renders for, and not the end-of-life 3.4", () => {
        assert.equal(etcdVersionProblem(`${DEMO_ETCD_LINE}.0`), undefined);
        assert.notEqual(DEMO_ETCD_LINE, "3.4");
    });

    it("without apt-get (not Debian): fails, saying exactly what to install", () => {
        const none = message(choose(undefined, NONE, false));
        assert.match(none, /^no etcd on PATH, and this machine has no apt-get and dpkg-deb/);
        assert.match(none, /Install etcd 3\.5 \(its etcd and etcdctl binaries,.*\) so that `etcd` is on PATH/);
        const other = message(choose("3.5.16", system34, false));
        assert.match(other, /^etcd 3\.4\.23 on PATH is not the requested 3\.5\.16, .*Install etcd 3\.5\.16 /);
    });

    it("refuses a request that is not a line or release, before anything else", () => {
        for (const bad of ["v3.5", "latest", "3", "3.5;rm -rf /", "../3.5"]) {
            assert.match(message(choose(bad)), /is not an etcd line or release: give e\.g\. 3\.5, 3\.5\.16/, bad);
        }
    });

    it("matches lines, releases and Debian versions against a binary's release", () => {
        assert.ok(releaseMatches("3.5", "3.5.30"));
        assert.ok(!releaseMatches("3.5", "3.4.23"));
        assert.ok(!releaseMatches("3.5", "3.50.1"));
        assert.ok(releaseMatches("3.5.16", "3.5.16"));
        assert.ok(!releaseMatches("3.5.1", "3.5.16"));
        assert.ok(releaseMatches("3.5.16-4", "3.5.16"));
    });

    it("caches under $XDG_CACHE_HOME, or ~/.cache when it is unset or relative", () => {
        assert.equal(etcdCacheDir({ XDG_CACHE_HOME: "/var/cache/me" }, "/home/u"), "/var/cache/me/secure-etcd/etcd");
        assert.equal(etcdCacheDir({}, "/home/u"), "/home/u/.cache/secure-etcd/etcd");
        assert.equal(etcdCacheDir({ XDG_CACHE_HOME: "rel" }, "/home/u"), "/home/u/.cache/secure-etcd/etcd");
    });
});
