// Every relative link in README.md and docs/**/*.md points to a file or directory of the repository,
// and a `#anchor` to a heading of the page it names: moving a section or renaming a source or test
// file must not leave a newcomer's link dangling. External links (https:, mailto:) are not fetched.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../harness/schema";

/** The Markdown files that make up the documentation; docs/api/ is TypeDoc's output, not committed. */
function markdownFiles(): string[] {
    const files = [path.join(REPO_ROOT, "README.md")];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                if (path.relative(REPO_ROOT, full) !== path.join("docs", "api")) {
                    walk(full);
                }
            } else if (entry.name.endsWith(".md")) {
                files.push(full);
            }
        }
    };
    walk(path.join(REPO_ROOT, "docs"));
    return files.sort();
}

/** The text outside fenced code blocks, with inline code spans blanked (links there are not links). */
function prose(markdown: string): string {
    const out: string[] = [];
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker && marker[0] === fence[0] && marker.length >= fence.length) {
                fence = undefined;
            }
            out.push("");
        } else if (marker) {
            fence = marker;
            out.push("");
        } else {
            out.push(line.replace(/(`+)[^`]*?\1/g, (code) => " ".repeat(code.length)));
        }
    }
    return out.join("\n");
}

/** Link targets: inline links and images `[text](target "title")`, and reference definitions. */
export function linkTargets(markdown: string): string[] {
    const text = prose(markdown);
    const targets: string[] = [];
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g)) {
        targets.push(m[1]);
    }
    for (const m of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) {
        targets.push(m[1]);
    }
    return targets;
}

/** The anchors GitHub gives a page's headings: lowercased, punctuation dropped, spaces to hyphens. */
export function headingAnchors(markdown: string): Set<string> {
    const anchors = new Set<string>();
    const counts = new Map<string, number>();
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
        if (fence !== undefined) {
            if (marker && marker[0] === fence[0] && marker.length >= fence.length) {
                fence = undefined;
            }
            continue;
        }
        if (marker) {
            fence = marker;
            continue;
        }
        const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
        if (heading === undefined) {
            continue;
        }
        const text = heading
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text
            .replace(/[`*]/g, "");
        const slug = text
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
            .replace(/ /g, "-");
        const seen = counts.get(slug) ?? 0;
        counts.set(slug, seen + 1);
        anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
    }
    return anchors;
}

describe("docs: every relative link in README.md and docs/ resolves", () => {
    const files = markdownFiles();

    it("finds the README, the docs index and the pages it lists", () => {
        const relative = files.map((f) => path.relative(REPO_ROOT, f));
        assert.ok(relative.includes("README.md"));
        assert.ok(relative.includes(path.join("docs", "README.md")));
        assert.ok(relative.includes(path.join("docs", "arguments.md")));
    });

    it("reads links as Markdown does: not in code, with titles, anchors and reference definitions", () => {
        const sample = [
            "[a](a.md) [b](b.md#x 'no') ![c](img/c.png \"title\") `[d](not-a-link.md)`",
            "```",
            "[e](in-a-fence.md)",
            "```",
            "[f]: f.md",
        ].join("\n");
        assert.deepEqual(linkTargets(sample), ["a.md", "b.md#x", "img/c.png", "f.md"]);
        assert.deepEqual(
            [...headingAnchors("# Key type: ECDSA P-256\n## `secure-etcd verify`\n## Outputs\n## Outputs")],
            ["key-type-ecdsa-p-256", "secure-etcd-verify", "outputs", "outputs-1"],
        );
    });

    for (const file of files) {
        const name = path.relative(REPO_ROOT, file);
        it(`${name}: relative links point to files that exist, anchors to headings`, () => {
            const markdown = fs.readFileSync(file, "utf8");
            const broken: string[] = [];
            for (const target of linkTargets(markdown)) {
                if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
                    continue; // https:, mailto: ...
                }
                const [linkPath, anchor] = target.split("#", 2);
                const resolved = linkPath === "" ? file : path.resolve(path.dirname(file), decodeURI(linkPath));
                if (!resolved.startsWith(REPO_ROOT + path.sep) && resolved !== REPO_ROOT) {
                    broken.push(`${target}: outside the repository`);
                    continue;
                }
                if (!fs.existsSync(resolved)) {
                    broken.push(`${target}: no such file`);
                    continue;
                }
                if (anchor !== undefined && resolved.endsWith(".md")) {
                    const anchors = headingAnchors(fs.readFileSync(resolved, "utf8"));
                    if (!anchors.has(anchor)) {
                        broken.push(`${target}: no heading with the anchor #${anchor}`);
                    }
                }
            }
            assert.deepEqual(broken, [], `${name} has broken links`);
        });
    }
});
