// Emulates @pulumi/random with real random bytes from Node's CSPRNG.
import * as crypto from "crypto";

type State = Record<string, unknown>;

export function emulateRandomBytes(inputs: State): State {
    const length = inputs.length as number;
    if (!Number.isInteger(length) || length < 1) {
        throw new Error(`random: length must be at least 1, got ${JSON.stringify(length)}`);
    }
    const bytes = crypto.randomBytes(length);
    return { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex"), id: "none" };
}

/** RandomId: the provider's encodings of the same bytes; the id is the unprefixed URL-safe base64. */
export function emulateRandomId(inputs: State): State {
    const byteLength = inputs.byteLength as number;
    if (!Number.isInteger(byteLength) || byteLength < 1) {
        throw new Error(`random: byte_length must be at least 1, got ${JSON.stringify(byteLength)}`);
    }
    const prefix = (inputs.prefix as string | undefined) ?? "";
    const bytes = crypto.randomBytes(byteLength);
    const id = bytes.toString("base64url");
    return {
        ...inputs,
        b64Std: prefix + bytes.toString("base64"),
        b64Url: prefix + id,
        hex: prefix + bytes.toString("hex"),
        dec: prefix + BigInt(`0x${bytes.toString("hex")}`).toString(10),
        id,
    };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const SPECIAL_DEFAULT = "!@#$%&*()-_=+[]{}<>:?";

/** RandomPassword / RandomString: a uniformly drawn string over the enabled character classes. */
export function emulateRandomString(inputs: State): State {
    const length = inputs.length as number;
    const flag = (name: string) => inputs[name] !== false;
    let alphabet = "";
    if (flag("lower")) alphabet += LOWER;
    if (flag("upper")) alphabet += UPPER;
    if (flag("numeric")) alphabet += DIGITS;
    if (flag("special")) alphabet += (inputs.overrideSpecial as string | undefined) ?? SPECIAL_DEFAULT;
    if (!Number.isInteger(length) || length < 1 || alphabet.length === 0) {
        throw new Error("random: length must be at least 1 and at least one character class enabled");
    }
    let result = "";
    for (let i = 0; i < length; i++) {
        result += alphabet[crypto.randomInt(alphabet.length)];
    }
    return { ...inputs, result, id: "none" };
}
