// Cloud-init user-data for a node, derived from its nodeFiles: it creates the etcd user, fetches
// the node's bundle from AWS Secrets Manager with the instance role at boot, and writes every
// file with its mode and owner. The user-data holds no secret: only paths, modes, owners, the
// secret's ARN and the public static-pod manifest.
import { NodeFile } from "../manifests/nodeFiles";
import { toYaml } from "../manifests/staticPod";

/** The bundle as stored in Secrets Manager: file contents by absolute path. */
export interface SecretBundle {
    version: 1;
    files: Record<string, string>;
}

export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/secure-etcd-bootstrap";
/** EC2 refuses user-data over 16 KiB. */
export const USER_DATA_LIMIT = 16384;

export interface UserDataInput {
    files: NodeFile[];
    /** Paths whose content comes from the secret; every other file's content is inline (public). */
    bundlePaths: string[];
    secretArn: string;
    region: string;
    /** The service user to create, if any (the etcd user on members). */
    user?: { name: string; uid: number; gid: number };
}

/** The secret's content for a node: the files its user-data fetches. */
export function secretBundle(files: NodeFile[], bundlePaths: string[]): SecretBundle {
    const wanted = new Set(bundlePaths);
    const bundle: SecretBundle = { version: 1, files: {} };
    for (const f of files) {
        if (wanted.has(f.path)) {
            bundle.files[f.path] = f.content;
        }
    }
    return bundle;
}

/** Every non-directory file except the static-pod manifests: keys and certificates. */
export function defaultBundlePaths(files: NodeFile[]): string[] {
    return files.filter((f) => !f.directory && !f.path.startsWith("/etc/kubernetes/manifests/")).map((f) => f.path);
}

interface PlannedFile {
    path: string;
    mode: string;
    owner: string;
    directory: boolean;
    /** Inline content, or absent when it comes from the bundle. */
    content?: string;
    /** Run right after the file is written (`{path}` is its path). */
    apply?: string[];
}

export function renderUserData(input: UserDataInput): string {
    const fromBundle = new Set(input.bundlePaths);
    const plan = {
        secretArn: input.secretArn,
        region: input.region,
        user: input.user ?? null,
        files: input.files.map((f): PlannedFile => ({
            path: f.path,
            mode: f.mode,
            owner: f.owner,
            directory: f.directory,
            ...(f.directory || fromBundle.has(f.path) ? {} : { content: f.content }),
            ...(f.apply ? { apply: f.apply } : {}),
        })),
    };
    const config = {
        write_files: [
            {
                path: BOOTSTRAP_SCRIPT_PATH,
                permissions: "0700",
                owner: "root:root",
                content: BOOTSTRAP_SCRIPT.replace("__PLAN__", JSON.stringify(plan)),
            },
        ],
        runcmd: [[BOOTSTRAP_SCRIPT_PATH]],
    };
    return `#cloud-config\n${toYaml(config)}`;
}

// Python 3 because cloud-init itself is Python 3: it is on every image that runs cloud-init.
// The AWS CLI reads the instance role; the script retries while the network and role come up.
const BOOTSTRAP_SCRIPT = String.raw`#!/usr/bin/env python3
"""secure-etcd node bootstrap: fetch this node's bundle from AWS Secrets Manager and write
every file with its mode and owner. Holds no secret. Idempotent: safe to run again."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PLAN = json.loads(r"""__PLAN__""")
# Only for tests: write under another root instead of /.
ROOT = os.environ.get("SECURE_ETCD_ROOT", "/")


def on_host(path):
    return os.path.join(ROOT, path.lstrip("/"))


def ensure_user(user):
    if user is None or os.environ.get("SECURE_ETCD_ROOT"):
        return
    name, uid, gid = user["name"], str(user["uid"]), str(user["gid"])
    if subprocess.run(["getent", "group", name], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "--system", "--gid", gid, name], check=True)
    if subprocess.run(["getent", "passwd", name], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--uid", uid, "--gid", gid, "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )


def fetch_bundle():
    aws = shutil.which("aws")
    if aws is None:
        sys.exit("secure-etcd: the AWS CLI (aws) is not on PATH; install AWS CLI v2 in the image")
    command = [aws, "secretsmanager", "get-secret-value", "--secret-id", PLAN["secretArn"],
               "--region", PLAN["region"], "--query", "SecretString", "--output", "text"]
    last = ""
    for attempt in range(12):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            bundle = json.loads(result.stdout)
            if bundle.get("version") != 1:
                sys.exit("secure-etcd: unknown bundle version %r" % bundle.get("version"))
            return bundle["files"]
        last = result.stderr.strip()
        time.sleep(min(2 ** attempt, 30))
    sys.exit("secure-etcd: cannot read %s: %s" % (PLAN["secretArn"], last))


def owner_of(entry):
    uid, gid = entry["owner"].split(":")
    return int(uid), int(gid)


def make_dir(entry):
    path = on_host(entry["path"])
    os.makedirs(path, exist_ok=True)
    os.chown(path, *owner_of(entry))
    os.chmod(path, int(entry["mode"], 8))


def write_file(entry, content):
    path = on_host(entry["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Mode and owner are set before any byte is written, and the file appears whole (rename).
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secure-etcd-")
    try:
        os.fchmod(fd, int(entry["mode"], 8))
        os.fchown(fd, *owner_of(entry))
        with os.fdopen(fd, "w") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def apply(entry):
    """Put a file into effect (load the firewall, enable a unit) before the next one is written."""
    if "apply" not in entry:
        return
    command = [part.replace("{path}", on_host(entry["path"])) for part in entry["apply"]]
    if os.environ.get("SECURE_ETCD_ROOT"):
        # Tests write under another root: record the command, never touch this host's firewall.
        with open(on_host("/.secure-etcd-applied"), "a") as log:
            log.write(json.dumps(command) + "\n")
        return
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("secure-etcd: %s failed: %s" % (" ".join(command), result.stderr.strip()))


def main():
    ensure_user(PLAN["user"])
    bundle = fetch_bundle()
    # In the plan's order: directories before their files, the static-pod manifest last.
    for entry in PLAN["files"]:
        if entry["directory"]:
            make_dir(entry)
        elif "content" in entry:
            write_file(entry, entry["content"])
        elif entry["path"] in bundle:
            write_file(entry, bundle[entry["path"]])
        else:
            sys.exit("secure-etcd: %s is missing from the bundle" % entry["path"])
        apply(entry)
    print("secure-etcd: wrote %d entries" % len(PLAN["files"]))


if __name__ == "__main__":
    main()
`;
