"""Unit tests of src/rbac/assets/rbac_bootstrap.py: how it diffs the desired roles, users and
permissions against etcd's and which etcdctl commands it issues for that (against an in-memory
etcd that answers as etcdctl does), its options and environment, the root password file, and how
it runs etcdctl (against a stand-in executable)."""
import base64
import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

from asset_loader import load_asset

rbac = load_asset("rbac/assets/rbac_bootstrap.py", "rbac_bootstrap")

# What the component renders for resolveRbac({}) plus an application role with a prefix and a key.
DESIRED = {
    "rootUser": "root",
    "rootRole": "root",
    "roles": [
        {
            "name": "kube-apiserver",
            "permissions": [
                {"key": "/registry/", "rangeEnd": "/registry0", "prefix": True, "permission": "readwrite"},
            ],
        },
        {
            "name": "app",
            "permissions": [
                {"key": "/app/", "rangeEnd": "/app0", "prefix": True, "permission": "read"},
                {"key": "/app/config", "rangeEnd": "", "prefix": False, "permission": "write"},
            ],
        },
    ],
    "users": [
        {"name": "kube-apiserver-etcd-client", "roles": ["kube-apiserver"]},
        {"name": "kube-etcd-healthcheck-client", "roles": []},
        {"name": "etcd-backup", "roles": ["root"]},
        {"name": "app-client", "roles": ["app"]},
    ],
}
PASSWORD = "Xq3vR9tLm2Wz8KpA4sNd"
READ, WRITE, READWRITE = 0, 1, 2


def text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def raw(value):
    return value if isinstance(value, bytes) else value.encode("utf-8")


def b64(value):
    return base64.b64encode(value).decode("ascii")


class FakeEtcd:
    """etcd's auth state, read and changed the way etcdctl does; it refuses what etcd refuses."""

    def __init__(self, version="3.5.17"):
        self.version = version
        self.enabled = False
        self.roles = {}  # name: {(key, range_end): permission type}
        self.users = {}  # name: sorted role names
        self.passwords = {}  # name: password, for users created with one
        self.writes = []  # every state-changing command line, as text

    def run(self, args, stdin):
        """(exit status, stdout, stderr) of `etcdctl <args>`, without the connection flags."""
        if args == ["version"]:
            return 0, "etcdctl version: %s\nAPI version: %s\n" % (self.version, self.version[:3]), ""
        if args == ["auth", "status", "-w", "json"]:
            if self.version.startswith("3.4"):
                return 0, "NAME:\n\tauth - Enable or disable authentication\n", ""  # no such command
            doc = {"header": {"revision": 1}}
            if self.enabled:
                doc["enabled"] = True  # left out when false
            return 0, json.dumps(doc), ""
        if text(args[0]).startswith("--user="):
            if self.enabled:
                return 1, "", "Error: etcdserver: authentication failed, invalid user ID or password\n"
            return 0, "", ""
        if args[:2] == ["-w", "json"]:
            return self.read(args[2:])
        self.writes.append([text(a) for a in args])
        return self.write(args, stdin)

    def read(self, args):
        def answer(doc):
            return 0, json.dumps(dict(doc, header={"revision": 1})), ""

        if args == ["role", "list"]:
            return answer({"roles": sorted(self.roles)} if self.roles else {})
        if args == ["user", "list"]:
            return answer({"users": sorted(self.users)} if self.users else {})
        if args[:3] == ["role", "get", "--"] and args[3] in self.roles:
            perms = []
            for (key, end), kind in sorted(self.roles[args[3]].items()):
                perm = {"key": b64(key)}
                if kind:
                    perm["permType"] = kind
                if end:
                    perm["range_end"] = b64(end)
                perms.append(perm)
            return answer({"perm": perms} if perms else {})
        if args[:3] == ["user", "get", "--"] and args[3] in self.users:
            roles = self.users[args[3]]
            return answer({"roles": roles} if roles else {})
        return 1, "", "Error: etcdserver: not found: %s\n" % args

    def write(self, args, stdin):
        def refuse(message):
            return 1, "", "Error: etcdserver: %s\n" % message

        if args == ["auth", "enable"]:
            if "root" not in self.users:
                return refuse("root user does not exist")
            if "root" not in self.users["root"]:
                return refuse("root user does not have root role")
            self.enabled = True
            return 0, "Authentication Enabled\n", ""
        dash = args.index("--")
        verb, flags, names = " ".join(args[:2]), args[2:dash], args[dash + 1:]
        if verb == "role add":
            if names[0] in self.roles:
                return refuse("role name already exists")
            self.roles[names[0]] = {}
        elif verb in ("role grant-permission", "role revoke-permission"):
            granting = verb == "role grant-permission"
            name, kind = names[0], (names[1] if granting else None)
            rest = names[2:] if granting else names[1:]
            key = raw(rest[0])
            end = b"\x00" if "--from-key" in flags else (raw(rest[1]) if len(rest) > 1 else b"")
            if name not in self.roles:
                return refuse("role name not found")
            if granting:
                self.roles[name][(key, end)] = rbac.PERMISSION_TYPES[kind]
            elif self.roles[name].pop((key, end), None) is None:
                return refuse("permission is not granted to the role")
        elif verb == "user add":
            if names[0] in self.users:
                return refuse("user name already exists")
            if flags == ["--interactive=false"]:
                self.passwords[names[0]] = stdin.decode("utf-8").rstrip("\n")
            elif flags != ["--no-password"]:
                return 2, "", "unexpected flags %s" % flags
            self.users[names[0]] = []
        elif verb == "user grant-role":
            name, role = names
            if name not in self.users:
                return refuse("user name not found")
            if role != "root" and role not in self.roles:  # etcd's root role needs no role add
                return refuse("role name not found")
            self.users[name] = sorted(set(self.users[name]) | {role})
        elif verb == "user revoke-role":
            name, role = names
            if role not in self.users.get(name, []):
                return refuse("role is not granted to the user")
            self.users[name].remove(role)
        else:
            return 2, "", "unknown command %s" % args
        return 0, "OK\n", ""


class FakeEtcdctl(rbac.Etcdctl):
    """The script's own Etcdctl, with the etcdctl process replaced by a FakeEtcd."""

    def __init__(self, opts, etcd):
        # Not the real __init__: that one looks for etcdctl and the certificates.
        self.exe = "etcdctl"
        self.timeout = opts.command_timeout
        self.dry_run = opts.dry_run
        self.writes = 0
        self.connection = ["--endpoints=" + opts.endpoints]
        self.env = {}
        self.etcd = etcd

    def call(self, args, stdin=None, check=True, connect=True):
        status, out, err = self.etcd.run(list(args), stdin)
        if check and status != 0:
            raise rbac.Failure("etcdctl %s failed (exit %d):\n%s" % (rbac.describe(args), status, err))
        return subprocess.CompletedProcess(args, status, out.encode("utf-8"), err.encode("utf-8"))


@contextlib.contextmanager
def clean_environment(**variables):
    """os.environ without any SECURE_ETCD_* variable but these."""
    with mock.patch.dict(os.environ):
        for name in [n for n in os.environ if n.startswith("SECURE_ETCD_")]:
            del os.environ[name]
        os.environ.update(variables)
        yield


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="secure-etcd-rbac-test-")
        self.addCleanup(shutil.rmtree, self.dir)

    def file(self, name, content, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(raw(content))
        os.chmod(path, mode)
        return path


class ConvergeTest(TempDirTest):
    """main() end to end against a FakeEtcd: the writes it issues and what it reports."""

    def setUp(self):
        super().setUp()
        self.password_file = self.file("root-password", PASSWORD + "\n")

    def converge(self, etcd, *argv, desired=DESIRED):
        out = io.StringIO()
        with clean_environment(), \
                mock.patch.object(rbac, "DESIRED", desired), \
                mock.patch.object(rbac, "Etcdctl", lambda opts: FakeEtcdctl(opts, etcd)), \
                contextlib.redirect_stdout(out):
            status = rbac.main(list(argv))
        return status, out.getvalue()

    def assertConverged(self, etcd):
        self.assertTrue(etcd.enabled)
        self.assertEqual(etcd.passwords, {"root": PASSWORD})
        self.assertEqual(etcd.users, {
            "root": ["root"],
            "kube-apiserver-etcd-client": ["kube-apiserver"],
            "kube-etcd-healthcheck-client": [],
            "etcd-backup": ["root"],
            "app-client": ["app"],
        })
        self.assertEqual(etcd.roles, {
            "kube-apiserver": {(b"/registry/", b"/registry0"): READWRITE},
            "app": {(b"/app/", b"/app0"): READ, (b"/app/config", b""): WRITE},
        })

    def test_a_fresh_cluster_gets_root_first_then_roles_then_users_then_auth(self):
        etcd = FakeEtcd()
        status, out = self.converge(etcd, "--root-password-file", self.password_file)
        self.assertEqual(status, 0)
        self.assertEqual(etcd.writes, [
            ["user", "add", "--interactive=false", "--", "root"],
            ["user", "grant-role", "--", "root", "root"],
            ["role", "add", "--", "kube-apiserver"],
            ["role", "grant-permission", "--", "kube-apiserver", "readwrite", "/registry/", "/registry0"],
            ["role", "add", "--", "app"],
            ["role", "grant-permission", "--", "app", "read", "/app/", "/app0"],
            ["role", "grant-permission", "--", "app", "write", "/app/config"],
            ["user", "add", "--no-password", "--", "kube-apiserver-etcd-client"],
            ["user", "grant-role", "--", "kube-apiserver-etcd-client", "kube-apiserver"],
            ["user", "add", "--no-password", "--", "kube-etcd-healthcheck-client"],
            ["user", "add", "--no-password", "--", "etcd-backup"],
            ["user", "grant-role", "--", "etcd-backup", "root"],
            ["user", "add", "--no-password", "--", "app-client"],
            ["user", "grant-role", "--", "app-client", "app"],
            ["auth", "enable"],
        ])
        self.assertConverged(etcd)
        self.assertIn("user root: created (granted role root)\n", out)
        self.assertIn("role app: created (granted read prefix /app/; granted write key /app/config)\n", out)
        self.assertIn("user kube-etcd-healthcheck-client: created (no roles)\n", out)
        self.assertIn("auth: enabled\n", out)
        self.assertTrue(out.endswith("converged: 8 item(s) changed with 15 write(s)\n"), out)
        self.assertNotIn(PASSWORD, out)

    def test_a_second_run_writes_nothing_and_needs_no_password(self):
        etcd = FakeEtcd()
        self.converge(etcd, "--root-password-file", self.password_file)
        etcd.writes = []
        status, out = self.converge(etcd)
        self.assertEqual((status, etcd.writes), (0, []))
        self.assertIn("role kube-apiserver: unchanged\n", out)
        self.assertIn("auth: unchanged (enabled)\n", out)
        self.assertTrue(out.endswith("everything unchanged; no write issued\n"), out)

    def test_drift_is_corrected_and_what_it_does_not_manage_is_left_alone(self):
        etcd = FakeEtcd()
        self.converge(etcd, "--root-password-file", self.password_file)
        etcd.roles["kube-apiserver"] = {
            (b"/registry/", b"/registry0"): READ,  # the wrong type
            (b"/secrets/", b""): READWRITE,  # one too many
        }
        del etcd.roles["app"]
        etcd.users["kube-etcd-healthcheck-client"] = ["kube-apiserver"]
        etcd.users["legacy"] = ["root"]
        etcd.roles["legacy-role"] = {}
        etcd.writes = []
        status, out = self.converge(etcd)
        self.assertEqual(status, 0)
        self.assertEqual(etcd.writes, [
            ["role", "grant-permission", "--", "kube-apiserver", "readwrite", "/registry/", "/registry0"],
            ["role", "revoke-permission", "--", "kube-apiserver", "/secrets/"],
            ["role", "add", "--", "app"],
            ["role", "grant-permission", "--", "app", "read", "/app/", "/app0"],
            ["role", "grant-permission", "--", "app", "write", "/app/config"],
            ["user", "revoke-role", "--", "kube-etcd-healthcheck-client", "kube-apiserver"],
        ])
        self.assertIn("role kube-apiserver: updated (granted readwrite prefix /registry/; "
                      "revoked readwrite key /secrets/)\n", out)
        self.assertIn("user kube-etcd-healthcheck-client: updated (revoked role kube-apiserver)\n", out)
        self.assertIn("user legacy: not managed here, left as is (roles: root); WARNING: it holds root\n", out)
        self.assertIn("role legacy-role: not managed here, left as is\n", out)
        self.assertEqual((etcd.users["legacy"], etcd.roles["legacy-role"]), (["root"], {}))
        del etcd.users["legacy"], etcd.roles["legacy-role"]
        self.assertConverged(etcd)

    def test_a_dry_run_only_reads_and_needs_no_password(self):
        etcd = FakeEtcd()
        status, out = self.converge(etcd, "--dry-run")
        self.assertEqual((status, etcd.writes, etcd.users, etcd.roles), (0, [], {}, {}))
        self.assertIn("user root: would be created (granted role root)\n", out)
        self.assertIn("auth: would be enabled\n", out)
        self.assertTrue(out.endswith("dry run: 8 item(s) would change (15 write(s)); nothing was written\n"), out)

    def test_without_the_root_password_it_stops_before_any_write(self):
        etcd = FakeEtcd()
        with self.assertRaises(rbac.Failure) as caught:
            self.converge(etcd)
        self.assertEqual(caught.exception.status, 2)
        self.assertIn("--root-password-file", str(caught.exception))
        self.assertEqual(etcd.writes, [])

    def test_etcdctl_34_tells_enabled_auth_with_a_probe(self):
        etcd = FakeEtcd(version="3.4.30")
        status, out = self.converge(etcd, "--root-password-file", self.password_file)
        self.assertEqual(status, 0)
        self.assertIn("auth: enabled\n", out)
        self.assertConverged(etcd)
        etcd.writes = []
        status, out = self.converge(etcd)
        self.assertEqual((status, etcd.writes), (0, []))
        self.assertIn("auth: unchanged (enabled)\n", out)

    def test_etcdctl_older_than_34_is_refused(self):
        with self.assertRaises(rbac.Failure) as caught:
            self.converge(FakeEtcd(version="3.3.27"))
        self.assertEqual(caught.exception.status, 2)
        self.assertIn("needs 3.4 or newer", str(caught.exception))

    def test_the_unrendered_program_refuses_to_run(self):
        with self.assertRaises(rbac.Failure) as caught:
            self.converge(FakeEtcd(), desired=None)
        self.assertEqual(caught.exception.status, 2)
        self.assertIn("unrendered", str(caught.exception))


class RangesTest(unittest.TestCase):
    def test_prefix_end_is_clientv3s(self):
        self.assertEqual(rbac.prefix_end(b"/registry/"), b"/registry0")
        self.assertEqual(rbac.prefix_end(b"/a\xff\xff"), b"/b")
        self.assertEqual(rbac.prefix_end(b"\xff"), b"\x00")
        self.assertEqual(rbac.prefix_end(b""), b"\x00")

    def test_range_args_put_keys_after_double_dash_and_from_key_as_a_flag(self):
        self.assertEqual(rbac.range_args(["r"], b"-k", b""), ["--", "r", b"-k"])
        self.assertEqual(rbac.range_args(["r"], b"/a", b"/b"), ["--", "r", b"/a", b"/b"])
        self.assertEqual(rbac.range_args(["r"], b"/a", b"\x00"), ["--from-key", "--", "r", b"/a"])

    def test_permissions_are_described_as_written(self):
        self.assertEqual(rbac.describe_permission(READ, b"/k", b""), "read key /k")
        self.assertEqual(rbac.describe_permission(WRITE, b"/k", b"\x00"), "write from key /k")
        self.assertEqual(rbac.describe_permission(READWRITE, b"/p/", b"/p0"), "readwrite prefix /p/")
        self.assertEqual(rbac.describe_permission(READ, b"/a", b"/c"), "read range [/a, /c)")
        self.assertEqual(rbac.describe_permission(7, b"/k", b""), "type 7 key /k")

    def test_current_permissions_read_every_spelling_etcdctl_uses(self):
        class Ctl:
            def read_json(self, args):
                self.args = args
                return {"perm": [
                    {"key": b64(b"/r/")},  # READ: permType left out
                    {"permType": "READWRITE", "key": b64(b"/w/"), "range_end": b64(b"/w0")},
                    {"perm_type": 1, "key": b64(b"/x"), "rangeEnd": b64(b"\x00")},
                ]}

        ctl = Ctl()
        self.assertEqual(rbac.current_permissions(ctl, "-role"), {
            (b"/r/", b""): READ,
            (b"/w/", b"/w0"): READWRITE,
            (b"/x", b"\x00"): WRITE,
        })
        self.assertEqual(ctl.args, ["role", "get", "--", "-role"])

    def test_the_probes_password_never_shows(self):
        self.assertEqual(rbac.describe(["--user=probe:s3cret", "get", b"/k"]), "--user=<probe> get /k")


class OptionsTest(unittest.TestCase):
    def test_defaults(self):
        with clean_environment():
            opts = rbac.parse_args([])
        self.assertEqual(vars(opts), {
            "endpoints": "https://127.0.0.1:2379",
            "cacert": "/etc/kubernetes/pki/etcd/ca.crt",
            "cert": "/etc/kubernetes/pki/etcd/backup-client.crt",
            "key": "/etc/kubernetes/pki/etcd/backup-client.key",
            "root_password_file": "",
            "etcdctl": "etcdctl",
            "dry_run": False,
            "command_timeout": 30,
        })

    def test_the_environment_sets_defaults_and_options_win(self):
        with clean_environment(SECURE_ETCD_ENDPOINTS="https://10.0.0.1:2379", SECURE_ETCD_ETCDCTL="",
                               SECURE_ETCD_ROOT_PASSWORD_FILE="/run/pw"):
            from_env = rbac.parse_args([])
            from_option = rbac.parse_args(["--endpoints", "https://10.0.0.2:2379", "--dry-run",
                                           "--command-timeout", "9"])
        self.assertEqual(from_env.endpoints, "https://10.0.0.1:2379")
        self.assertEqual(from_env.etcdctl, "etcdctl", "an empty variable counts as unset")
        self.assertEqual(from_env.root_password_file, "/run/pw")
        self.assertEqual(from_option.endpoints, "https://10.0.0.2:2379")
        self.assertEqual((from_option.dry_run, from_option.command_timeout), (True, 9))


class PasswordFileTest(TempDirTest):
    def refused(self, path, fragment):
        with self.assertRaises(rbac.Failure) as caught:
            rbac.read_password(path)
        self.assertEqual(caught.exception.status, 2)
        self.assertIn(fragment, str(caught.exception))
        self.assertNotIn(PASSWORD, str(caught.exception))

    def test_one_line_with_or_without_its_line_ending(self):
        for content in (PASSWORD, PASSWORD + "\n", PASSWORD + "\r\n"):
            self.assertEqual(rbac.read_password(self.file("pw", content)), PASSWORD)

    def test_refuses_what_etcdctl_would_cut_or_what_is_weak(self):
        self.refused("", "pass --root-password-file FILE")
        self.refused(os.path.join(self.dir, "absent"), "cannot read the root password file")
        self.refused(self.file("pw", ""), "is empty")
        self.refused(self.file("pw", PASSWORD + " tail"), "contains whitespace")
        self.refused(self.file("pw", PASSWORD + "\n\n"), "contains whitespace")
        self.refused(self.file("pw", "short-secret"), "shorter than 16 characters")
        self.refused(self.file("pw", b"\xff" * 20), "not UTF-8 text")

    def test_warns_when_others_may_read_it(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(rbac.read_password(self.file("pw", PASSWORD, mode=0o640)), PASSWORD)
        self.assertIn("accessible to group or others; chmod 600 it", err.getvalue())


class EtcdctlProcessTest(TempDirTest):
    """The real Etcdctl, running a stand-in etcdctl that logs its arguments and environment."""

    def setUp(self):
        super().setUp()
        self.log = os.path.join(self.dir, "log")
        self.etcdctl = self.file("etcdctl", "\n".join([
            "#!/bin/sh",
            "printf '%%s\\n' \"$@\" > '%s.args'" % self.log,
            "env > '%s.env'" % self.log,
            "for last; do :; done",
            "case \"$last\" in",
            "  version) echo 'etcdctl version: 3.5.17'; echo 'API version: 3.5' ;;",
            "  slow) exec sleep 5 ;;",
            "  denied) echo 'Error: etcdserver: permission denied' >&2; exit 1 ;;",
            "  list) echo '{\"roles\": [\"a\"]}' ;;",
            "esac",
            "",
        ]), mode=0o755)
        self.certs = [self.file(name, "PEM") for name in ("ca.crt", "client.crt", "client.key")]

    def options(self, *extra):
        with clean_environment():
            return rbac.parse_args(["--etcdctl", self.etcdctl, "--endpoints", "https://10.0.0.1:2379",
                                    "--cacert", self.certs[0], "--cert", self.certs[1], "--key", self.certs[2]]
                                   + list(extra))

    def logged(self, suffix):
        with open(self.log + suffix) as f:
            return f.read().splitlines()

    def test_connects_with_its_options_only_never_etcdctl_variables(self):
        with mock.patch.dict(os.environ, ETCDCTL_USER="root:pw", ETCDCTL_ENDPOINTS="http://evil:2379"):
            ctl = rbac.Etcdctl(self.options())
            self.assertEqual(ctl.version(), (3, 5))
            self.assertEqual(ctl.read_json(["role", "list"]), {"roles": ["a"]})
        self.assertEqual(self.logged(".args"), [
            "--endpoints=https://10.0.0.1:2379", "--cacert=" + self.certs[0], "--cert=" + self.certs[1],
            "--key=" + self.certs[2], "--dial-timeout=5s", "--command-timeout=25s", "-w", "json", "role", "list",
        ])
        self.assertEqual([line for line in self.logged(".env") if line.startswith("ETCDCTL_")], [])

    def test_a_dry_run_counts_writes_without_running_them(self):
        ctl = rbac.Etcdctl(self.options("--dry-run"))
        ctl.write(["auth", "enable"])
        self.assertEqual(ctl.writes, 1)
        self.assertFalse(os.path.exists(self.log + ".args"))

    def test_failures_say_what_failed_and_how_to_fix_it(self):
        ctl = rbac.Etcdctl(self.options())
        with self.assertRaises(rbac.Failure) as caught:
            ctl.call(["role", "denied"])
        message = str(caught.exception)
        self.assertEqual(caught.exception.status, 1)
        self.assertIn("etcdctl role denied failed (exit 1):\nError: etcdserver: permission denied", message)
        self.assertIn("hint: auth is enabled and this certificate's user lacks the root role", message)

    def test_a_hung_etcdctl_times_out(self):
        ctl = rbac.Etcdctl(self.options("--command-timeout", "1"))
        with self.assertRaises(rbac.Failure) as caught:
            ctl.call(["slow"])
        self.assertIn("no answer within 1 s (endpoints https://10.0.0.1:2379)", str(caught.exception))

    def test_refuses_to_start_without_etcdctl_or_the_certificates(self):
        with self.assertRaises(rbac.Failure) as caught:
            rbac.Etcdctl(self.options("--etcdctl", os.path.join(self.dir, "absent")))
        self.assertEqual(caught.exception.status, 2)
        self.assertIn("etcdctl not found", str(caught.exception))
        with self.assertRaises(rbac.Failure) as caught:
            rbac.Etcdctl(self.options("--cert", os.path.join(self.dir, "absent.crt")))
        self.assertEqual(caught.exception.status, 2)
        self.assertIn("absent.crt: not a readable file; pass --cert FILE", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
