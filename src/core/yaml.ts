// YAML text of the documents the component renders (static pods, configuration files, rule files),
// byte for byte as the `yaml` package's `stringify` writes them, but without building its document
// tree first: a cluster renders nine such documents, and the tree (and warming up its code in the
// first cluster) was a visible part of the component's construction cost (docs/benchmarks.md).
// Only a subset whose text is known is written here: maps, sequences, strings, integers and
// booleans, in block style. Anything else (an object met twice, which yaml writes as an anchor and
// an alias; null; other numbers; text beyond printable ASCII or that would fold; a block that needs
// an indentation indicator, or a chomping indicator other than clip or strip) sends the whole
// document to `yaml`, so the text is the same either way (test/unit/yaml.test.ts compares them).
import * as YAML from "yaml";

export interface YamlOptions {
    /** As `yaml`'s `lineWidth`: where flow scalars fold, 0 for never. Default 80, as `yaml`'s. */
    lineWidth?: number;
}

/** The document's text, as `YAML.stringify(document, options)` writes it. */
export function toYaml(document: unknown, options: YamlOptions = {}): string {
    const text = blockYaml(document, options.lineWidth ?? DEFAULT_LINE_WIDTH);
    return text ?? YAML.stringify(document, options);
}

const DEFAULT_LINE_WIDTH = 80;
/** `yaml`'s `minContentWidth` default: no folding leaves less than this on a line. */
const MIN_CONTENT_WIDTH = 20;

/** Thrown (and caught in this file) when a value is outside the subset. */
const OUTSIDE = new Error("outside the subset written without yaml");

/** The text written without `yaml`, or undefined outside the subset. Internal, exported for testing. */
export function blockYaml(document: unknown, lineWidth: number): string | undefined {
    if (!isPlainObject(document) && !Array.isArray(document)) {
        return undefined;
    }
    try {
        const writer = new BlockWriter(lineWidth);
        return `${writer.collection(document, "")}\n`;
    } catch (e) {
        if (e === OUTSIDE) {
            return undefined;
        }
        throw e;
    }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    if (typeof value !== "object" || value === null) {
        return false;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    return proto === Object.prototype || proto === null;
}

/** The core schema's tests for plain text that reads back as something other than a string. */
const NOT_A_STRING: RegExp[] = coreSchemaTests();

function coreSchemaTests(): RegExp[] {
    const tags = new YAML.Document().schema.tags as { default?: boolean; tag: string; test?: RegExp }[];
    return tags.filter((t) => t.default && t.tag !== "tag:yaml.org,2002:str" && t.test).map((t) => t.test!);
}

/** Printable ASCII and newlines only: anything else may need an escape. */
const SIMPLE_TEXT = /^[\x20-\x7e\n]*$/;
/** What plain text may not hold (`yaml`'s plainString, which quotes or blocks it instead). */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/** Keys written as they are; others (quoted ones) are left to yaml. */
const SIMPLE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

class BlockWriter {
    /** Objects already written: a second sight is an alias in yaml's output. */
    private readonly seen = new Set<object>();

    constructor(private readonly lineWidth: number) {}

    /**
     * A map or sequence whose first line starts where the caller is, and whose other lines start
     * with `indent` (yaml's stringifyBlockCollection).
     */
    collection(value: object, indent: string): string {
        if (this.seen.has(value)) {
            throw OUTSIDE;
        }
        this.seen.add(value);
        const lines: string[] = [];
        if (Array.isArray(value)) {
            const itemIndent = `${indent}  `;
            for (const item of value as unknown[]) {
                lines.push(`- ${this.node(item, itemIndent)}`);
            }
            if (lines.length === 0) {
                return "[]";
            }
        } else {
            const valueIndent = `${indent}  `;
            for (const [key, item] of Object.entries(value)) {
                if (item === undefined) {
                    continue; // yaml leaves such keys out
                }
                lines.push(this.pair(key, item, valueIndent));
            }
            if (lines.length === 0) {
                return "{}";
            }
        }
        return lines.join(`\n${indent}`);
    }

    /** `key: value`, the value's own lines indented by `indent` (yaml's stringifyPair). */
    private pair(key: string, value: unknown, indent: string): string {
        // Keys over 1,024 characters are written as explicit (`? key`) keys.
        if (key.length > 1024 || !SIMPLE_KEY.test(key) || DOCUMENT_MARKER.test(key) || !isPlainText(key)) {
            throw OUTSIDE;
        }
        if (typeof value === "object" && value !== null) {
            const body = this.collection(value, indent);
            return body === "{}" || body === "[]" ? `${key}: ${body}` : `${key}:\n${indent}${body}`;
        }
        return `${key}: ${this.scalar(value, indent, key.length + 2)}`;
    }

    /** A sequence item or a pair's value. */
    private node(value: unknown, indent: string): string {
        if (typeof value === "object" && value !== null) {
            return this.collection(value, indent);
        }
        return this.scalar(value, indent, undefined);
    }

    /**
     * A scalar whose continuation lines start with `indent`; `indentAtStart` is where a pair's
     * value starts on its line (yaml folds it to the next line when that is too far right).
     */
    private scalar(value: unknown, indent: string, indentAtStart: number | undefined): string {
        switch (typeof value) {
            case "boolean":
                return value ? "true" : "false";
            case "number":
                if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
                    throw OUTSIDE;
                }
                return String(value);
            case "string":
                return value.includes("\n") ? this.literal(value, indent) : this.flowText(value, indent, indentAtStart);
            default:
                throw OUTSIDE; // null, undefined in a sequence, functions, symbols, bigints
        }
    }

    /** One line of text: plain when it reads back as this string, else quoted. */
    private flowText(value: string, indent: string, indentAtStart: number | undefined): string {
        // Document markers are plain or quoted depending on where they stand: left to yaml.
        if (!SIMPLE_TEXT.test(value) || DOCUMENT_MARKER.test(value)) {
            throw OUTSIDE;
        }
        if (isPlainText(value)) {
            if (!this.unfolded(value, indent, indentAtStart)) {
                throw OUTSIDE;
            }
            return value;
        }
        // yaml's quotedString: single quotes when the text holds double quotes and no single one,
        // else double quotes, which for printable ASCII on one line escape as JSON does.
        const quoted = value.includes('"') && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
        if (this.lineWidth > 0 && quoted.length > this.foldStep(indent)) {
            throw OUTSIDE;
        }
        return quoted;
    }

    /** Whether yaml's foldFlowLines leaves plain text as it is. */
    private unfolded(value: string, indent: string, indentAtStart: number | undefined): boolean {
        if (this.lineWidth <= 0 || value.length <= this.foldStep(indent)) {
            return true;
        }
        // Longer: it folds at a space, or before the text when the key leaves too little room.
        const minContent = this.lineWidth < MIN_CONTENT_WIDTH ? 0 : MIN_CONTENT_WIDTH;
        const movedDown = indentAtStart !== undefined && indentAtStart > this.lineWidth - Math.max(2, minContent);
        return !value.includes(" ") && !movedDown;
    }

    /** Text up to this length is never folded (foldFlowLines' endStep). */
    private foldStep(indent: string): number {
        const minContent = this.lineWidth < MIN_CONTENT_WIDTH ? 0 : MIN_CONTENT_WIDTH;
        return Math.max(1 + minContent, 1 + this.lineWidth - indent.length);
    }

    /**
     * Several lines as a literal block (`|`, or `|-` without a final newline), each line after
     * `indent`: yaml's blockString for text that starts with neither a space nor a newline and
     * ends in one newline at most, after a character that is not a space.
     */
    private literal(value: string, indent: string): string {
        if (!SIMPLE_TEXT.test(value) || value[0] === " " || value[0] === "\n") {
            throw OUTSIDE;
        }
        const clip = value.endsWith("\n");
        const body = clip ? value.slice(0, -1) : value;
        if (
            body === "" ||
            /[\n ]$/.test(body) ||
            (this.lineWidth > 0 && overLimit(value, this.lineWidth - indent.length))
        ) {
            throw OUTSIDE;
        }
        return `|${clip ? "" : "-"}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
    }
}

/** Text that reads back as this very string when written plain (yaml's plainString checks). */
function isPlainText(value: string): boolean {
    return value !== "" && !NOT_PLAIN.test(value) && !NOT_A_STRING.some((test) => test.test(value));
}

/** Some line is longer than `limit`: yaml would fold the block (lineLengthOverLimit). */
function overLimit(value: string, limit: number): boolean {
    return value.split("\n").some((line) => line.length > limit);
}
