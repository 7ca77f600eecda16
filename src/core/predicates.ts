// Shapes of names and addresses that several concerns accept.
import * as ipaddr from "ipaddr.js";

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDns1123Label(value: unknown): value is string {
    return typeof value === "string" && DNS_1123_LABEL.test(value);
}

/** A lowercase RFC 1123 DNS name (no wildcards), at most 253 characters. */
export function isDns1123Subdomain(value: unknown): value is string {
    return typeof value === "string" && value.length <= 253 && value.split(".").every(isDns1123Label);
}

/** A dotted-quad IPv4 (no leading zeros) or zone-less IPv6 address written without an embedded IPv4. */
export function parseUnicastText(value: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
    if (ipaddr.IPv4.isValidFourPartDecimal(value)) {
        return ipaddr.IPv4.parse(value);
    }
    return ipaddr.IPv6.isValid(value) && !value.includes("%") && !value.includes(".")
        ? ipaddr.IPv6.parse(value)
        : undefined;
}

/**
 * Where an address can be reached from: `private` (RFC 1918, shared 100.64/10, IPv6 unique local),
 * `public`, `loopback`, `link-local`, or `unusable` (unspecified, broadcast, multicast).
 */
export type AddressScope = "private" | "public" | "loopback" | "link-local" | "unusable";

export function addressScope(address: ipaddr.IPv4 | ipaddr.IPv6): AddressScope {
    const v4 = address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
    const range = v4.range();
    if (range === "loopback") {
        return "loopback";
    }
    if (range === "linkLocal") {
        return "link-local";
    }
    if (["private", "carrierGradeNat", "uniqueLocal"].includes(range)) {
        return "private";
    }
    return ["unspecified", "broadcast", "multicast"].includes(range) ? "unusable" : "public";
}
