// Where an encrypted backup ends. The Encryption SDK stops at the final frame of an unsigned
// message and ignores whatever follows, so bytes appended to a backup would still decrypt; and the
// manifest that records the size is a claim. This stage reads the message's own structure as the
// bytes pass (format v2, framed, the backup suite) and fails when anything follows the final frame
// or the bytes end before it.
import { Transform, TransformCallback } from "stream";
import { BACKUP_SUITE } from "./envelope";

const FINAL_FRAME = 0xffffffff;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The committing suites' "algorithm suite data": the 32-byte commit key. */
const SUITE_DATA_BYTES = 32;
/** Far above any real header (a few hundred bytes per wrapped data key). */
const MAX_HEADER_BYTES = 1024 * 1024;

/**
 * The length of a v2 message header with its 16-byte authentication tag, and its frame length;
 * undefined while `buf` is too short to tell. Throws for anything but a framed v2 message of
 * the backup suite.
 */
export function parseHeader(buf: Buffer): { length: number; frameLength: number } | undefined {
    let pos = 0;
    const need = (n: number) => buf.length >= pos + n;
    if (!need(3)) {
        return undefined;
    }
    if (buf[0] !== 2) {
        throw new Error(`it is not an encrypted backup (message format version ${buf[0]}, expected 2)`);
    }
    const suite = buf.readUInt16BE(1);
    if (suite !== Number(BACKUP_SUITE)) {
        throw new Error(`it is encrypted with algorithm suite 0x${suite.toString(16)}, not the backup suite`);
    }
    pos = 3 + 32; // version, suite, message id
    if (!need(2)) {
        return undefined;
    }
    pos += 2 + buf.readUInt16BE(pos); // encryption context
    if (!need(2)) {
        return undefined;
    }
    const dataKeys = buf.readUInt16BE(pos);
    pos += 2;
    for (let i = 0; i < dataKeys * 3; i++) {
        // provider id, provider info, wrapped key: each length-prefixed
        if (!need(2)) {
            return undefined;
        }
        pos += 2 + buf.readUInt16BE(pos);
    }
    if (!need(1 + 4)) {
        return undefined;
    }
    if (buf[pos] !== 2) {
        throw new Error(`its content type is ${buf[pos]}, not framed`);
    }
    const frameLength = buf.readUInt32BE(pos + 1);
    pos += 1 + 4 + SUITE_DATA_BYTES + TAG_BYTES;
    return need(0) ? { length: pos, frameLength } : undefined;
}

/** Passes an encrypted backup through unchanged, measuring where its message ends. */
export class MessageBounds extends Transform {
    /** Bytes seen. */
    bytes = 0;
    /** The message's length, once its final frame has passed. */
    messageBytes?: number;
    private pending: Buffer = Buffer.alloc(0);
    private frameLength?: number;
    /** Bytes of frame content and tag still to pass before the next frame starts. */
    private skip = 0;
    private finalFrame = false;

    override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
        try {
            this.measure(chunk);
        } catch (e) {
            done(e as Error);
            return;
        }
        done(null, chunk);
    }

    override _flush(done: TransformCallback): void {
        if (this.messageBytes === undefined) {
            done(new Error(`the object ends after ${this.bytes} bytes, before its encrypted message does: truncated`));
        } else if (this.bytes > this.messageBytes) {
            done(
                new Error(
                    `${this.bytes - this.messageBytes} bytes follow the end of its encrypted message (which ends at byte ${this.messageBytes} of ${this.bytes}): appended after it was written`,
                ),
            );
        } else {
            done();
        }
    }

    private measure(chunk: Buffer): void {
        const start = this.bytes;
        this.bytes += chunk.length;
        if (this.messageBytes !== undefined) {
            return;
        }
        let rest = chunk;
        let at = start;
        while (rest.length > 0) {
            if (this.skip > 0) {
                const n = Math.min(this.skip, rest.length);
                this.skip -= n;
                rest = rest.subarray(n);
                at += n;
                if (this.skip === 0 && this.finalFrame) {
                    this.messageBytes = at;
                    return;
                }
                continue;
            }
            const held = this.pending.length;
            this.pending = held > 0 ? Buffer.concat([this.pending, rest]) : rest;
            const used = this.structure(this.pending);
            if (used === 0) {
                if (this.pending.length > MAX_HEADER_BYTES) {
                    throw new Error(`no encrypted message header in its first ${MAX_HEADER_BYTES} bytes`);
                }
                this.pending = Buffer.from(this.pending);
                return;
            }
            // `used` may reach back into bytes held from earlier chunks.
            rest = this.pending.subarray(used);
            at += used - held;
            this.pending = Buffer.alloc(0);
            if (this.finalFrame && this.skip === 0) {
                this.messageBytes = at;
                return;
            }
        }
    }

    /** Reads the header or a frame's header from `buf`: the bytes it used, 0 if it needs more. */
    private structure(buf: Buffer): number {
        if (this.frameLength === undefined) {
            const header = parseHeader(buf);
            if (header === undefined) {
                return 0;
            }
            this.frameLength = header.frameLength;
            return header.length;
        }
        if (buf.length < 4) {
            return 0;
        }
        if (buf.readUInt32BE(0) !== FINAL_FRAME) {
            // sequence number, IV, content, tag
            this.skip = IV_BYTES + this.frameLength + TAG_BYTES;
            return 4;
        }
        // end marker, sequence number, IV, content length, content, tag
        if (buf.length < 4 + 4 + IV_BYTES + 4) {
            return 0;
        }
        this.finalFrame = true;
        this.skip = buf.readUInt32BE(4 + 4 + IV_BYTES) + TAG_BYTES;
        return 4 + 4 + IV_BYTES + 4;
    }
}
