// aescbc and aesgcm do encrypt, but the Kubernetes docs discourage them (padding oracles; nonce reuse
// without frequent rotation): a warning, with the component's own explanation of why.
import { ProviderVerdict } from "secure-etcd/rules";
import { reportProviderFindings } from "../lib/encryptionOrder";
import { EtcdStackPolicy } from "../lib/types";

export const encryptionRecommendedProvider: EtcdStackPolicy = {
    name: "etcd-encryption-recommended-provider",
    description:
        "A SecureEtcdCluster's EncryptionConfiguration encrypts with secretbox or kms first (aescbc and aesgcm are discouraged).",
    enforcementLevel: "advisory",
    severity: "medium",
    remediationSteps:
        "Choose encryptionProvider secretbox (the default) or kms for new clusters. An existing cluster keeps its provider (the component refuses an in-place change): suppress this with a reason until it is replaced.",
    validateStack: (args, reportViolation) =>
        reportProviderFindings(args, reportViolation, ProviderVerdict.Discouraged),
};
