// Membership as code, the pure parts: the guard's verdict on a change of `members` against the
// record, and the membership credential (a real X.509 client certificate, checked by openssl).
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { credentialHolders, decideMembership, membershipRecordValue, RecordedMember } from "../../src/nodes/membership";
import { issueMembershipCredential } from "../../src/pki/membershipCredential";
import { certFacts, keyMatches } from "../harness/certs";

const member = (i: number, ip = `10.0.1.${10 + i}`): RecordedMember => ({ name: `etcd-${i}`, ip });
const THREE = [0, 1, 2].map((i) => member(i));
const NOW = Date.parse("2026-11-30T12:00:00Z");
const HOUR = 3600_000;

/** The record of a deployment of `members` (as founders), then each later set in turn. */
function deployed(...sets: RecordedMember[][]): string {
    let text: string | undefined;
    for (const set of sets) {
        const decision = decideMembership(text, set, NOW, 24);
        assert.equal(decision.refusal, undefined);
        text = membershipRecordValue(decision.record);
    }
    return text!;
}

describe("membership: the guard's verdict", () => {
    it("a new cluster: every member founds it, nothing pending", () => {
        const d = decideMembership(undefined, THREE, NOW, 24);
        assert.deepEqual(d.record.founders, ["etcd-0", "etcd-1", "etcd-2"]);
        assert.deepEqual(d.joiners, []);
        assert.equal(d.pending, undefined);
    });

    it("growing by one: the new member joins, holds the credential; an even size is warned about", () => {
        const d = decideMembership(deployed(THREE), [...THREE, member(3)], NOW, 24);
        assert.equal(d.refusal, undefined);
        assert.deepEqual(d.joiners, ["etcd-3"]);
        assert.deepEqual(d.pending?.joining, member(3));
        assert.equal(d.pending?.leaving, undefined);
        assert.deepEqual(credentialHolders(d.pending), ["etcd-3"]);
        assert.match(d.warnings.join("\n"), /growing to 4 members.*add the next member/);
    });

    it("shrinking by one: the first remaining member removes the leaver", () => {
        const five = [0, 1, 2, 3, 4].map((i) => member(i));
        const d = decideMembership(deployed(five), five.slice(1), NOW, 24);
        assert.equal(d.refusal, undefined);
        assert.deepEqual(d.pending?.leaving, member(0));
        assert.equal(d.pending?.remover, "etcd-1");
        assert.deepEqual(credentialHolders(d.pending), ["etcd-1"]);
        assert.match(d.warnings.join("\n"), /shrinking to 4/);
    });

    it("a replacement (same name, new address, or a new name) is one change; the replaced member is no founder", () => {
        const moved = [member(0), member(1), member(2, "10.0.1.99")];
        const d = decideMembership(deployed(THREE), moved, NOW, 24);
        assert.equal(d.refusal, undefined);
        assert.deepEqual(d.joiners, ["etcd-2"]);
        assert.deepEqual(d.pending?.leaving, member(2));
        assert.deepEqual(d.pending?.joining, member(2, "10.0.1.99"));
        assert.deepEqual(credentialHolders(d.pending), ["etcd-2", "etcd-0"]);
        assert.ok(!d.record.founders.includes("etcd-2"));
        const renamed = decideMembership(deployed(THREE), [member(0), member(1), member(7)], NOW, 24);
        assert.equal(renamed.refusal, undefined);
        assert.match(renamed.warnings.join("\n"), /replacing etcd-2 \(10\.0\.1\.12\) with etcd-7.*2 voting members/);
    });

    it("refuses two changes at once, naming them and what to do instead", () => {
        const d = decideMembership(deployed(THREE), [...THREE, member(3), member(4)], NOW, 24);
        assert.match(
            d.refusal ?? "",
            /^this update changes 2 members at once \(joining etcd-3 \(10\.0\.1\.13\), etcd-4 \(10\.0\.1\.14\); deployed: .*\)\. etcd changes membership one member at a time/,
        );
        const two = decideMembership(deployed(THREE), [member(0)], NOW, 24);
        assert.match(two.refusal ?? "", /changes 2 members at once \(leaving etcd-1/);
        const swap = decideMembership(deployed(THREE), [member(0), member(5), member(6)], NOW, 24);
        assert.match(swap.refusal ?? "", /changes 4 members at once/);
    });

    it("refuses what would leave no cluster: removing or replacing the only member", () => {
        const one = deployed([member(0)]);
        assert.match(
            decideMembership(one, [member(1)], NOW, 24).refusal ?? "",
            /the only member.*Add the new member beside it first/,
        );
        assert.match(decideMembership(one, [], NOW, 24).refusal ?? "", /the only member, which would leave no cluster/);
    });

    it("keeps the change pending (and its credential) for credentialHours, then drops it", () => {
        const grown = deployed(THREE, [...THREE, member(3)]);
        const four = [...THREE, member(3)];
        const soon = decideMembership(grown, four, NOW + 23 * HOUR, 24);
        assert.deepEqual(soon.pending?.joining, member(3));
        assert.deepEqual(soon.warnings, []);
        const later = decideMembership(grown, four, NOW + 25 * HOUR, 24);
        assert.equal(later.pending, undefined);
        assert.deepEqual(
            later.joiners,
            ["etcd-3"],
            "a member that joined stays a joiner (initial-cluster-state=existing)",
        );
    });
});

describe("membership: the credential", () => {
    let dir: string;
    let ca: { certPem: string; keyPem: string };

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "membership-"));
        execFileSync(
            "openssl",
            [
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "10",
                "-subj",
                "/CN=etcd-ca",
                "-keyout",
                `${dir}/ca.key`,
                "-out",
                `${dir}/ca.crt`,
            ],
            { stdio: "ignore" },
        );
        ca = { certPem: fs.readFileSync(`${dir}/ca.crt`, "utf8"), keyPem: fs.readFileSync(`${dir}/ca.key`, "utf8") };
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const issue = (changeId: string) =>
        issueMembershipCredential({
            caCertPem: ca.certPem,
            caKeyPem: ca.keyPem,
            commonName: "secure-etcd-membership",
            changeId,
            notBefore: new Date(),
            validityHours: 6,
        });

    it("is a client certificate of the etcd CA that openssl accepts, valid for the hours asked", () => {
        const cred = issue("abc");
        fs.writeFileSync(`${dir}/m.crt`, cred.certPem);
        const out = execFileSync(
            "openssl",
            ["verify", "-CAfile", `${dir}/ca.crt`, "-purpose", "sslclient", `${dir}/m.crt`],
            {
                encoding: "utf8",
            },
        );
        assert.match(out, /m\.crt: OK/);
        const facts = certFacts(cred.certPem);
        assert.equal(facts.subjectCn, "secure-etcd-membership");
        const x = new crypto.X509Certificate(cred.certPem);
        const hours = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / HOUR;
        assert.ok(hours > 6 && hours < 6.2, `valid for ${hours} h`);
        assert.ok(keyMatches(cred.keyPem, cred.certPem));
        assert.equal(x.ca, false);
    });

    it("the same change renders the same bytes; another change another key", () => {
        const at = new Date("2026-11-30T12:00:00Z");
        const one = (id: string) =>
            issueMembershipCredential({
                ...ca,
                caCertPem: ca.certPem,
                caKeyPem: ca.keyPem,
                commonName: "m",
                changeId: id,
                notBefore: at,
                validityHours: 6,
            });
        assert.deepEqual(one("a"), one("a"));
        assert.notEqual(one("a").keyPem, one("b").keyPem);
    });
});
