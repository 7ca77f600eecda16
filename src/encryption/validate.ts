// Rules for encryption at rest: a known provider, local key names only where keys are local, the
// KMS-only arguments only with KMS, and resources kube-apiserver can encrypt.
import { Problem, quote } from "../core/problems";
import { argRule, ArgRule } from "../core/rules";
import { kmsKeyArnProblems } from "../secrets/validate";
import { EncryptionProvider, keyNameProblem, resourceListProblems } from "./encryptionConfig";

export function isEncryptionProvider(value: unknown): value is EncryptionProvider {
    return Object.values(EncryptionProvider).includes(value as EncryptionProvider);
}

const KMS_ONLY_ARGS = ["encryptionKmsKeyArn", "kmsPluginImage", "kmsPluginHealthPort"] as const;

/** Encryption at rest: provider, key names and the KMS-only arguments that go with them. */
export function encryptionProblems(v: {
    encryptionProvider: unknown;
    encryptionKeyNames: unknown;
    keyNamesGiven: boolean;
    kmsArgsGiven: readonly string[];
}): Problem[] {
    const provider = v.encryptionProvider;
    if (!isEncryptionProvider(provider)) {
        return [
            {
                path: "encryptionProvider",
                reason: `${quote(provider)} is not a supported provider; use one of ${Object.values(EncryptionProvider).join(", ")} (secretbox by default)`,
            },
        ];
    }
    if (provider === EncryptionProvider.Kms) {
        return [
            ...(v.keyNamesGiven
                ? [
                      {
                          path: "encryptionKeyNames",
                          reason: "names local keys, which kms does not use (the key stays in AWS KMS); remove it, or choose a local provider",
                      },
                  ]
                : []),
            ...(v.kmsArgsGiven.includes("kmsPluginImage")
                ? []
                : [
                      {
                          path: "kmsPluginImage",
                          reason: 'is required with encryptionProvider kms: give the aws-encryption-provider image you have vetted, pinned by tag or digest, e.g. "<registry>/aws-encryption-provider:v1.0.0"',
                      },
                  ]),
        ];
    }
    const problems: Problem[] = v.kmsArgsGiven.map((path) => ({
        path,
        reason: `only applies to encryptionProvider kms, and the provider is ${provider}; remove it or set encryptionProvider to kms`,
    }));
    const names = v.encryptionKeyNames;
    if (!Array.isArray(names) || names.length === 0) {
        return [
            ...problems,
            {
                path: "encryptionKeyNames",
                reason: 'is empty; give at least one key name, e.g. ["key-1"] (the first encrypts)',
            },
        ];
    }
    const seen = new Map<unknown, number>();
    names.forEach((name: unknown, i) => {
        const reason = keyNameProblem(name as string);
        if (reason) {
            problems.push({ path: `encryptionKeyNames[${i}]`, reason });
        } else if (seen.has(name)) {
            problems.push({
                path: `encryptionKeyNames[${i}]`,
                reason: `${quote(name)} is already encryptionKeyNames[${seen.get(name)}]; each key needs its own name (it is stored in every object it encrypts)`,
            });
        } else {
            seen.set(name, i);
        }
    });
    return problems;
}

export function encryptedResourcesProblems(resources: unknown): Problem[] {
    if (!Array.isArray(resources) || !resources.every((r) => typeof r === "string")) {
        return [
            { path: "encryptedResources", reason: 'must be a list of resource names, e.g. ["secrets", "configmaps"]' },
        ];
    }
    return resourceListProblems(resources).map((reason) => ({ path: "encryptedResources", reason }));
}

export function kmsPluginHealthPortProblems(port: unknown): Problem[] {
    return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535 && port !== 8080
        ? []
        : [
              {
                  path: "kmsPluginHealthPort",
                  reason: `${quote(port)} is not a usable port; give 1 to 65535 other than 8080 (kube-apiserver's), e.g. 8083`,
              },
          ];
}

interface EncryptionView {
    encryptionProvider: unknown;
    encryptionKeyNames: unknown;
    encryptedResources: unknown;
    encryptionKmsKeyArn?: unknown;
    kmsPluginHealthPort: unknown;
}

export const ENCRYPTION_RULES: ArgRule<EncryptionView>[] = [
    argRule(
        ["encryptionProvider", "encryptionKeyNames"],
        (a, given) => ({
            encryptionProvider: a.encryptionProvider,
            encryptionKeyNames: a.encryptionKeyNames,
            keyNamesGiven: given.has("encryptionKeyNames"),
            kmsArgsGiven: KMS_ONLY_ARGS.filter((k) => given.has(k)),
        }),
        (v) => encryptionProblems(v),
    ),
    argRule(["encryptedResources"], (a) => a.encryptedResources, encryptedResourcesProblems),
    argRule(
        ["encryptionKmsKeyArn"],
        (a) => a.encryptionKmsKeyArn,
        (arn) => kmsKeyArnProblems("encryptionKmsKeyArn", arn),
    ),
    argRule(["kmsPluginHealthPort"], (a) => a.kmsPluginHealthPort, kmsPluginHealthPortProblems),
];
