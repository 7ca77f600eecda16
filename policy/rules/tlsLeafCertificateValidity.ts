// Leaf certificates are short-lived and renewed before they expire: validity bounded (398 days by
// default) and an early-renewal window, so a routine `pulumi up` re-issues them in time.
import {
    DEFAULT_MAX_LEAF_VALIDITY_DAYS,
    DEFAULT_MIN_EARLY_RENEWAL_HOURS,
    leafValidityProblems,
} from "secure-etcd/rules";
import { numberSetting } from "../lib/config";
import { EtcdResourcePolicy, TYPES } from "../lib/types";
import { plainProps, readBoolean, readNumber, UNKNOWN } from "../lib/values";

const CERTIFICATE_TYPES: string[] = [TYPES.locallySignedCert, TYPES.selfSignedCert];

export const tlsLeafCertificateValidity: EtcdResourcePolicy = {
    name: "tls-leaf-certificate-validity",
    description: `Leaf certificates (isCaCertificate false) are valid for at most ${DEFAULT_MAX_LEAF_VALIDITY_DAYS} days (configurable) and have an early-renewal window (earlyRenewalHours > 0).`,
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps:
        "Keep the component's certificateValidityHours (8760) and certificateRenewalHours (720), or set validityPeriodHours and earlyRenewalHours within the limits.",
    configSchema: {
        properties: {
            maxValidityDays: {
                type: "integer",
                minimum: 1,
                default: DEFAULT_MAX_LEAF_VALIDITY_DAYS,
                description: "The longest validity accepted for a leaf certificate, in days.",
            },
            minEarlyRenewalHours: {
                type: "integer",
                minimum: 1,
                default: DEFAULT_MIN_EARLY_RENEWAL_HOURS,
                description: "The shortest early-renewal window accepted, in hours.",
            },
        },
    },
    validateResource: (args, reportViolation) => {
        if (!CERTIFICATE_TYPES.includes(args.type)) {
            args.notApplicable("applies to tls.LocallySignedCert and tls.SelfSignedCert");
        }
        const props = plainProps(args.props);
        const isCa = readBoolean(props.isCaCertificate);
        if (isCa === true || isCa === UNKNOWN) {
            return; // CAs: see tls-ca-certificates-intended. Unknown: judged once known.
        }
        const config = args.getConfig();
        const limits = {
            maxValidityDays: numberSetting(config, "maxValidityDays", DEFAULT_MAX_LEAF_VALIDITY_DAYS),
            minEarlyRenewalHours: numberSetting(config, "minEarlyRenewalHours", DEFAULT_MIN_EARLY_RENEWAL_HOURS),
        };
        const validity = readNumber(props.validityPeriodHours);
        const renewal = readNumber(props.earlyRenewalHours);
        const problems = leafValidityProblems(
            {
                validityPeriodHours: typeof validity === "number" ? validity : undefined,
                // Not known yet: stand in a compliant value, so only what is known is judged.
                earlyRenewalHours: renewal === UNKNOWN ? limits.minEarlyRenewalHours : renewal,
            },
            limits,
        );
        for (const problem of problems) {
            reportViolation(`Leaf certificate: ${problem}.`);
        }
    },
};
