// Just enough gRPC for `verify` to ask etcd two read-only questions (who are the members, is auth
// on) over Node's own HTTP/2 and TLS. Not the JSON gateway: with auth enabled etcd refuses gateway
// requests that carry a client certificate, and the gateway ignores the certificate's CN anyway.
// Messages are encoded by hand: two fields in, a handful out.
import * as http2 from "http2";
import * as net from "net";

export interface GrpcCredentials {
    caPem: string;
    certPem: string;
    keyPem: string;
}

export interface GrpcResult {
    /** gRPC status: 0 OK, 3 InvalidArgument, 7 PermissionDenied, 9 FailedPrecondition, 16 Unauthenticated. */
    status?: number;
    message: string;
    /** The response message, on status 0. */
    body?: Buffer;
    /** No gRPC answer at all: the connection or the HTTP/2 exchange failed. */
    error?: string;
}

const TIMEOUT_MS = 5000;

/**
 * One unary call. The server is not verified here: `verify` judges the served certificate in a
 * check of its own, and a wrong CA must not hide what else is wrong.
 */
export function unaryCall(
    origin: string,
    method: string,
    request: Buffer,
    creds: GrpcCredentials,
): Promise<GrpcResult> {
    return new Promise((resolve) => {
        const host = new URL(origin).hostname.replace(/^\[(.*)\]$/, "$1");
        let settled = false;
        const finish = (result: GrpcResult) => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                session.close();
                resolve(result);
            }
        };
        const session = http2.connect(origin, {
            ca: creds.caPem,
            cert: creds.certPem,
            key: creds.keyPem,
            rejectUnauthorized: false,
            ...(net.isIP(host) ? {} : { servername: host }),
        });
        const timer = setTimeout(() => {
            finish({ message: "", error: `no answer within ${TIMEOUT_MS / 1000}s` });
            session.destroy();
        }, TIMEOUT_MS);
        session.on("error", (e: Error) => finish({ message: "", error: e.message }));
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(request.length, 1);
        const call = session.request({
            ":method": "POST",
            ":path": `/${method}`,
            "content-type": "application/grpc",
            te: "trailers",
        });
        const chunks: Buffer[] = [];
        let status: number | undefined;
        let message = "";
        const readStatus = (headers: http2.IncomingHttpHeaders) => {
            if (headers["grpc-status"] !== undefined) {
                status = Number(headers["grpc-status"]);
                message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
            }
        };
        // A trailers-only answer (an error) carries its status in the headers.
        call.on("response", readStatus);
        call.on("trailers", readStatus);
        call.on("data", (d: Buffer) => chunks.push(d));
        call.on("error", (e: Error) => finish({ message: "", error: e.message }));
        call.on("end", () => {
            const data = Buffer.concat(chunks);
            finish(
                status === undefined
                    ? { message: "", error: "the answer carried no gRPC status" }
                    : {
                          status,
                          message,
                          body: data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : undefined,
                      },
            );
        });
        call.end(Buffer.concat([frame, request]));
    });
}

// ------------------------------------------------------------------ protobuf, by hand

function varint(value: number): Buffer {
    const bytes: number[] = [];
    let v = value;
    while (v >= 0x80) {
        bytes.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
    }
    bytes.push(v);
    return Buffer.from(bytes);
}

/** A length-delimited (string) field. */
export function stringField(field: number, value: string): Buffer {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

interface Field {
    field: number;
    /** Varints as bigint (etcd's ids are uint64); length-delimited fields as bytes. */
    value: bigint | Buffer;
}

/** The fields of one message; fixed-width fields are skipped. */
export function decodeFields(buf: Buffer): Field[] {
    const fields: Field[] = [];
    let pos = 0;
    const readVarint = (): bigint => {
        let result = 0n;
        let shift = 0n;
        for (;;) {
            if (pos >= buf.length) {
                throw new Error("truncated protobuf varint");
            }
            const byte = buf[pos++];
            result |= BigInt(byte & 0x7f) << shift;
            if ((byte & 0x80) === 0) {
                return result;
            }
            shift += 7n;
        }
    };
    while (pos < buf.length) {
        const key = Number(readVarint());
        const field = key >> 3;
        switch (key & 7) {
            case 0:
                fields.push({ field, value: readVarint() });
                break;
            case 1:
                pos += 8;
                break;
            case 2: {
                const length = Number(readVarint());
                fields.push({ field, value: buf.subarray(pos, pos + length) });
                pos += length;
                break;
            }
            case 5:
                pos += 4;
                break;
            default:
                throw new Error(`unsupported protobuf wire type ${key & 7}`);
        }
    }
    return fields;
}

export interface EtcdMember {
    id: string;
    name: string;
    clientURLs: string[];
}

export interface MemberList {
    /** The answering member's id. */
    memberId: string;
    members: EtcdMember[];
}

/** etcdserverpb.MemberListResponse: header (2: member_id) and members (1: ID, 2: name, 4: clientURLs). */
export function decodeMemberList(body: Buffer): MemberList {
    let memberId = "";
    const members: EtcdMember[] = [];
    for (const f of decodeFields(body)) {
        if (f.field === 1 && Buffer.isBuffer(f.value)) {
            memberId = String(decodeFields(f.value).find((h) => h.field === 2)?.value ?? "");
        } else if (f.field === 2 && Buffer.isBuffer(f.value)) {
            const m: EtcdMember = { id: "", name: "", clientURLs: [] };
            for (const mf of decodeFields(f.value)) {
                if (mf.field === 1) {
                    m.id = String(mf.value);
                } else if (mf.field === 2 && Buffer.isBuffer(mf.value)) {
                    m.name = mf.value.toString("utf8");
                } else if (mf.field === 4 && Buffer.isBuffer(mf.value)) {
                    m.clientURLs.push(mf.value.toString("utf8"));
                }
            }
            members.push(m);
        }
    }
    return { memberId, members };
}

export async function memberList(origin: string, creds: GrpcCredentials): Promise<MemberList | GrpcResult> {
    const result = await unaryCall(origin, "etcdserverpb.Cluster/MemberList", Buffer.alloc(0), creds);
    return result.status === 0 && result.body !== undefined ? decodeMemberList(result.body) : result;
}

/** etcdserverpb.AuthenticateRequest: name (1), password (2). */
export function authenticate(
    origin: string,
    creds: GrpcCredentials,
    name: string,
    password: string,
): Promise<GrpcResult> {
    return unaryCall(
        origin,
        "etcdserverpb.Auth/Authenticate",
        Buffer.concat([stringField(1, name), stringField(2, password)]),
        creds,
    );
}
