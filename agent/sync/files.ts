// Converging files on a node to their desired state: compare content, mode and owner with what is
// on disk, and replace only what differs, so that no reader ever sees a half-written file or a key
// with a loose mode: a temporary file beside the target gets its mode and owner before any byte,
// is flushed to disk, renamed over the target, and the directory is flushed too.
import * as fs from "fs";
import * as path from "path";
import { NodeFile } from "../../src/manifests/nodeFiles";

/** Where a node path lands: under `root` (tests and chroots), else itself. */
export function onHost(root: string, nodePath: string): string {
    return root === "/" ? nodePath : path.join(root, nodePath);
}

function owner(entry: NodeFile): { uid: number; gid: number } {
    const [uid, gid] = entry.owner.split(":").map(Number);
    return { uid, gid };
}

const mode = (entry: NodeFile) => parseInt(entry.mode, 8);

/** The bytes an entry stands for: binary files (a DER CRL) travel base64-encoded. */
export function contentBytes(entry: NodeFile): Buffer {
    return Buffer.from(entry.content, entry.encoding === "base64" ? "base64" : "utf8");
}

/** Whether ownership can be set here: only root may give a file away. */
const canChown = () => process.getuid?.() === 0;

/** What differs between the entry and the disk, or [] when nothing does. */
export function differences(root: string, entry: NodeFile): string[] {
    const target = onHost(root, entry.path);
    let stat: fs.Stats;
    try {
        stat = fs.lstatSync(target);
    } catch {
        return ["missing"];
    }
    const found: string[] = [];
    if (entry.directory !== stat.isDirectory() || (!entry.directory && !stat.isFile())) {
        return [entry.directory ? "not a directory" : "not a regular file"];
    }
    if ((stat.mode & 0o7777) !== mode(entry)) {
        found.push(`mode ${(stat.mode & 0o7777).toString(8).padStart(4, "0")}`);
    }
    const want = owner(entry);
    if (canChown() && (stat.uid !== want.uid || stat.gid !== want.gid)) {
        found.push(`owner ${stat.uid}:${stat.gid}`);
    }
    if (!entry.directory && !fs.readFileSync(target).equals(contentBytes(entry))) {
        found.push("content");
    }
    return found;
}

function fsyncDirectory(dir: string): void {
    const fd = fs.openSync(dir, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** Creates or corrects a directory's mode and owner. */
function writeDirectory(target: string, entry: NodeFile): void {
    fs.mkdirSync(target, { recursive: true, mode: mode(entry) });
    if (canChown()) {
        const { uid, gid } = owner(entry);
        fs.chownSync(target, uid, gid);
    }
    fs.chmodSync(target, mode(entry));
}

/**
 * Replaces the file at the entry's path with the entry, whole: mode and owner first, content
 * flushed, an atomic rename, then the directory flushed. A failure leaves the old file as it was
 * and no temporary file behind.
 */
export function writeEntry(root: string, entry: NodeFile): void {
    const target = onHost(root, entry.path);
    if (entry.directory) {
        writeDirectory(target, entry);
        return;
    }
    const dir = path.dirname(target);
    fs.mkdirSync(dir, { recursive: true });
    const temporary = path.join(dir, `.secure-etcd-${path.basename(target)}.${process.pid}.tmp`);
    // 0600 until the intended mode is set: nobody reads a key through a looser mode in between.
    const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
        if (canChown()) {
            const { uid, gid } = owner(entry);
            fs.fchownSync(fd, uid, gid);
        }
        fs.fchmodSync(fd, mode(entry));
        fs.writeFileSync(fd, contentBytes(entry));
        fs.fsyncSync(fd);
    } catch (e) {
        fs.closeSync(fd);
        fs.rmSync(temporary, { force: true });
        throw e;
    }
    fs.closeSync(fd);
    try {
        fs.renameSync(temporary, target);
    } catch (e) {
        fs.rmSync(temporary, { force: true });
        throw e;
    }
    fsyncDirectory(dir);
}
