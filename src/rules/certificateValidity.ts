// Leaf-certificate lifetimes as a pure rule over the tls provider's arguments: bounded validity and an
// early-renewal window, so `pulumi up` re-issues a certificate before it expires.

/** The CA/Browser Forum's ceiling for publicly trusted leaf certificates, a sensible one for private PKI too. */
export const DEFAULT_MAX_LEAF_VALIDITY_DAYS = 398;

/** A renewal window of at least this many hours: anything above zero lets `pulumi up` renew early. */
export const DEFAULT_MIN_EARLY_RENEWAL_HOURS = 1;

export interface LeafValidityLimits {
    maxValidityDays: number;
    minEarlyRenewalHours: number;
}

export const DEFAULT_LEAF_VALIDITY_LIMITS: LeafValidityLimits = {
    maxValidityDays: DEFAULT_MAX_LEAF_VALIDITY_DAYS,
    minEarlyRenewalHours: DEFAULT_MIN_EARLY_RENEWAL_HOURS,
};

/** A leaf certificate's validity settings (`validityPeriodHours`, `earlyRenewalHours`), as plain values. */
export interface LeafValidity {
    validityPeriodHours?: number;
    /** The tls provider's default is 0: no early renewal. */
    earlyRenewalHours?: number;
}

/** Every way a leaf certificate's lifetime breaks the limits, each with its fix. */
export function leafValidityProblems(
    cert: LeafValidity,
    limits: LeafValidityLimits = DEFAULT_LEAF_VALIDITY_LIMITS,
): string[] {
    const problems: string[] = [];
    const maxHours = limits.maxValidityDays * 24;
    const hours = cert.validityPeriodHours;
    if (hours !== undefined && hours > maxHours) {
        problems.push(
            `it is valid for ${hours} hours (${Math.round(hours / 24)} days), more than ${limits.maxValidityDays} days; set validityPeriodHours (the component's certificateValidityHours) to ${maxHours} or less and let early renewal re-issue it`,
        );
    }
    const renewal = cert.earlyRenewalHours ?? 0;
    if (renewal < limits.minEarlyRenewalHours) {
        problems.push(
            `its early-renewal window is ${renewal} hours, so nothing re-issues it before it expires; set earlyRenewalHours (the component's certificateRenewalHours, 720 by default) to at least ${limits.minEarlyRenewalHours}`,
        );
    }
    return problems;
}
