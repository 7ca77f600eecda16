// CIS Kubernetes Benchmark checks of kube-apiserver that concern etcd (1.2.23, 1.2.26 to 1.2.29),
// as a pure function over the rendered fragment and encryption configuration.
import * as YAML from "yaml";
import type { CisResult } from "./etcdChecks";

export interface ApiServerArtifactsForCis {
    /** kube-apiserver flags, `--name=value`. */
    flags: string[];
    /** The EncryptionConfiguration the flags point at. */
    encryptionConfigYaml: string;
}

/** Strong suites as kube-bench lists them for 1.2.29 (ECDHE with AES-GCM or ChaCha20-Poly1305). */
const STRONG_SUITES = new Set([
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]);

export function checkApiServer(a: ApiServerArtifactsForCis): CisResult[] {
    const flag = (name: string) => a.flags.find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1);
    const results: CisResult[] = [];
    const add = (id: string, title: string, pass: boolean, detail: string) => results.push({ id, title, pass, detail });

    add(
        "1.2.23",
        "--etcd-certfile and --etcd-keyfile are set",
        !!flag("--etcd-certfile") && !!flag("--etcd-keyfile"),
        `cert ${flag("--etcd-certfile")}, key ${flag("--etcd-keyfile")}`,
    );
    add("1.2.26", "--etcd-cafile is set", !!flag("--etcd-cafile"), `--etcd-cafile=${flag("--etcd-cafile")}`);
    add(
        "1.2.27",
        "--encryption-provider-config is set",
        !!flag("--encryption-provider-config"),
        `--encryption-provider-config=${flag("--encryption-provider-config")}`,
    );
    let first: string | undefined;
    try {
        const config = YAML.parse(a.encryptionConfigYaml) as { resources?: { providers?: object[] }[] };
        const providers = config?.resources?.[0]?.providers ?? [];
        first = providers[0] ? Object.keys(providers[0])[0] : undefined;
    } catch {
        first = undefined;
    }
    add(
        "1.2.28",
        "the first encryption provider is aescbc, kms or secretbox",
        ["aescbc", "kms", "secretbox"].includes(first ?? ""),
        `first provider: ${first}`,
    );
    const suites = flag("--tls-cipher-suites")?.split(",") ?? [];
    add(
        "1.2.29",
        "--tls-cipher-suites lists strong suites only",
        suites.length > 0 && suites.every((s) => STRONG_SUITES.has(s)),
        `--tls-cipher-suites=${suites.join(",")}`,
    );
    return results;
}
