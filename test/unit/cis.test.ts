import { strict as assert } from "assert";
import * as YAML from "yaml";
import { checkEtcdMember, MemberArtifactsForCis } from "../../src/cis/etcdChecks";
import { NodeFile } from "../../src";
import { buildCluster } from "../harness/cluster";

async function artifactsOf(args: Parameters<typeof buildCluster>[0]): Promise<MemberArtifactsForCis[]> {
    const built = await buildCluster(args);
    return Object.values(built.outputs.nodeFiles.value).map((files: NodeFile[]) => {
        const manifest = files.find((f) => f.path === "/etc/kubernetes/manifests/etcd.yaml")!;
        const pod = YAML.parse(manifest.content) as {
            spec: { containers: { command: string[]; securityContext: { runAsUser: number } }[] };
        };
        return {
            command: pod.spec.containers[0].command,
            runAsUser: pod.spec.containers[0].securityContext.runAsUser,
            manifestPath: manifest.path,
            nodeFiles: files,
            kubernetesCaCertPem: "-----BEGIN CERTIFICATE-----\nkubernetes-ca\n-----END CERTIFICATE-----\n",
        };
    });
}

const IDS = [
    "2.1",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.7",
    "1.1.7",
    "1.1.8",
    "1.1.11",
    "1.1.12",
    "1.1.19",
    "1.1.20",
    "1.1.21",
];

describe("CIS checks over a member's rendered artifacts", function () {
    let base: MemberArtifactsForCis;
    before(async () => {
        base = (await artifactsOf({ members: [{ name: "etcd-0", ip: "10.0.1.10" }] }))[0];
    });

    it("passes every check for the defaults", () => {
        const results = checkEtcdMember(base);
        assert.deepEqual(
            results.map((r) => r.id),
            IDS,
        );
        assert.deepEqual(
            results.filter((r) => !r.pass),
            [],
        );
    });

    it("passes every check for custom args (3.4, RSA, another uid, three members)", async () => {
        const all = await artifactsOf({
            members: [
                { name: "a", ip: "10.0.0.1" },
                { name: "b", ip: "10.0.0.2" },
                { name: "c", ip: "fd00::3" },
            ],
            etcdVersion: "3.4.23",
            etcdUid: 5000,
            etcdGid: 5001,
        });
        for (const a of all) {
            assert.deepEqual(
                checkEtcdMember(a).filter((r) => !r.pass),
                [],
            );
        }
    });

    const withFlag = (name: string, value: string | undefined) => ({
        ...base,
        command: [
            ...base.command.filter((f) => !f.startsWith(`${name}=`)),
            ...(value === undefined ? [] : [`${name}=${value}`]),
        ],
    });
    const withFile = (path: string, change: Partial<NodeFile>) => ({
        ...base,
        nodeFiles: base.nodeFiles.map((f) => (f.path === path ? { ...f, ...change } : f)),
    });
    const failing: [string, () => MemberArtifactsForCis][] = [
        ["2.1", () => withFlag("--key-file", undefined)],
        ["2.2", () => withFlag("--client-cert-auth", "false")],
        ["2.3", () => withFlag("--auto-tls", "true")],
        ["2.4", () => withFlag("--peer-cert-file", undefined)],
        ["2.5", () => withFlag("--peer-client-cert-auth", "false")],
        ["2.6", () => withFlag("--peer-auto-tls", "true")],
        [
            "2.7",
            () => ({
                ...base,
                kubernetesCaCertPem: base.nodeFiles.find((f) => f.path === "/etc/kubernetes/pki/etcd/ca.crt")!.content,
            }),
        ],
        ["1.1.7", () => withFile("/etc/kubernetes/manifests/etcd.yaml", { mode: "0644" })],
        ["1.1.8", () => withFile("/etc/kubernetes/manifests/etcd.yaml", { owner: "1000:0" })],
        ["1.1.11", () => withFile("/var/lib/etcd", { mode: "0750" })],
        ["1.1.12", () => withFile("/var/lib/etcd", { owner: "0:0" })],
        ["1.1.19", () => withFile("/etc/kubernetes/pki/etcd/ca.crt", { owner: "2379:2379" })],
        ["1.1.20", () => withFile("/etc/kubernetes/pki/etcd/server.crt", { mode: "0666" })],
        ["1.1.21", () => withFile("/etc/kubernetes/pki/etcd/peer.key", { mode: "0640" })],
    ];
    for (const [id, make] of failing) {
        it(`fails ${id} when its setting is broken, and only ${id}`, () => {
            const failed = checkEtcdMember(make()).filter((r) => !r.pass);
            assert.deepEqual(
                failed.map((r) => r.id),
                [id],
            );
        });
    }
});
