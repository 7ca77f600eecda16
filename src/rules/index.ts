// `secure-etcd/rules`: the secure-setting predicates the component validates its own inputs with,
// for the policy pack to judge any stack's resources by the same rules. Pure functions and data only.
export * from "./backendQuota";
export * from "./bucketRules";
export * from "./certificateValidity";
export * from "./encryptionProviders";
export * from "./keyStrength";
export { ETCD_PORTS } from "../manifests/nodeLayout";
export { isOpenToWorld, parseCidr, ParsedCidr, sourceCidrProblem } from "../network/networkRules";
export { kmsKeyArnProblem } from "../secrets/policies";
