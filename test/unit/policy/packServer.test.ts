// The pack as `pulumi preview --policy-pack ./policy` runs it: the nodejs language host starts
// @pulumi/pulumi's policy-pack runner with the pack's directory as working directory and argument,
// the runner compiles index.ts with ts-node (type-checked) and the pack serves the analyzer gRPC
// protocol on the port it prints. The engine's side of that protocol is played here: analyzer info,
// configuration, and the resource and stack analyses.
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { createRequire } from "module";
import * as path from "path";
import * as analyzer from "@pulumi/pulumi/proto/analyzer_pb";
import { RULES } from "../../../policy/policies";
import { COMPONENT, TYPES } from "../../../policy/lib/types";
import { UNKNOWN } from "./policyHarness";

// gRPC and protobuf as @pulumi/pulumi resolves them: the generated client needs those very instances.
const fromPulumi = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = fromPulumi("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
type StructMessage = Parameters<analyzer.AnalyzeRequest["setProperties"]>[0];
const { Struct } = fromPulumi("google-protobuf/google/protobuf/struct_pb") as {
    Struct: { fromJavaScript(value: Record<string, unknown>): StructMessage };
};
const { Empty } = fromPulumi("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => object };
const { AnalyzerClient } = fromPulumi("./proto/analyzer_grpc_pb") as {
    AnalyzerClient: new (address: string, credentials: unknown) => AnalyzerRpc;
};

type Unary<Req, Res> = (request: Req, callback: (error: Error | null, response: Res) => void) => unknown;

interface AnalyzerRpc {
    getAnalyzerInfo: Unary<object, analyzer.AnalyzerInfo>;
    analyze: Unary<analyzer.AnalyzeRequest, analyzer.AnalyzeResponse>;
    analyzeStack: Unary<analyzer.AnalyzeStackRequest, analyzer.AnalyzeResponse>;
    configure: Unary<analyzer.ConfigureAnalyzerRequest, object>;
    close(): void;
}

function call<Req, Res>(method: Unary<Req, Res>, client: AnalyzerRpc, request: Req): Promise<Res> {
    return new Promise((resolve, reject) =>
        method.call(client, request, (error, response) => (error ? reject(error) : resolve(response))),
    );
}

/** The pack's directory: the source tree's `policy/`, wherever the tests were compiled to. */
function packDirectory(): string {
    const candidates = [path.resolve(__dirname, "../../../../policy"), path.resolve(process.cwd(), "policy")];
    const found = candidates.find((dir) => fs.existsSync(path.join(dir, "PulumiPolicy.yaml")));
    if (!found) {
        throw new Error(`no policy pack in ${candidates.join(" or ")}`);
    }
    return found;
}

function resource(type: string, name: string, props: Record<string, unknown>, parent?: string) {
    const urn = `urn:pulumi:dev::app::${type}::${name}`;
    const options = new analyzer.AnalyzerResourceOptions();
    if (parent) {
        options.setParent(parent);
    }
    return { type, name, urn, props, options, parent };
}

function analyzeRequest(r: ReturnType<typeof resource>): analyzer.AnalyzeRequest {
    return new analyzer.AnalyzeRequest()
        .setType(r.type)
        .setName(r.name)
        .setUrn(r.urn)
        .setProperties(Struct.fromJavaScript(r.props))
        .setOptions(r.options);
}

/** Diagnostics as policy, level and the policy's own message (the SDK puts the description on a line before it). */
function diagnostics(response: analyzer.AnalyzeResponse) {
    return response.getDiagnosticsList().map((d) => {
        const description = RULES.find((r) => r.name === d.getPolicyname())?.description;
        assert.ok(d.getMessage().startsWith(`${description}\n`), "the description, then the message");
        return {
            policy: d.getPolicyname(),
            mandatory: d.getEnforcementlevel() === analyzer.EnforcementLevel.MANDATORY,
            message: d.getMessage().slice(`${description}\n`.length),
        };
    });
}

const WORLD_RULE = resource(TYPES.ingressRule, "oops", {
    securityGroupId: "sg-0e7c1d2a3b4f5a6b7",
    ipProtocol: "tcp",
    fromPort: 2379,
    toPort: 2379,
    cidrIpv4: "0.0.0.0/0",
});

describe("policy pack: served as the CLI runs it", function () {
    this.timeout(120_000);
    let pack: ChildProcess | undefined;
    let client: AnalyzerRpc;
    let stderr = "";

    before(async () => {
        const directory = packDirectory();
        const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
        // The engine address comes first and the pack directory last, as the language host passes them.
        pack = spawn(process.execPath, [runner, "127.0.0.1:0", directory], { cwd: directory });
        pack.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const port = await new Promise<string>((resolve, reject) => {
            let stdout = "";
            pack!.stdout!.on("data", (chunk: Buffer) => {
                stdout += chunk.toString();
                const line = stdout.split("\n").find((l) => /^\d+$/.test(l.trim()));
                if (line) {
                    resolve(line.trim());
                }
            });
            pack!.on("exit", (code) => reject(new Error(`the pack exited (${code}) before serving:\n${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(() => {
        client?.close();
        pack?.kill();
    });

    it("describes itself: name, version from policy/package.json, every policy with its level", async () => {
        const info = await call(client.getAnalyzerInfo, client, new Empty());
        assert.equal(info.getName(), "secure-etcd");
        const version = (
            JSON.parse(fs.readFileSync(path.join(packDirectory(), "package.json"), "utf8")) as {
                version: string;
            }
        ).version;
        assert.equal(info.getVersion(), version);
        assert.deepEqual(
            info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]),
            RULES.map((r) => [
                r.name,
                r.enforcementLevel === "advisory"
                    ? analyzer.EnforcementLevel.ADVISORY
                    : analyzer.EnforcementLevel.MANDATORY,
            ]),
        );
        assert.equal(stderr, "", "no warnings at start-up");
    });

    it("stops a world-open etcd rule before it is created", async () => {
        const response = await call(client.analyze, client, analyzeRequest(WORLD_RULE));
        assert.deepEqual(diagnostics(response), [
            {
                policy: "etcd-ports-not-open-to-world",
                mandatory: true,
                message:
                    'The ingress rule opens etcd port 2379 to 0.0.0.0/0: "0.0.0.0/0" admits the whole internet; name the clients\' subnets (e.g. "10.0.2.0/24") or their security groups instead.',
            },
        ]);
    });

    it("reports nothing for a source not known yet (preview)", async () => {
        const rule = resource(TYPES.ingressRule, "later", { ...WORLD_RULE.props, cidrIpv4: UNKNOWN.string });
        assert.deepEqual(diagnostics(await call(client.analyze, client, analyzeRequest(rule))), []);
    });

    it("honours a configured suppression with a reason, and flags one without", async () => {
        const configure = (suppressions: object[]) => {
            const request = new analyzer.ConfigureAnalyzerRequest();
            request
                .getPolicyconfigMap()
                .set(
                    "etcd-ports-not-open-to-world",
                    new analyzer.PolicyConfig()
                        .setEnforcementlevel(analyzer.EnforcementLevel.MANDATORY)
                        .setProperties(Struct.fromJavaScript({ suppressions })),
                );
            return call(client.configure, client, request);
        };
        await configure([{ resource: "oops", reason: "lab VPC without internet gateway (SEC-42)" }]);
        assert.deepEqual(diagnostics(await call(client.analyze, client, analyzeRequest(WORLD_RULE))), []);
        await configure([{ resource: "oops" }]);
        assert.deepEqual(
            diagnostics(await call(client.analyze, client, analyzeRequest(WORLD_RULE))).map(
                (d) => d.message.split(".")[0],
            ),
            [
                'The suppression of "oops" from etcd-ports-not-open-to-world has no reason, so it is not applied',
                "The ingress rule opens etcd port 2379 to 0",
            ],
        );
        await configure([]);
    });

    it("judges the stack with parents linked: a cluster's bucket with forceDestroy", async () => {
        const cluster = resource(COMPONENT.cluster, "prod", {});
        const bucket = resource(
            TYPES.bucket[0],
            "prod-backup-bucket",
            { bucket: "b", forceDestroy: true },
            cluster.urn,
        );
        const request = new analyzer.AnalyzeStackRequest().setResourcesList(
            [cluster, bucket].map((r) =>
                new analyzer.AnalyzerResource()
                    .setType(r.type)
                    .setName(r.name)
                    .setUrn(r.urn)
                    .setProperties(Struct.fromJavaScript(r.props))
                    .setOptions(r.options)
                    .setParent(r.parent ?? ""),
            ),
        );
        const found = diagnostics(await call(client.analyzeStack, client, request));
        assert.ok(
            found.some(
                (d) =>
                    d.policy === "etcd-backup-bucket-no-force-destroy" &&
                    d.message.startsWith(
                        'Backup bucket Bucket "prod-backup-bucket" of SecureEtcdCluster "prod" sets forceDestroy',
                    ),
            ),
            JSON.stringify(found, null, 2),
        );
    });
});
