// The kube-apiserver side: flags, volumes, kubeadm configuration, the KMS plugin pod, IAM
// policies and the CIS kube-apiserver checks.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import {
    APISERVER_PATHS,
    renderApiServerFragment,
    renderApiServerNodeFiles,
    renderKubeadmClusterConfiguration,
} from "../../src/apiserver/apiServerFragment";
import { checkApiServer } from "../../src/cis/apiServerChecks";
import {
    encryptionConfigYaml,
    EncryptionProvider,
    renderEncryptionConfig,
} from "../../src/encryption/encryptionConfig";
import {
    KMS_ENDPOINT,
    KMS_PLUGIN_UID,
    KMS_SOCKET_DIR_CANONICAL,
    KMS_TMPFILES_CONF,
    renderKmsPluginPod,
} from "../../src/encryption/kmsPlugin";
import { keyPolicy } from "../../src/access/keyPolicy";
import { kmsKeyArnProblem, kmsPluginPolicy, secretsReadPolicy } from "../../src/secrets/policies";

const IPS = ["10.0.1.10", "10.0.1.11", "fd00::12"];
const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("kube-apiserver fragment", () => {
    it("points kube-apiserver at every member over mTLS and at the encryption config", () => {
        const f = renderApiServerFragment({ memberIps: IPS, automaticReload: true, kms: false });
        assert.deepEqual(f.etcdServers, [
            "https://10.0.1.10:2379",
            "https://10.0.1.11:2379",
            "https://[fd00::12]:2379",
        ]);
        assert.deepEqual(f.flags.slice(0, 6), [
            "--etcd-servers=https://10.0.1.10:2379,https://10.0.1.11:2379,https://[fd00::12]:2379",
            "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
            "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
            "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
            "--encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml",
            "--encryption-provider-config-automatic-reload=true",
        ]);
    });

    it("mounts every file it names, read-only, from a matching volume", () => {
        for (const kms of [false, true]) {
            const f = renderApiServerFragment({ memberIps: IPS, automaticReload: false, kms });
            assert.ok(f.volumeMounts.every((m) => m.readOnly));
            assert.deepEqual(
                f.volumes.map((v) => v.name),
                f.volumeMounts.map((m) => m.name),
            );
            const files = f.flags.map((flag) => flag.split("=")[1]).filter((v) => v.startsWith("/"));
            for (const file of files) {
                assert.ok(
                    f.volumeMounts.some((m) => file.startsWith(`${m.mountPath}/`)),
                    `${file} is mounted`,
                );
            }
            assert.equal(
                f.volumes.some((v) => v.hostPath.path === "/var/run/kmsplugin"),
                kms,
            );
        }
        assert.ok(
            renderApiServerFragment({ memberIps: IPS, automaticReload: false, kms: false }).flags.includes(
                "--encryption-provider-config-automatic-reload=false",
            ),
        );
    });

    it("renders a kubeadm v1beta4 ClusterConfiguration with external etcd and list-form extraArgs", () => {
        const config = YAML.parse(
            renderKubeadmClusterConfiguration({ memberIps: IPS, automaticReload: true, kms: true }),
        ) as {
            apiVersion: string;
            kind: string;
            etcd: { external: Record<string, unknown> };
            apiServer: { extraArgs: { name: string; value: string }[]; extraVolumes: Record<string, unknown>[] };
        };
        assert.equal(config.apiVersion, "kubeadm.k8s.io/v1beta4");
        assert.equal(config.kind, "ClusterConfiguration");
        assert.deepEqual(config.etcd.external, {
            endpoints: ["https://10.0.1.10:2379", "https://10.0.1.11:2379", "https://[fd00::12]:2379"],
            caFile: APISERVER_PATHS.etcdCaFile,
            certFile: APISERVER_PATHS.etcdCertFile,
            keyFile: APISERVER_PATHS.etcdKeyFile,
        });
        const args = Object.fromEntries(config.apiServer.extraArgs.map((a) => [a.name, a.value]));
        assert.equal(args["encryption-provider-config"], APISERVER_PATHS.encryptionConfig);
        assert.equal(args["encryption-provider-config-automatic-reload"], "true");
        assert.equal(args["etcd-servers"], undefined, "etcd flags come from etcd.external, not extraArgs");
        // kubeadm mounts /etc/kubernetes/pki itself; only the extra directories are added.
        assert.deepEqual(
            config.apiServer.extraVolumes.map((v) => [v.name, v.hostPath, v.mountPath, v.readOnly, v.pathType]),
            [
                ["encryption-config", "/etc/kubernetes/enc", "/etc/kubernetes/enc", true, "DirectoryOrCreate"],
                ["kmsplugin-socket", "/var/run/kmsplugin", "/var/run/kmsplugin", true, "DirectoryOrCreate"],
            ],
        );
    });

    it("gives the apiserver node its files: key 0600, certs 0644, encryption config 0600 in a 0700 dir", () => {
        const files = renderApiServerNodeFiles({
            caCertPem: "CA",
            clientCertPem: "CERT",
            clientKeyPem: "KEY",
            encryptionConfigYaml: "CONFIG",
            kms: false,
        });
        const mode = (p: string) => files.find((f) => f.path === p)!.mode;
        assert.equal(mode(APISERVER_PATHS.etcdKeyFile), "0600");
        assert.equal(mode(APISERVER_PATHS.etcdCertFile), "0644");
        assert.equal(mode(APISERVER_PATHS.etcdCaFile), "0644");
        assert.equal(mode(APISERVER_PATHS.encryptionConfig), "0600");
        assert.equal(mode(APISERVER_PATHS.encryptionConfigDir), "0700");
        assert.ok(files.every((f) => f.owner === "0:0"));
        assert.ok(!files.some((f) => f.path === KMS_TMPFILES_CONF), "no KMS plugin, no socket directory");
    });

    it("with KMS: the plugin runs as a non-root user, in a socket directory systemd-tmpfiles makes for it", () => {
        const pod = renderKmsPluginPod({ image: "img", keyArn: KEY_ARN, region: "us-east-1", healthPort: 8083 }) as {
            spec: { securityContext: Record<string, unknown>; volumes: { hostPath: { type: string } }[] };
        };
        assert.deepEqual(pod.spec.securityContext, {
            runAsNonRoot: true,
            runAsUser: KMS_PLUGIN_UID,
            runAsGroup: KMS_PLUGIN_UID,
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.equal(pod.spec.volumes[0].hostPath.type, "Directory");
        const files = renderApiServerNodeFiles({
            caCertPem: "CA",
            clientCertPem: "CERT",
            clientKeyPem: "KEY",
            encryptionConfigYaml: "CONFIG",
            kms: true,
        });
        const conf = files.find((f) => f.path === KMS_TMPFILES_CONF)!;
        assert.equal(conf.mode, "0644");
        // The real systemd-tmpfiles, under a scratch root: it makes the directory with that owner and mode.
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "secure-etcd-tmpfiles-"));
        try {
            const confPath = path.join(root, "aws-encryption-provider.conf");
            fs.writeFileSync(confPath, conf.content);
            const out = execFileSync("systemd-tmpfiles", ["--create", `--root=${root}`, confPath], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
            });
            assert.equal(out, "");
            const made = fs.statSync(path.join(root, KMS_SOCKET_DIR_CANONICAL));
            assert.ok(made.isDirectory());
            assert.equal(made.mode & 0o777, 0o700);
            assert.deepEqual([made.uid, made.gid], [KMS_PLUGIN_UID, KMS_PLUGIN_UID]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("CIS kube-apiserver checks (1.2.23, 1.2.26-1.2.29)", () => {
    const flags = renderApiServerFragment({ memberIps: IPS, automaticReload: true, kms: false }).flags;
    const yamlFor = (provider: EncryptionProvider) =>
        encryptionConfigYaml(
            renderEncryptionConfig({
                provider,
                keys:
                    provider === EncryptionProvider.Kms
                        ? []
                        : [{ name: "k", secret: Buffer.alloc(32).toString("base64") }],
                kms: { name: "p", endpoint: KMS_ENDPOINT, timeout: "3s" },
                resources: ["secrets"],
                identityFallback: true,
            }),
        );
    const failing = (f: string[], yaml: string) =>
        checkApiServer({ flags: f, encryptionConfigYaml: yaml })
            .filter((r) => !r.pass)
            .map((r) => r.id);

    it("passes for the rendered fragment with secretbox and with kms", () => {
        assert.deepEqual(failing(flags, yamlFor(EncryptionProvider.Secretbox)), []);
        assert.deepEqual(failing(flags, yamlFor(EncryptionProvider.Kms)), []);
        assert.equal(checkApiServer({ flags, encryptionConfigYaml: yamlFor(EncryptionProvider.Secretbox) }).length, 5);
    });

    it("shows a failing case per check", () => {
        const yaml = yamlFor(EncryptionProvider.Secretbox);
        const without = (prefix: string) => flags.filter((f) => !f.startsWith(prefix));
        assert.deepEqual(failing(without("--etcd-keyfile"), yaml), ["1.2.23"]);
        assert.deepEqual(failing(without("--etcd-cafile"), yaml), ["1.2.26"]);
        assert.deepEqual(failing(without("--encryption-provider-config="), yaml), ["1.2.27"]);
        assert.deepEqual(failing(flags, yamlFor(EncryptionProvider.Aesgcm)), ["1.2.28"]);
        assert.deepEqual(
            failing([...without("--tls-cipher-suites"), "--tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA"], yaml),
            ["1.2.29"],
        );
    });
});

describe("the AWS KMS plugin static pod", () => {
    const pod = renderKmsPluginPod({
        image: "registry.example/aws-encryption-provider:v1.0.0",
        keyArn: KEY_ARN,
        region: "eu-west-1",
        healthPort: 8083,
    });

    it("is a valid Pod that listens on the socket kube-apiserver uses, health off 8080 on loopback", async () => {
        const { Pod } = await import("kubernetes-models/v1");
        new Pod(pod).validate();
        const container = (pod as { spec: { containers: { command: string[] }[] } }).spec.containers[0];
        assert.deepEqual(container.command, [
            "/aws-encryption-provider",
            `--key=${KEY_ARN}`,
            "--region=eu-west-1",
            "--listen=/var/run/kmsplugin/socket.sock",
            "--health-port=127.0.0.1:8083",
        ]);
        assert.equal(KMS_ENDPOINT, "unix:///var/run/kmsplugin/socket.sock");
    });
});

describe("IAM and key policies", () => {
    it("a node reads exactly its secrets, and decrypts only through Secrets Manager, for those secrets", () => {
        const arn =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:secure-etcd/prod-a1b2c3/members/etcd-0-AbCdEf";
        assert.deepEqual(secretsReadPolicy({ secretArns: [arn], kmsKeyArn: KEY_ARN, region: "us-east-1" }), {
            Version: "2012-10-17",
            Statement: [
                { Sid: "ReadOwnSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [arn] },
                {
                    Sid: "DecryptThroughSecretsManager",
                    Effect: "Allow",
                    Action: "kms:Decrypt",
                    Resource: KEY_ARN,
                    Condition: {
                        StringEquals: {
                            "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": [arn],
                        },
                    },
                },
            ],
        });
    });

    it("the KMS plugin gets Encrypt, Decrypt and DescribeKey on its key only", () => {
        assert.deepEqual(kmsPluginPolicy(KEY_ARN).Statement, [
            {
                Sid: "EncryptionAtRestWithThisKey",
                Effect: "Allow",
                Action: ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                Resource: KEY_ARN,
            },
        ]);
    });

    it("key policies are explicit: by default the account administers, in its own partition", () => {
        const scope = { partition: "aws-us-gov", accountId: "123456789012", region: "us-gov-west-1", deployerArn: "" };
        assert.deepEqual(keyPolicy(scope, [], []).Statement[0].Principal, {
            AWS: "arn:aws-us-gov:iam::123456789012:root",
        });
    });

    it("key ARNs: aliases are refused with the reason", () => {
        assert.equal(kmsKeyArnProblem(KEY_ARN), undefined);
        assert.equal(
            kmsKeyArnProblem("arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
            undefined,
        );
        assert.match(kmsKeyArnProblem("arn:aws:kms:us-east-1:123456789012:alias/etcd")!, /is a key alias.*re-pointed/);
        assert.match(kmsKeyArnProblem("alias/etcd")!, /is a key alias/);
        assert.match(kmsKeyArnProblem("1234abcd-12ab-34cd-56ef-1234567890ab")!, /not a KMS key ARN/);
    });
});
