// Examples run under the mocks, so they cannot rot: they type-check with the rest of the
// suite and their resources and outputs are checked here.
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { runProgram, resolve } from "../harness/program";
import { certFacts } from "../harness/certs";

/** Loads an example program afresh (its module body is the program). */
function loadExample(name: string): Record<string, pulumi.Output<unknown>> {
    const modulePath = require.resolve(path.join(__dirname, "..", "..", "examples", name));
    delete require.cache[modulePath];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the example is the program to run
    return require(modulePath) as Record<string, pulumi.Output<unknown>>;
}

describe("examples", function () {
    it("basic: three members, the CA and every certificate exported, credentials secret", async () => {
        const { result, mocks } = await runProgram(() => {
            pulumi.runtime.setConfig(`${pulumi.getProject()}:vpcId`, "vpc-0a1b2c3d4e5f60718");
            return loadExample("basic");
        });
        assert.equal(mocks.ofType("aws:ec2/securityGroup:SecurityGroup")[0].inputs.vpcId, "vpc-0a1b2c3d4e5f60718");
        assert.match((await resolve(result.securityGroupId as pulumi.Output<string>)).value, /^sg-/);
        assert.equal(mocks.ofType("secure-etcd:index:SecureEtcdCluster").length, 1);
        assert.equal(mocks.ofType("tls:index/locallySignedCert:LocallySignedCert").length, 9);
        const ca = await resolve(result.caCertPem as pulumi.Output<string>);
        assert.equal(certFacts(ca.value).subjectCn, "etcd-ca");
        const creds = await resolve(result.clientCredentials);
        assert.equal(creds.secret, true);
        const certs = await resolve(result.certificates as pulumi.Output<{ id: string }[]>);
        assert.equal(certs.value.length, 11);
        assert.equal((await resolve(result.encryptionConfigYaml)).secret, true);
        const userData = await resolve(result.memberUserData as pulumi.Output<Record<string, string>>);
        assert.equal(userData.secret, false);
        assert.deepEqual(Object.keys(userData.value), ["etcd-0", "etcd-1", "etcd-2"]);
    });
});
