// The argument rules as pure functions, without mocks: each rule declared once answers the same for
// plain values and for what Outputs resolve to; cross-member rules; the holes closed in the
// architecture change (member address scopes, private client sources, duplicate and world-covering
// CIDR sets, validity limits and the tls provider's overflow).
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { resolveArgs } from "../../src/component/resolveArgs";
import { givenArgs, validateArgs, validateComponentArgs } from "../../src/component/validate";
import { SecureEtcdClusterArgs } from "../../src";
import { argRule, isPlain, validate } from "../../src/core/rules";
import { memberAddressProblems, memberIpProblem } from "../../src/nodes/validate";
import { cidrListProblems, unionCoversAll } from "../../src/network/validate";
import { parseCidr, ParsedCidr } from "../../src/network/networkRules";
import { TLS_PROVIDER_MAX_VALIDITY_HOURS, validityProblems } from "../../src/pki/validate";
import { valueOf } from "../../testing/program";
import { refusedWhenResolved, TEST_VPC_ID, THREE_MEMBERS } from "../harness/cluster";

const LIMITS = { ipv4: 16, ipv6: 56 };
const paths = (problems: { path: string }[]) => problems.map((p) => p.path);
const base = (extra: Partial<SecureEtcdClusterArgs> = {}): SecureEtcdClusterArgs => ({
    members: THREE_MEMBERS,
    vpcId: TEST_VPC_ID,
    ...extra,
});

describe("argument rules: the engine", () => {
    it("tells plain values from Outputs at any depth", () => {
        assert.equal(isPlain({ a: [1, { b: "x" }] }), true);
        assert.equal(isPlain({ a: [1, { b: pulumi.output("x") }] }), false);
        assert.equal(isPlain([Promise.resolve(1)]), false);
    });

    it("runs a rule now on plain values, and defers it (holding back what it reads) on Outputs", async () => {
        const rule = argRule<{ n: unknown }, unknown>(
            ["n"],
            (a) => a.n,
            (n) => (n === 1 ? [] : [{ path: "n", reason: `${String(n)} is not 1` }]),
        );
        assert.deepEqual(validate("c", { n: 2 }, new Set(), [rule]).now, [{ path: "n", reason: "2 is not 1" }]);
        const later = validate("c", { n: pulumi.output(2) }, new Set(), [rule]);
        assert.deepEqual(later.now, []);
        assert.ok(later.gate);
        await assert.rejects(
            valueOf(later.args.n),
            /SecureEtcdCluster "c" has invalid arguments:\n {2}- n: 2 is not 1/,
        );
        const fine = validate("c", { n: pulumi.output(1) }, new Set(), [rule]);
        assert.equal(await valueOf(fine.args.n), 1);
    });

    it("reports each problem once, however many rules find it", () => {
        const twice = argRule<{ n: unknown }, unknown>(
            ["n"],
            () => 0,
            () => [{ path: "n", reason: "bad" }],
        );
        assert.deepEqual(validate("c", { n: 0 }, new Set(), [twice, twice]).now, [{ path: "n", reason: "bad" }]);
    });

    it("one bad client CN is reported once", () => {
        const problems = validateArgs(
            base({ clients: [{ name: "auditor", commonName: "kube-apiserver-etcd-client" }] }),
        );
        assert.equal(problems.filter((p) => p.path.startsWith("clients[0]")).length, 1);
    });

    it("applies every default in one place, and knows what the caller set", () => {
        const resolved = resolveArgs({ members: THREE_MEMBERS, clientCidrs: ["10.0.2.0/24"] });
        assert.deepEqual(resolved.hostFirewallClientCidrs, ["10.0.2.0/24"]);
        // The bucket's default lock (every frequent backup's): as long as a noncurrent version is kept.
        assert.equal(resolved.backupFrequentRetentionDays, 1);
        assert.equal(resolved.backupObjectLockDays, resolved.backupNoncurrentVersionRetentionDays);
        assert.equal(resolved.backupMaxAgeMinutes, 60);
        assert.equal(resolved.certificateExpiryWarningDays, 30);
        assert.deepEqual(resolved.clients, []);
        assert.deepEqual([...givenArgs({ members: [], vpcId: undefined, backups: false })], ["members", "backups"]);
    });
});

describe("argument rules: member addresses", () => {
    it("refuses link-local, unusable and (unless opted in) public addresses", () => {
        assert.match(memberIpProblem("169.254.10.1", false)!, /link-local/);
        assert.match(memberIpProblem("fe80::1", false)!, /link-local/);
        assert.match(memberIpProblem("224.0.0.1", false)!, /multicast/);
        assert.match(memberIpProblem("8.8.8.8", false)!, /public address.*allowPublicMemberIps/);
        assert.match(memberIpProblem("2600:1f18::10", false)!, /IPv6 addresses are global/);
        assert.equal(memberIpProblem("8.8.8.8", true), undefined);
        for (const ok of ["10.0.1.10", "172.31.0.4", "192.168.0.2", "100.64.1.1", "fd00::10"]) {
            assert.equal(memberIpProblem(ok, false), undefined, ok);
        }
    });

    it("accepts an all-loopback (single-host) cluster, refuses loopback beside routable members", () => {
        assert.deepEqual(memberAddressProblems(["127.0.0.1", "127.0.0.2", "127.0.0.3"], false), []);
        assert.deepEqual(paths(memberAddressProblems(["10.0.1.10", "127.0.0.1", "10.0.1.12"], false)), [
            "members[1].ip",
        ]);
    });

    it("finds duplicates after canonicalization", () => {
        assert.deepEqual(paths(memberAddressProblems(["fd00::1", "fd00:0::1"], false)), ["members[1].ip"]);
    });
});

describe("argument rules: client sources", () => {
    const cidrs = (list: string[]) => list.map((c) => parseCidr(c) as ParsedCidr);

    it("refuses duplicates, also after canonicalization", () => {
        const problems = cidrListProblems("clientCidrs", ["10.0.2.0/24", "10.0.2.7/24"], LIMITS, false);
        assert.deepEqual(paths(problems), ["clientCidrs[1]"]);
        assert.match(problems[0].reason, /is 10\.0\.2\.0\/24, already given as clientCidrs\[0\]/);
    });

    it("refuses ranges beyond the private ones unless opted in", () => {
        assert.deepEqual(paths(cidrListProblems("clientCidrs", ["203.0.113.0/24"], LIMITS, false)), ["clientCidrs[0]"]);
        assert.deepEqual(cidrListProblems("clientCidrs", ["203.0.113.0/24"], LIMITS, true), []);
        // A range that starts private and runs past its end is not private.
        assert.deepEqual(paths(cidrListProblems("clientCidrs", ["10.0.0.0/7"], { ipv4: 1, ipv6: 1 }, false)), [
            "clientCidrs[0]",
        ]);
    });

    it("refuses sets whose union is the whole internet, even when each one passes the limit", () => {
        assert.equal(unionCoversAll(cidrs(["0.0.0.0/1", "128.0.0.0/1"]), "ipv4"), true);
        assert.equal(unionCoversAll(cidrs(["0.0.0.0/1", "128.0.0.0/2"]), "ipv4"), false);
        assert.equal(unionCoversAll(cidrs(["::/1", "8000::/1"]), "ipv6"), true);
        const problems = cidrListProblems("clientCidrs", ["0.0.0.0/1", "128.0.0.0/1"], { ipv4: 1, ipv6: 1 }, true);
        assert.ok(problems.some((p) => p.path === "clientCidrs" && /whole internet/.test(p.reason)));
    });
});

describe("argument rules: certificate validity", () => {
    const limits = { maxCaValidityHours: 175200, maxCertificateValidityHours: 9552 };
    const valid = { caValidityHours: 87600, certificateValidityHours: 8760, certificateRenewalHours: 720, ...limits };

    it("caps leaves at the policy pack's 398 days and CAs at 20 years by default, both configurable", () => {
        assert.deepEqual(validityProblems(valid), []);
        assert.deepEqual(paths(validityProblems({ ...valid, certificateValidityHours: 9553 })), [
            "certificateValidityHours",
        ]);
        assert.deepEqual(paths(validityProblems({ ...valid, caValidityHours: 175201 })), ["caValidityHours"]);
        assert.deepEqual(
            validityProblems({ ...valid, certificateValidityHours: 20000, maxCertificateValidityHours: 20000 }),
            [],
        );
    });

    it("refuses limits the tls provider's duration arithmetic would overflow", () => {
        assert.equal(TLS_PROVIDER_MAX_VALIDITY_HOURS, 2562047);
        const problems = validityProblems({ ...valid, maxCaValidityHours: 3_000_000 });
        assert.deepEqual(paths(problems), ["maxCaValidityHours"]);
        assert.match(problems[0].reason, /overflows/);
    });

    it("the component refuses an over-long leaf before anything is created", () => {
        const problems = validateComponentArgs("c", base({ certificateValidityHours: 17520 })).now;
        assert.deepEqual(paths(problems), ["certificateValidityHours"]);
    });
});

describe("argument rules: Outputs at the component", function () {
    this.timeout(60_000);

    it("refuses duplicate member addresses given as Outputs, once, with nothing registered", async () => {
        const { error } = await refusedWhenResolved({
            members: [
                { name: "etcd-0", ip: pulumi.output("10.0.1.10") },
                { name: "etcd-1", ip: pulumi.output("10.0.1.10") },
                { name: "etcd-2", ip: "10.0.1.12" },
            ],
        });
        assert.deepEqual(
            error.errors.map((e) => e.propertyPath),
            ["members[1].ip"],
        );
        assert.match(error.message, /is already the address of members\[0\]/);
    });

    it("refuses an invalid address given as an Output with one clean message", async () => {
        const { error } = await refusedWhenResolved({
            members: [{ name: "etcd-0", ip: pulumi.output("10.0.1.300") }, ...THREE_MEMBERS.slice(1)],
        });
        assert.equal(
            error.message,
            'SecureEtcdCluster "late" has invalid arguments:\n  - members[0].ip: "10.0.1.300" is not an IPv4 or IPv6 address; give the member\'s private address, e.g. "10.0.1.10"',
        );
    });
});
