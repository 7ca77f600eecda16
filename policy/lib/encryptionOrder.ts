// Where a policy can see which encryption provider comes first. The rendered EncryptionConfiguration
// is a secret (it holds the keys), and it lives in two places: the SecretVersion that stores it and
// the SecureEtcdCluster's `encryptionConfigYaml` output. Policies receive secrets decrypted, so both
// are readable, but only once the keys exist: during the first preview of a stack they are unknown.
// A non-secret `encryptionProviderOrder` output (the provider types in order, no key material), when
// the component registers one, is known even then and is read first. Only provider type names are
// read from the YAML; nothing from it is ever put in a message.
import { PolicyResource, ReportViolation, StackValidationArgs } from "@pulumi/policy";
import * as YAML from "yaml";
import { firstProviderFinding, ProviderVerdict, providerOrderOf } from "secure-etcd/rules";
import { ofType, propsOf } from "./stack";
import { COMPONENT } from "./types";
import { isUnknown, readArray, readString, UNKNOWN, Unknown } from "./values";

/** The provider order of each resources entry of a cluster's configuration; undefined when not visible. */
export function encryptionProviderOrders(cluster: PolicyResource): string[][] | Unknown | undefined {
    const props = propsOf(cluster);
    const order = readArray(props.encryptionProviderOrder);
    if (order === UNKNOWN || order?.some(isUnknown)) {
        return UNKNOWN;
    }
    if (order !== undefined) {
        return [order.filter((p): p is string => typeof p === "string")];
    }
    const yaml = readString(props.encryptionConfigYaml);
    if (yaml === UNKNOWN || yaml === undefined) {
        return yaml;
    }
    try {
        return providerOrderOf(YAML.parse(yaml));
    } catch {
        return undefined; // Not YAML: nothing to judge (and nothing of it is repeated).
    }
}

/** Reports every cluster's configuration entry whose first provider gets the given verdict. */
export function reportProviderFindings(
    args: StackValidationArgs,
    reportViolation: ReportViolation,
    verdict: ProviderVerdict,
): void {
    const clusters = ofType(args.resources, COMPONENT.cluster);
    if (clusters.length === 0) {
        args.notApplicable("no SecureEtcdCluster in this stack");
    }
    for (const cluster of clusters) {
        const orders = encryptionProviderOrders(cluster);
        if (orders === UNKNOWN || orders === undefined) {
            continue; // Not known yet (first preview), or not visible: nothing to judge.
        }
        orders.forEach((order, i) => {
            const finding = firstProviderFinding(order);
            if (finding.verdict === verdict) {
                const entry = orders.length > 1 ? ` (resources[${i}])` : "";
                reportViolation(
                    `SecureEtcdCluster "${cluster.name}": its EncryptionConfiguration${entry} ${finding.reason}.`,
                    cluster.urn,
                );
            }
        });
    }
}
