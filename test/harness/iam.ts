// Evaluates requests as AWS would decide them, with an independent IAM policy simulator
// (@cloud-copilot/iam-simulate: identity policies, resource and key policies, conditions): who may do
// what to the secrets, keys, bucket and topic the component renders policies for.
import { runSimulation, runUnsafeSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { PolicyDocument } from "../../src/core/policyDocument";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

/** Who asks: an IAM role or user with its identity policies, or an AWS service principal. */
export interface Identity {
    name: string;
    /** An IAM principal ARN, or a service principal such as `cloudwatch.amazonaws.com`. */
    principal: string;
    policies: PolicyDocument[];
    /** Context a service principal's request carries (`aws:SourceAccount`, `aws:SourceArn`). */
    context?: Record<string, string>;
}

export interface Request {
    action: string;
    resource: string;
    /** The resource's own policy (a key, bucket or topic policy), if it has one. */
    resourcePolicy?: PolicyDocument;
    context?: Record<string, string | string[]>;
}

const accountOf = (arn: string) => /^arn:[^:]*:[^:]*:[^:]*:(\d{12})/.exec(arn)?.[1] ?? "";

/** One request's decision. The context every signed request over TLS carries is added. */
export async function decide(identity: Identity, request: Request, resourceAccount: string): Promise<Decision> {
    const isService = identity.principal.endsWith(".amazonaws.com");
    const context: Record<string, string | string[]> = {
        "aws:SecureTransport": "true",
        ...(isService
            ? {}
            : { "aws:PrincipalArn": identity.principal, "aws:PrincipalAccount": accountOf(identity.principal) }),
        ...identity.context,
        ...request.context,
    };
    const simulation: Simulation = {
        request: {
            principal: identity.principal,
            action: request.action,
            resource: { resource: request.resource, accountId: resourceAccount },
            contextVariables: context,
        },
        identityPolicies: identity.policies.map((policy, i) => ({ name: `${identity.name}-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: request.resourcePolicy,
    };
    // The validating run checks every policy, the action, the resource type and the context keys'
    // types, and refuses what AWS would refuse to evaluate...
    const validated = await runSimulation(simulation, {});
    if (validated.resultType === "error") {
        throw new Error(`the simulator refused the request: ${JSON.stringify(validated.errors)}`);
    }
    // ...but it drops `kms:EncryptionContext:<key>` (it expands only `/`-style variable keys such as
    // `aws:PrincipalTag/<key>`), which every KMS condition here reads. The decision comes from the
    // same engine given the whole context. (That path loads the resource policy without a name,
    // which its analysis needs: it is given as an already validated policy, a documented plain shape.)
    const resourcePolicy = request.resourcePolicy && {
        __validated: true,
        policyDocument: request.resourcePolicy,
        metadata: { name: "resource-policy" },
        errors: [],
    };
    return runUnsafeSimulation({ ...simulation, resourcePolicy }, {});
}

/** An operation that needs several requests to succeed (e.g. read a secret: GetSecretValue, then Decrypt). */
export async function decideAll(identity: Identity, requests: Request[], resourceAccount: string): Promise<Decision> {
    for (const request of requests) {
        const decision = await decide(identity, request, resourceAccount);
        if (decision !== "Allowed") {
            return decision;
        }
    }
    return "Allowed";
}

/** A policy that allows everything: an administrator or CI role in the same account. */
export const ALLOW_EVERYTHING: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }],
};
