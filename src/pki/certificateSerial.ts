// A certificate's serial number, read from its DER without parsing the rest. Node's X509Certificate
// parses the whole certificate through OpenSSL for it, and a cluster reports a dozen serials: about
// 2 ms of each cluster's construction (docs/benchmarks.md). The serial sits behind three headers
// (RFC 5280 §4.1): Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
// serialNumber INTEGER, ... } ... }.
import { canonicalSerial, pemBody } from "./crl";

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const EXPLICIT_0 = 0xa0;

/** One DER element: its tag and where its content starts and ends. */
interface Element {
    tag: number;
    start: number;
    end: number;
}

function element(der: Buffer, offset: number, within: number): Element {
    if (offset + 2 > within) {
        throw new Error("certificate: DER ends inside an element header");
    }
    const tag = der[offset];
    let length = der[offset + 1];
    let start = offset + 2;
    if (length & 0x80) {
        // Long form: the low bits count the length octets (DER never uses the indefinite form, 0x80).
        const octets = length & 0x7f;
        if (octets === 0 || octets > 4 || start + octets > within) {
            throw new Error("certificate: not DER (bad length)");
        }
        length = 0;
        for (let i = 0; i < octets; i++) {
            length = length * 256 + der[start + i];
        }
        start += octets;
    }
    if (start + length > within) {
        throw new Error("certificate: DER element longer than what holds it");
    }
    return { tag, start, end: start + length };
}

function expect(found: Element, tag: number, what: string): Element {
    if (found.tag !== tag) {
        throw new Error(
            `certificate: expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${found.tag.toString(16)}`,
        );
    }
    return found;
}

/** The serial of a PEM certificate in its canonical form (lowercase hex, no leading zeros). */
export function certificateSerial(certPem: string): string {
    const der = pemBody(certPem);
    const certificate = expect(element(der, 0, der.length), SEQUENCE, "Certificate");
    const tbs = expect(element(der, certificate.start, certificate.end), SEQUENCE, "TBSCertificate");
    let field = element(der, tbs.start, tbs.end);
    if (field.tag === EXPLICIT_0) {
        field = element(der, field.end, tbs.end);
    }
    const serial = expect(field, INTEGER, "the serial number");
    if (serial.end === serial.start) {
        throw new Error("certificate: empty serial number");
    }
    return canonicalSerial(der.toString("hex", serial.start, serial.end));
}
