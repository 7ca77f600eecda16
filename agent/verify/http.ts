// HTTP(S) requests that report what came back, or why nothing did, instead of throwing: the agent's
// `verify` and the conformance probes both read refusals this way.
import * as http from "http";
import * as https from "https";
import * as tls from "tls";
import { Issued } from "../issue";

export interface Outcome {
    /** An HTTP 200 came back. */
    ok: boolean;
    status?: number;
    body?: string;
    /** Why no answer came: a refused connection or handshake. */
    error?: string;
    /** The negotiated TLS version and suite (IANA name), when a TLS answer came. */
    protocol?: string;
    cipher?: string;
}

export type ClientCreds = Partial<Issued> & { ca?: string };

/** An HTTPS request with the given client credentials (none, if left out); never throws. */
export function httpsRequest(
    url: string,
    creds: ClientCreds,
    options: { extra?: tls.ConnectionOptions; json?: unknown; localAddress?: string } = {},
): Promise<Outcome> {
    return new Promise((resolve) => {
        const body = options.json === undefined ? undefined : JSON.stringify(options.json);
        const req = https.request(
            url,
            {
                method: body === undefined ? "GET" : "POST",
                headers: body === undefined ? {} : { "content-type": "application/json" },
                ca: creds.ca,
                cert: creds.certPem,
                key: creds.keyPem,
                agent: false,
                timeout: 5000,
                localAddress: options.localAddress,
                ...options.extra,
            },
            (res) => {
                const socket = res.socket as tls.TLSSocket;
                const protocol = socket.getProtocol() ?? undefined;
                const cipher = socket.getCipher()?.standardName;
                let text = "";
                res.on("data", (d: Buffer) => (text += d.toString()));
                res.on("end", () =>
                    resolve({ ok: res.statusCode === 200, status: res.statusCode, body: text, protocol, cipher }),
                );
                res.on("error", (e) => resolve({ ok: false, error: e.message }));
            },
        );
        req.on("error", (e) => resolve({ ok: false, error: e.message }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.end(body);
    });
}

/** GET over HTTPS, as `httpsRequest`. */
export function httpsGet(url: string, creds: ClientCreds, extra: tls.ConnectionOptions = {}): Promise<Outcome> {
    return httpsRequest(url, creds, { extra });
}

/** A plaintext HTTP GET; never throws. */
export function plainGet(url: string): Promise<Outcome> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode, body }));
        });
        req.on("error", (e) => resolve({ ok: false, error: e.message }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

/** The refusal, in a few words, from the client's side of a refused handshake or connection. */
export function refusal(o: Outcome): string {
    const error = o.error ?? "";
    const alert = /(?:sslv3|tlsv1\d*) alert ([a-z ]+)/.exec(error);
    if (alert) {
        return `TLS handshake refused (${alert[1]})`;
    }
    if (/socket hang up|ECONNRESET/.test(error)) {
        return "connection closed without an answer";
    }
    if (/ECONNREFUSED/.test(error)) {
        return "connection refused";
    }
    return error ? error.split("\n")[0].slice(0, 80) : `HTTP ${o.status}`;
}
