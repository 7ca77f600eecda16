// kube-apiserver encrypts every write with the first provider: identity there means Secrets are
// stored in etcd (and in every etcd backup) in plain text.
import { ProviderVerdict } from "secure-etcd/rules";
import { reportProviderFindings } from "../lib/encryptionOrder";
import { EtcdStackPolicy } from "../lib/types";

export const encryptionNotPlaintextFirst: EtcdStackPolicy = {
    name: "etcd-encryption-not-plaintext-first",
    description:
        "A SecureEtcdCluster's EncryptionConfiguration never has identity (plain text) as its first provider, nor an empty provider list.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
        "Use encryptionProvider secretbox (the default) or kms; identity may only come last, as a read fallback (encryptionIdentityFallback).",
    validateStack: (args, reportViolation) => reportProviderFindings(args, reportViolation, ProviderVerdict.Forbidden),
};
