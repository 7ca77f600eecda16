#!/usr/bin/env python3
# Rendered by secure-etcd from src/rbac/assets/rbac_bootstrap.py, with DESIRED filled in from the
# component's RBAC arguments. Do not edit a rendered copy: change the arguments and render again.
"""Converge etcd's auth state (roles, users, auth enabled) to DESIRED below, with etcdctl.

Run once, on one member (any will do), as root, authenticated with the etcd-backup client
certificate: its user gets the root role, so the script can run again after auth is enabled.
Idempotent: it reads the state before every change and skips what is already as desired; a run
with nothing to do issues no write at all. Users and roles it does not manage are reported, never
removed. The root user is created with the password from --root-password-file (needed only while
it does not exist yet); the password goes to etcdctl on stdin, never on a command line, and is
never printed. Auth is enabled last.

Options (environment variable in brackets; the option wins):
  --endpoints URLS            [SECURE_ETCD_ENDPOINTS]  default https://127.0.0.1:2379
  --cacert FILE               [SECURE_ETCD_CACERT]     default /etc/kubernetes/pki/etcd/ca.crt
  --cert FILE                 [SECURE_ETCD_CERT]       default /etc/kubernetes/pki/etcd/backup-client.crt
  --key FILE                  [SECURE_ETCD_KEY]        default /etc/kubernetes/pki/etcd/backup-client.key
  --root-password-file FILE   [SECURE_ETCD_ROOT_PASSWORD_FILE]  no default; one line, no whitespace
  --etcdctl PATH              [SECURE_ETCD_ETCDCTL]    default etcdctl (on PATH); 3.4, 3.5 or 3.6
  --dry-run                   read only: print what would change

Exit status: 0 converged (or nothing to do), 1 an etcdctl command failed, 2 bad usage or input.
Needs Python 3.7+ and nothing beyond its standard library.
"""
import argparse
import base64
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys

# The desired state, filled in by secure-etcd's renderer (src/core/assets.ts) as JSON: {"rootUser",
# "rootRole", "roles": [{"name", "permissions": [{"key", "rangeEnd", "permission"}]}],
# "users": [{"name", "roles"}]}.
DESIRED = None  # secure-etcd: data

PERMISSION_TYPES = {"read": 0, "write": 1, "readwrite": 2}
PERMISSION_NAMES = {v: k for k, v in PERMISSION_TYPES.items()}
# etcdctl's JSON has permType as a number (omitted for READ, 0); accept names too.
PERMISSION_BY_TEXT = {"READ": 0, "WRITE": 1, "READWRITE": 2}
# A user no one creates: authenticating as it tells enabled auth (rejected) from disabled (ignored).
PROBE_USER = "secure-etcd-auth-probe"


class Failure(Exception):
    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def env_or(name, default):
    value = os.environ.get(name, "")
    return value if value else default


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Converge etcd's roles, users and auth to the state this script was generated with.",
    )
    p.add_argument("--endpoints", default=env_or("SECURE_ETCD_ENDPOINTS", "https://127.0.0.1:2379"),
                   help="comma-separated client URLs (default %(default)s)")
    p.add_argument("--cacert", default=env_or("SECURE_ETCD_CACERT", "/etc/kubernetes/pki/etcd/ca.crt"),
                   help="the etcd CA certificate (default %(default)s)")
    p.add_argument("--cert", default=env_or("SECURE_ETCD_CERT", "/etc/kubernetes/pki/etcd/backup-client.crt"),
                   help="the etcd-backup client certificate (default %(default)s)")
    p.add_argument("--key", default=env_or("SECURE_ETCD_KEY", "/etc/kubernetes/pki/etcd/backup-client.key"),
                   help="its private key (default %(default)s)")
    p.add_argument("--root-password-file", default=env_or("SECURE_ETCD_ROOT_PASSWORD_FILE", ""),
                   help="file holding the root user's password; needed only to create that user")
    p.add_argument("--etcdctl", default=env_or("SECURE_ETCD_ETCDCTL", "etcdctl"),
                   help="etcdctl to run (default %(default)s, from PATH)")
    p.add_argument("--dry-run", action="store_true", help="only read, and print what would change")
    p.add_argument("--command-timeout", type=int, default=30, help="seconds per etcdctl call (default 30)")
    return p.parse_args(argv)


def shown(value):
    """Bytes or text, printable."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


class Etcdctl:
    """etcdctl with this run's connection flags; counts the writes it issues."""

    def __init__(self, opts):
        exe = shutil.which(opts.etcdctl)
        if exe is None:
            raise Failure(
                "etcdctl not found (looked for %r%s); install it (Debian: apt-get install etcd-client) "
                "or pass --etcdctl PATH" % (opts.etcdctl, "" if os.sep in opts.etcdctl else " on PATH"),
                2,
            )
        for flag, path in (("--cacert", opts.cacert), ("--cert", opts.cert), ("--key", opts.key)):
            if not os.access(path, os.R_OK):
                raise Failure("%s %s: not a readable file; pass %s FILE" % (flag, path, flag), 2)
        self.exe = exe
        self.timeout = opts.command_timeout
        self.dry_run = opts.dry_run
        self.writes = 0
        self.connection = [
            "--endpoints=" + opts.endpoints,
            "--cacert=" + opts.cacert,
            "--cert=" + opts.cert,
            "--key=" + opts.key,
            "--dial-timeout=5s",
            "--command-timeout=%ds" % max(1, self.timeout - 5),
        ]
        # etcdctl reads ETCDCTL_* (user, password, endpoints...): only this script's options count.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}

    def version(self):
        out = self.call(["version"], connect=False).stdout.decode("utf-8", "replace")
        m = re.search(r"etcdctl version:\s*(\d+)\.(\d+)", out)
        if not m:
            raise Failure("cannot tell the version of %s from: %s" % (self.exe, out.strip()), 2)
        version = (int(m.group(1)), int(m.group(2)))
        if version < (3, 4):
            raise Failure("%s is etcdctl %d.%d; this script needs 3.4 or newer" % ((self.exe,) + version), 2)
        return version

    def call(self, args, stdin=None, check=True, connect=True):
        argv = [self.exe] + (self.connection if connect else []) + list(args)
        try:
            proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=self.env, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise Failure("etcdctl %s: no answer within %d s (endpoints %s)"
                          % (describe(args), self.timeout, self.connection[0].split("=", 1)[1]))
        except OSError as e:
            raise Failure("cannot run %s: %s" % (self.exe, e), 2)
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            hint = ""
            if "permission denied" in err:
                hint = ("\nhint: auth is enabled and this certificate's user lacks the root role; "
                        "authenticate with the etcd-backup client certificate (--cert/--key)")
            raise Failure("etcdctl %s failed (exit %d):\n%s%s"
                          % (describe(args), proc.returncode, err[-3000:], hint))
        return proc

    def read_json(self, args):
        out = self.call(["-w", "json"] + list(args)).stdout
        try:
            return json.loads(out.decode("utf-8"))
        except ValueError:
            raise Failure("etcdctl %s printed no JSON: %s" % (describe(args), shown(out)[:500]))

    def write(self, args, stdin=None):
        """A state change; skipped (and only counted) in a dry run."""
        self.writes += 1
        if not self.dry_run:
            self.call(args, stdin=stdin)


def describe(args):
    # The probe's throwaway password is the only credential that ever reaches argv; hide it anyway.
    return " ".join("--user=<probe>" if shown(a).startswith("--user=") else shown(a) for a in args)


def auth_enabled(ctl, version):
    """Whether auth is enabled.

    etcdctl 3.5+ answers "auth status -w json" ({"enabled": true}; the field is left out when false).
    etcdctl 3.4 has no such command (it prints the help and exits 0), so there: authenticate as a
    user that does not exist, with a random password. With auth enabled etcd refuses ("authentication
    failed, invalid user ID or password"); with auth disabled it answers "authentication is not
    enabled", which etcdctl ignores, and the read then succeeds. Neither changes any state.
    """
    if version >= (3, 5):
        proc = ctl.call(["auth", "status", "-w", "json"], check=False)
        try:
            doc = json.loads(proc.stdout.decode("utf-8"))
        except ValueError:
            doc = None
        if proc.returncode == 0 and isinstance(doc, dict) and "header" in doc:
            return bool(doc.get("enabled", False))
    probe = ctl.call(["--user=%s:%s" % (PROBE_USER, secrets.token_hex(16)),
                      "get", "--keys-only", "--limit=1", "--", "/" + PROBE_USER], check=False)
    if probe.returncode == 0:
        return False
    err = probe.stderr.decode("utf-8", "replace")
    if "authentication failed" in err or "invalid user ID or password" in err:
        return True
    raise Failure("cannot tell whether auth is enabled; etcdctl get (as a probe user) failed (exit %d):\n%s"
                  % (probe.returncode, err.strip()[-3000:]))


def b64bytes(value):
    return base64.b64decode(value) if value else b""


def current_permissions(ctl, role):
    """{(key, range_end): permission type} of an existing role, from "role get -w json"."""
    doc = ctl.read_json(["role", "get", "--", role])
    perms = {}
    for p in doc.get("perm") or []:
        kind = p.get("permType", p.get("perm_type", 0))
        if isinstance(kind, str):
            kind = PERMISSION_BY_TEXT.get(kind.upper(), -1)
        end = p.get("range_end", p.get("rangeEnd", ""))
        perms[(b64bytes(p.get("key", "")), b64bytes(end))] = kind
    return perms


def current_roles(ctl, user):
    return list(ctl.read_json(["user", "get", "--", user]).get("roles") or [])


def range_args(leading, key, end):
    """Positionals after "--" (a key may start with "-"); from-key is a flag: argv cannot hold its NUL."""
    if end == b"":
        return ["--"] + leading + [key]
    if end == b"\x00":
        return ["--from-key", "--"] + leading + [key]
    return ["--"] + leading + [key, end]


def prefix_end(key):
    """clientv3's GetPrefixRangeEnd: the last byte below 0xff incremented, the rest dropped."""
    end = bytearray(key)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def describe_permission(kind, key, end):
    name = PERMISSION_NAMES.get(kind, "type %s" % kind)
    if end == b"":
        return "%s key %s" % (name, shown(key))
    if end == b"\x00":
        return "%s from key %s" % (name, shown(key))
    if end == prefix_end(key):
        return "%s prefix %s" % (name, shown(key))
    return "%s range [%s, %s)" % (name, shown(key), shown(end))


def read_password(path):
    if not path:
        raise Failure("the root user does not exist yet, so its password is needed: "
                      "pass --root-password-file FILE (or set SECURE_ETCD_ROOT_PASSWORD_FILE)", 2)
    try:
        mode = os.stat(path).st_mode
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Failure("cannot read the root password file %s: %s" % (path, e.strerror), 2)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print("warning: %s is accessible to group or others; chmod 600 it" % path, file=sys.stderr)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure("the root password file %s is not UTF-8 text" % path, 2)
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    if not text:
        raise Failure("the root password file %s is empty" % path, 2)
    # etcdctl reads the password from stdin up to the first whitespace: refuse to truncate it.
    if any(c.isspace() for c in text):
        raise Failure("the root password in %s contains whitespace, which etcdctl would cut off; "
                      "use one line without spaces (e.g. from: openssl rand -base64 32)" % path, 2)
    if len(text) < 16:
        raise Failure("the root password in %s is shorter than 16 characters; use a long random one" % path, 2)
    return text


class Run:
    def __init__(self, ctl, opts):
        self.ctl = ctl
        self.opts = opts
        self.changed = 0

    def report(self, item, changes, created=False):
        if not changes and not created:
            print("%s: unchanged" % item)
            return
        self.changed += 1
        verb = "created" if created else "updated"
        if self.ctl.dry_run:
            verb = "would be " + verb
        print("%s: %s%s" % (item, verb, " (%s)" % "; ".join(changes) if changes else ""))
        sys.stdout.flush()

    def role(self, role, existing):
        name = role["name"]
        desired = {}
        for p in role["permissions"]:
            key, end = p["key"].encode("utf-8"), p["rangeEnd"].encode("utf-8")
            desired[(key, end)] = PERMISSION_TYPES[p["permission"]]
        created = name not in existing
        if created:
            self.ctl.write(["role", "add", "--", name])
            current = {}
        else:
            current = current_permissions(self.ctl, name)
        changes = []
        for (key, end), kind in desired.items():
            if current.get((key, end)) != kind:
                # Granting the same key and range again replaces its permission type.
                self.ctl.write(["role", "grant-permission"] + range_args([name, PERMISSION_NAMES[kind]], key, end))
                changes.append("granted " + describe_permission(kind, key, end))
        for (key, end), kind in sorted(current.items()):
            if (key, end) not in desired:
                self.ctl.write(["role", "revoke-permission"] + range_args([name], key, end))
                changes.append("revoked " + describe_permission(kind, key, end))
        self.report("role %s" % name, changes, created)

    def user(self, name, roles, existing, password=False):
        created = name not in existing
        if created:
            if password:
                # A dry run checks the password file when given one, but does not need it.
                dry = self.ctl.dry_run and not self.opts.root_password_file
                secret = "" if dry else read_password(self.opts.root_password_file)
                self.ctl.write(["user", "add", "--interactive=false", "--", name],
                               stdin=(secret + "\n").encode("utf-8"))
            else:
                # Certificate users: etcd takes the user name from the verified client certificate's CN.
                self.ctl.write(["user", "add", "--no-password", "--", name])
            current = []
        else:
            current = current_roles(self.ctl, name)
        changes = []
        for r in roles:
            if r not in current:
                self.ctl.write(["user", "grant-role", "--", name, r])
                changes.append("granted role " + r)
        for r in current:
            if r not in roles:
                self.ctl.write(["user", "revoke-role", "--", name, r])
                changes.append("revoked role " + r)
        if created and not roles:
            changes.append("no roles")
        self.report("user %s" % name, changes, created)


def main(argv):
    opts = parse_args(argv)
    if DESIRED is None:
        raise Failure("no desired state: this is the unrendered asset; run the script secure-etcd renders "
                      "(its rbacBootstrapScript output)", 2)
    ctl = Etcdctl(opts)
    version = ctl.version()
    enabled = auth_enabled(ctl, version)
    roles_now = set(ctl.read_json(["role", "list"]).get("roles") or [])
    users_now = set(ctl.read_json(["user", "list"]).get("users") or [])
    run = Run(ctl, opts)

    root_user, root_role = DESIRED["rootUser"], DESIRED["rootRole"]
    # Created and granted before auth is on: etcd refuses "auth enable" without a root user holding root.
    run.user(root_user, [root_role], users_now, password=True)
    for role in DESIRED["roles"]:
        run.role(role, roles_now)
    for user in DESIRED["users"]:
        run.user(user["name"], user["roles"], users_now)

    managed_users = {root_user} | {u["name"] for u in DESIRED["users"]}
    managed_roles = {root_role} | {r["name"] for r in DESIRED["roles"]}
    for name in sorted(users_now - managed_users):
        roles = current_roles(ctl, name)
        print("user %s: not managed here, left as is (roles: %s)%s"
              % (name, ", ".join(roles) or "none", "; WARNING: it holds root" if root_role in roles else ""))
    for name in sorted(roles_now - managed_roles):
        print("role %s: not managed here, left as is" % name)

    # Last: from here on every request needs a user with the right role.
    if enabled:
        print("auth: unchanged (enabled)")
    else:
        ctl.write(["auth", "enable"])
        run.changed += 1
        print("auth: %s" % ("would be enabled" if ctl.dry_run else "enabled"))

    if run.changed == 0:
        print("everything unchanged; no write issued")
    elif ctl.dry_run:
        print("dry run: %d item(s) would change (%d write(s)); nothing was written" % (run.changed, ctl.writes))
    else:
        print("converged: %d item(s) changed with %d write(s)" % (run.changed, ctl.writes))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Failure as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        sys.exit(130)
