// The secure-etcd policy pack: `pulumi preview --policy-pack ./policy`. This module only serves the
// policies (constructing a PolicyPack starts the analyzer's gRPC server); they live in rules/.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, POLICIES } from "./policies";

new PolicyPack(PACK_NAME, {
    description: "Secure defaults of secure-etcd clusters: network, backups, keys, PKI and encryption at rest.",
    // Each policy sets its own level; this covers any that would not.
    enforcementLevel: "mandatory",
    policies: POLICIES,
});
