#!/usr/bin/env python3
"""secure-etcd node bootstrap: install the node agent (when the plan names its artifact) only if
its SHA-256 matches, fetch this node's bundle from AWS Secrets Manager and write every file with
its mode and owner. Holds no secret. Idempotent: safe to run again.

Run by the systemd unit secure-etcd-bootstrap.service, which starts it again after a failed run
until one succeeds. Every run leaves its outcome for node_exporter's textfile collector, and a
successful one leaves the marker that stops the unit from running at later boots."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

# This node's plan (secretArn, region, user, agent, files, state), filled in by secure-etcd's renderer as JSON.
PLAN = None  # secure-etcd: data
# Only for tests: write under another root instead of /.
ROOT = os.environ.get("SECURE_ETCD_ROOT", "/")
# Only for tests: append each wait's seconds to this file instead of sleeping.
WAITS_LOG = os.environ.get("SECURE_ETCD_WAITS_LOG")
ATTEMPTS_PER_RUN = 12


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


def aws_cli():
    aws = shutil.which("aws")
    if aws is None:
        sys.exit("secure-etcd: the AWS CLI (aws) is not on PATH; install AWS CLI v2 in the image")
    return aws


def aws_env():
    """The environment for the AWS CLI: IMDSv2 only. Without a session token the CLI would fall back
    to IMDSv1, which anything on the host able to forward a request could use to read the role."""
    return dict(os.environ, AWS_EC2_METADATA_V1_DISABLED="true")


def wait(seconds):
    if WAITS_LOG:
        with open(WAITS_LOG, "a") as log:
            log.write("%d\n" % seconds)
        return
    time.sleep(seconds)


def retrying(attempt, what):
    """attempt() until it returns (True, value), waiting 1, 2, 4, ... 30 s after each failure while
    the network and the instance role come up, each failure in the journal; after twelve, exit with
    the last error (the unit starts the next run)."""
    last = ""
    for n in range(ATTEMPTS_PER_RUN):
        ok, value = attempt()
        if ok:
            return value
        last = value
        delay = min(2 ** n, 30)
        print("secure-etcd: attempt %d of %d to read %s failed: %s; next in %d s"
              % (n + 1, ATTEMPTS_PER_RUN, what, last, delay), file=sys.stderr, flush=True)
        wait(delay)
    sys.exit("secure-etcd: cannot read %s: %s" % (what, last))


def fetch_bundle():
    command = [aws_cli(), "secretsmanager", "get-secret-value", "--secret-id", PLAN["secretArn"],
               "--region", PLAN["region"], "--query", "SecretString", "--output", "text"]

    def attempt():
        result = subprocess.run(command, capture_output=True, text=True, env=aws_env())
        return (True, result.stdout) if result.returncode == 0 else (False, result.stderr.strip())

    bundle = json.loads(retrying(attempt, PLAN["secretArn"]))
    version = bundle.get("version")
    if version == 1:
        return bundle["files"]
    if version == 2:
        # Every file of the member with its mode and owner (what node sync converges to); the
        # plan already says how to write each, so only the contents are taken from it.
        return {entry["path"]: entry["content"] for entry in bundle["files"] if not entry["directory"]}
    sys.exit("secure-etcd: unknown bundle version %r" % version)


def record_bundle_source():
    """Where this node's bundle lives, for node sync (the bundle cannot name its own secret)."""
    write_public(on_host(PLAN["state"]["bundleSourcePath"]),
                 json.dumps({"secretArn": PLAN["secretArn"], "region": PLAN["region"]}) + "\n")


def download(url, out):
    """Writes what url holds to the binary file out: (True, None), or (False, why) to try again."""
    out.seek(0)
    out.truncate()
    if url.startswith("s3://"):
        # With the instance role; to stdout, so the file keeps the mode it was created with.
        result = subprocess.run([aws_cli(), "s3", "cp", url, "-", "--region", PLAN["region"], "--only-show-errors"],
                                stdout=out, stderr=subprocess.PIPE, env=aws_env())
        return result.returncode == 0, result.stderr.decode(errors="replace").strip()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        return True, None
    except Exception as e:  # URLError, HTTPError, IncompleteRead, timeouts: all worth another try
        return False, str(e) or type(e).__name__


def sha256_of(f):
    f.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def install_agent(agent):
    """Download the node agent into a root-only temporary file beside its path, check its SHA-256,
    and only then make it executable and rename it into place. On a mismatch nothing is installed
    (an agent already there stays) and the boot stops, as when the bundle cannot be read."""
    path = on_host(agent["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secure-etcd-agent-")
    try:
        with os.fdopen(fd, "w+b") as out:
            retrying(lambda: download(agent["url"], out), agent["url"])
            out.flush()
            os.fsync(out.fileno())
            actual = sha256_of(out)
        if actual != agent["sha256"].lower():
            sys.exit("secure-etcd: the node agent at %s has SHA-256 %s, not the expected %s; refusing to "
                     "install it (nothing installed at %s)" % (agent["url"], actual, agent["sha256"].lower(),
                                                              agent["path"]))
        os.chmod(tmp, 0o755)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print("secure-etcd: installed the node agent at %s (sha256 %s)" % (agent["path"], actual))
    if shutil.which("node") is None:
        print("secure-etcd: warning: no node on PATH; the agent at %s needs Node.js 20 or later" % agent["path"],
              file=sys.stderr)


def owner_of(entry):
    uid, gid = entry["owner"].split(":")
    return int(uid), int(gid)


def make_dir(entry):
    path = on_host(entry["path"])
    os.makedirs(path, exist_ok=True)
    os.chown(path, *owner_of(entry))
    os.chmod(path, int(entry["mode"], 8))


def file_bytes(entry, content):
    """A file's bytes: base64-decoded when the plan says so (a DER CRL), UTF-8 text otherwise."""
    if entry.get("encoding") == "base64":
        return base64.b64decode(content, validate=True)
    return content.encode("utf-8")


def write_file(entry, content):
    data = file_bytes(entry, content)
    path = on_host(entry["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Mode and owner are set before any byte is written, and the file appears whole (rename).
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secure-etcd-")
    try:
        os.fchmod(fd, int(entry["mode"], 8))
        os.fchown(fd, *owner_of(entry))
        with os.fdopen(fd, "wb") as out:
            out.write(data)
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


def label_value(value):
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def previous_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_public(path, text):
    """A world-readable file (no secret in it), replaced whole."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".secure-etcd-")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def record_run(succeeded, now=None):
    """This run's outcome: the state file (consecutive failures, last success) and the metrics that
    node_exporter's textfile collector exports from it; on success, the marker too."""
    state_plan = PLAN["state"]
    now = int(time.time() if now is None else now)
    state = previous_state(on_host(state_plan["statePath"]))
    state = {
        "lastRun": now,
        "lastRunSucceeded": succeeded,
        "consecutiveFailures": 0 if succeeded else state.get("consecutiveFailures", 0) + 1,
        "lastSuccess": now if succeeded else state.get("lastSuccess"),
    }
    write_public(on_host(state_plan["statePath"]), json.dumps(state) + "\n")
    labels = '{etcd_cluster="%s",member="%s"}' % (label_value(state_plan["cluster"]), label_value(state_plan["member"]))
    metrics = [
        ("success", "gauge", "1 if the last run wrote every file of this node, 0 if it stopped.",
         1 if succeeded else 0),
        ("consecutive_failures", "gauge", "Runs in a row that stopped; 0 after a success.",
         state["consecutiveFailures"]),
        ("last_run_timestamp_seconds", "gauge", "When the last run ended.", now),
    ]
    if state["lastSuccess"] is not None:
        metrics.append(("last_success_timestamp_seconds", "gauge", "When a run last succeeded.", state["lastSuccess"]))
    text = ""
    for name, kind, help_text, value in metrics:
        metric = "secure_etcd_node_bootstrap_" + name
        text += "# HELP %s %s\n# TYPE %s %s\n%s%s %d\n" % (metric, help_text, metric, kind, metric, labels, value)
    write_public(on_host(state_plan["metricsPath"]), text)
    if succeeded:
        write_public(on_host(state_plan["donePath"]), "%d\n" % now)


def main():
    if PLAN is None:
        sys.exit("secure-etcd: no plan: this is the unrendered asset; run the user-data secure-etcd renders")
    try:
        bootstrap()
    except BaseException as stopped:
        if not (isinstance(stopped, SystemExit) and stopped.code in (None, 0)):
            record_run(False)
        raise
    record_run(True)


def bootstrap():
    ensure_user(PLAN["user"])
    # Before the bundle: a node whose agent does not check out never fetches its secrets.
    if PLAN.get("agent"):
        install_agent(PLAN["agent"])
    bundle = fetch_bundle()
    # In the plan's order: directories before their files, the static-pod manifest last. A member
    # that joins a running cluster leaves its manifest to node sync, which registers it as a learner
    # before etcd first starts.
    deferred = set(PLAN.get("deferred", []))
    for entry in PLAN["files"]:
        if entry["path"] in deferred:
            print("secure-etcd: leaving %s to node sync (this member joins a running cluster)" % entry["path"])
            continue
        if entry["directory"]:
            make_dir(entry)
        elif "content" in entry:
            write_file(entry, entry["content"])
        elif entry["path"] in bundle:
            write_file(entry, bundle[entry["path"]])
        else:
            sys.exit("secure-etcd: %s is missing from the bundle" % entry["path"])
        apply(entry)
    record_bundle_source()
    print("secure-etcd: wrote %d entries" % len(PLAN["files"]))


if __name__ == "__main__":
    main()
