// Rules for the PKI: key type, validities within the limits (and within the tls provider's
// arithmetic), and client identities that collide with nothing.
import { Problem, quote } from "../core/problems";
import { isDns1123Label } from "../core/predicates";
import { argRule, ArgRule, isPlain } from "../core/rules";
import { CaRotationStage, KeyAlgorithm, PKI_DEFAULTS } from "./args";
import { CA_KINDS, CaKind } from "./caRotation";
import { BUILT_IN_CLIENTS } from "./profiles";

/**
 * The tls provider computes expiry as NotBefore + hours × time.Hour in int64 nanoseconds; anything
 * longer overflows into a certificate that is already expired (terraform-provider-tls common_cert.go).
 */
export const TLS_PROVIDER_MAX_VALIDITY_HOURS = Math.floor((2 ** 63 - 1) / 3.6e12);

export function isKeyAlgorithm(value: unknown): value is KeyAlgorithm {
    return Object.values(KeyAlgorithm).includes(value as KeyAlgorithm);
}

export function keyAlgorithmProblems(value: unknown): Problem[] {
    return isKeyAlgorithm(value)
        ? []
        : [
              {
                  path: "keyAlgorithm",
                  reason: `${quote(value)} is not a supported key algorithm; use one of ${Object.values(KeyAlgorithm).join(", ")}`,
              },
          ];
}

export interface Validity {
    caValidityHours: number;
    certificateValidityHours: number;
    certificateRenewalHours: number;
    maxCaValidityHours: number;
    maxCertificateValidityHours: number;
}

const isHours = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1;

/** Every validity a whole number of hours within its limit, renewal inside the validity, leaves inside the CA. */
export function validityProblems(v: Validity): Problem[] {
    const problems: Problem[] = [];
    const limits = (["maxCaValidityHours", "maxCertificateValidityHours"] as const).filter((path) => {
        const value = v[path];
        if (isHours(value) && value <= TLS_PROVIDER_MAX_VALIDITY_HOURS) {
            return true;
        }
        problems.push({
            path,
            reason: `${quote(value)} is not a whole number of hours from 1 to ${TLS_PROVIDER_MAX_VALIDITY_HOURS} (the tls provider's arithmetic overflows beyond)`,
        });
        return false;
    });
    const bounded = (path: keyof Validity, limitPath: keyof Validity) => {
        const value = v[path];
        if (!isHours(value)) {
            problems.push({ path, reason: `${quote(value)} is not a whole number of hours above 0` });
            return false;
        }
        if (limits.includes(limitPath as never) && value > v[limitPath]) {
            problems.push({
                path,
                reason: `${value} hours is longer than ${limitPath} (${v[limitPath]}); shorten it, or raise ${limitPath} if a longer life is really meant`,
            });
            return false;
        }
        return true;
    };
    const ca = bounded("caValidityHours", "maxCaValidityHours");
    const leaf = bounded("certificateValidityHours", "maxCertificateValidityHours");
    // Above 0: a certificate with no early-renewal window is only replaced after it has expired.
    const renewal = isHours(v.certificateRenewalHours);
    if (!renewal) {
        problems.push({
            path: "certificateRenewalHours",
            reason: `${quote(v.certificateRenewalHours)} is not a whole number of hours above 0`,
        });
    }
    if (leaf && renewal && v.certificateRenewalHours >= v.certificateValidityHours) {
        problems.push({
            path: "certificateRenewalHours",
            reason: `${v.certificateRenewalHours} is not shorter than certificateValidityHours (${v.certificateValidityHours}), so every \`pulumi up\` would re-issue every certificate; use a window well inside the validity, e.g. ${PKI_DEFAULTS.certificateRenewalHours}`,
        });
    }
    if (ca && leaf && v.certificateValidityHours > v.caValidityHours) {
        problems.push({
            path: "certificateValidityHours",
            reason: `${v.certificateValidityHours} is longer than caValidityHours (${v.caValidityHours}); a certificate cannot outlive the CA that signs it`,
        });
    }
    return problems;
}

interface ClientView {
    name: unknown;
    commonName: unknown;
}

/** Client names and CNs: labels, unique, and never a built-in client's or a member's identity. */
export function clientProblems(clients: ClientView[], memberNames: unknown[]): Problem[] {
    const problems: Problem[] = [];
    const builtInNames = new Set<unknown>(BUILT_IN_CLIENTS.map((c) => c.name));
    const builtInCns = new Set<unknown>(BUILT_IN_CLIENTS.map((c) => c.commonName));
    const members = new Set(memberNames);
    const names = new Map<unknown, number>();
    const cns = new Map<unknown, number>();
    clients.forEach(({ name, commonName: cn }, i) => {
        if (!isDns1123Label(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is not a DNS-1123 label; use lowercase letters, digits and '-', e.g. "prometheus"`,
            });
            return;
        }
        if (builtInNames.has(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is a built-in client, which every cluster already has; choose another name`,
            });
        } else if (names.has(name)) {
            problems.push({
                path: `clients[${i}].name`,
                reason: `${quote(name)} is already the name of clients[${names.get(name)}]; give every client a unique name`,
            });
        } else {
            names.set(name, i);
        }
        const collision = (() => {
            if (typeof cn !== "string" || cn.trim() === "" || cn.length > 64) {
                return `${quote(cn)} is not a usable common name; give 1 to 64 characters, e.g. the client's name`;
            }
            if (builtInCns.has(cn)) {
                return `${quote(cn)} is the common name of a built-in client; etcd would treat both as the same user, choose another`;
            }
            if (members.has(cn)) {
                return `${quote(cn)} is a member's name, the CN of its server certificate; etcd would treat both as the same user, choose another`;
            }
            if (cns.has(cn)) {
                return `${quote(cn)} is already the common name of clients[${cns.get(cn)}]; each client needs its own identity`;
            }
            cns.set(cn, i);
            return undefined;
        })();
        if (collision) {
            problems.push({ path: `clients[${i}].commonName`, reason: collision });
        }
    });
    return problems;
}

/** The largest CA generation accepted: a rotation a year for centuries; anything larger is a typo. */
export const MAX_CA_GENERATION = 1000;

/** Stands for an Output where a plain value is required, so that the rule runs now. */
const NOT_PLAIN = Symbol("an Output");

const plainOrMarker = (value: unknown): unknown => (isPlain(value) ? value : NOT_PLAIN);

/** One CA's generation and stage: plain (they decide which resources exist), known values, a stage only from generation 2. */
export function caRotationArgProblems(kind: CaKind, generation: unknown, stage: unknown): Problem[] {
    const names = CA_KINDS[kind];
    const stages = Object.values(CaRotationStage);
    const problems: Problem[] = [];
    if (
        generation === NOT_PLAIN ||
        !Number.isInteger(generation) ||
        (generation as number) < 1 ||
        (generation as number) > MAX_CA_GENERATION
    ) {
        problems.push({
            path: names.generationArg,
            reason: `${generation === NOT_PLAIN ? "is an Output" : quote(generation)}; give a plain whole number from 1 to ${MAX_CA_GENERATION} (it decides which CA resources exist): 1 for the CA the cluster was created with, one more for each rotation`,
        });
    }
    if (stage === NOT_PLAIN || !stages.includes(stage as CaRotationStage)) {
        problems.push({
            path: names.stageArg,
            reason: `${stage === NOT_PLAIN ? "is an Output" : quote(stage)}; give a plain stage, one of ${stages.join(", ")}`,
        });
    } else if (generation === 1 && stage !== CaRotationStage.Complete) {
        problems.push({
            path: names.stageArg,
            reason: `${quote(stage)} at ${names.generationArg} 1: generation 1 has no previous CA to rotate from; to rotate the ${names.label}, set ${names.generationArg} to 2 with ${quote(CaRotationStage.TrustNew)}`,
        });
    }
    return problems;
}

interface PkiView {
    keyAlgorithm: unknown;
    caValidityHours: unknown;
    certificateValidityHours: unknown;
    certificateRenewalHours: unknown;
    maxCaValidityHours: unknown;
    maxCertificateValidityHours: unknown;
    clients: ClientView[];
    members: { name: string }[];
    etcdCaGeneration: unknown;
    etcdCaRotationStage: unknown;
    peerCaGeneration: unknown;
    peerCaRotationStage: unknown;
}

export const PKI_RULES: ArgRule<PkiView>[] = [
    argRule(["keyAlgorithm"], (a) => a.keyAlgorithm, keyAlgorithmProblems),
    argRule(
        [
            "caValidityHours",
            "certificateValidityHours",
            "certificateRenewalHours",
            "maxCaValidityHours",
            "maxCertificateValidityHours",
        ],
        (a) => ({
            caValidityHours: a.caValidityHours,
            certificateValidityHours: a.certificateValidityHours,
            certificateRenewalHours: a.certificateRenewalHours,
            maxCaValidityHours: a.maxCaValidityHours,
            maxCertificateValidityHours: a.maxCertificateValidityHours,
        }),
        (v) => validityProblems(v as Validity),
    ),
    argRule(
        ["clients"],
        (a) => ({ clients: a.clients, memberNames: a.members.map((m) => m.name) }),
        (v) => clientProblems(v.clients as ClientView[], v.memberNames),
    ),
    argRule(
        ["etcdCaGeneration", "etcdCaRotationStage"],
        (a) => [plainOrMarker(a.etcdCaGeneration), plainOrMarker(a.etcdCaRotationStage)],
        ([generation, stage]) => caRotationArgProblems("etcdCa", generation, stage),
    ),
    argRule(
        ["peerCaGeneration", "peerCaRotationStage"],
        (a) => [plainOrMarker(a.peerCaGeneration), plainOrMarker(a.peerCaRotationStage)],
        ([generation, stage]) => caRotationArgProblems("peerCa", generation, stage),
    ),
];
