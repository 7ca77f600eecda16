#!/usr/bin/env python3
"""secure-etcd node bootstrap: fetch this node's bundle from AWS Secrets Manager and write
every file with its mode and owner. Holds no secret. Idempotent: safe to run again."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

# This node's plan (secretArn, region, user, files), filled in by secure-etcd's renderer as JSON.
PLAN = None  # secure-etcd: data
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
    if PLAN is None:
        sys.exit("secure-etcd: no plan: this is the unrendered asset; run the user-data secure-etcd renders")
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
