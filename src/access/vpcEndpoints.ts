// Requests to the component's data only through named VPC endpoints: a deny on the resource's own
// policy, so a member's stolen instance credentials are useless outside the VPC.
import { PolicyStatement } from "../core/policyDocument";

export interface VpcEndpointRestriction {
    sid: string;
    /** The data operations refused outside the endpoints; management stays out of the deny. */
    actions: string[];
    resources: string | string[];
    endpointIds: string[];
    /**
     * `aws:PrincipalArn` patterns the deny leaves out: only those that must reach the data from
     * wherever they run (the identity running `pulumi up`, which reads what it wrote on refresh).
     */
    exemptPrincipalArns?: string[];
}

/**
 * Deny unless the request came through one of the endpoints. `StringNotEquals` is true when the
 * request carries no `aws:SourceVpce` at all (the internet, or a VPC without an endpoint), so those
 * are refused too.
 */
export function denyOutsideVpcEndpoints(restriction: VpcEndpointRestriction): PolicyStatement {
    const exempt = restriction.exemptPrincipalArns ?? [];
    return {
        Sid: restriction.sid,
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: restriction.actions,
        Resource: restriction.resources,
        Condition: {
            StringNotEquals: { "aws:SourceVpce": [...restriction.endpointIds] },
            ...(exempt.length > 0 ? { ArnNotLike: { "aws:PrincipalArn": exempt } } : {}),
        },
    };
}
