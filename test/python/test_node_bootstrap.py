"""Unit tests of src/nodes/assets/node_bootstrap.py, the cloud-init boot script: installing the
node agent only when its SHA-256 matches (s3:// through a stand-in aws CLI, https:// through a
stand-in urlopen), fetching and decoding the bundle, writing files atomically with their mode and
owner and directories, applying files, creating the service user, the plan's order, and what each
run leaves for the systemd unit and node_exporter (state, metrics, the done marker), all under a
temporary root."""
import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.error
from unittest import mock

from asset_loader import load_asset

node = load_asset("nodes/assets/node_bootstrap.py", "node_bootstrap")

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:secure-etcd/members/etcd-0-AbCdEf"
OWNER = "%d:%d" % (os.getuid(), os.getgid())


STATE = {
    "cluster": "prod",
    "member": "etcd-0",
    "donePath": "/var/lib/secure-etcd/bootstrap.done",
    "statePath": "/var/lib/secure-etcd/bootstrap.json",
    "metricsPath": "/var/lib/prometheus/node-exporter/secure_etcd_bootstrap.prom",
    "bundleSourcePath": "/etc/secure-etcd/bundle-source.json",
}


def entry(path, mode="0600", directory=False, **extra):
    return dict({"path": path, "mode": mode, "owner": OWNER, "directory": directory}, **extra)


class NodeTest(unittest.TestCase):
    """Each test runs under a root of its own, as the script does when SECURE_ETCD_ROOT is set."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="secure-etcd-node-test-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root)
        for patch in (mock.patch.object(node, "ROOT", self.root),
                      mock.patch.dict(os.environ, SECURE_ETCD_ROOT=self.root)):
            patch.start()
            self.addCleanup(patch.stop)

    def host(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path):
        with open(self.host(path)) as f:
            return f.read()

    def mode(self, path):
        return "%04o" % stat.S_IMODE(os.stat(self.host(path)).st_mode)

    def stand_in_aws(self, *answers):
        """An aws CLI on PATH that checks its arguments and gives these answers, one per call."""
        bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(bin_dir, exist_ok=True)
        lines = ["#!/bin/sh", 'echo "$*" >> "%s/calls"' % self.dir,
                 'echo "${AWS_EC2_METADATA_V1_DISABLED:-unset}" >> "%s/imds-v1-disabled"' % self.dir,
                 'n=$(wc -l < "%s/calls" | tr -d " ")' % self.dir]
        for i, (status, out) in enumerate(answers, 1):
            answer = os.path.join(self.dir, "answer-%d" % i)
            with open(answer, "w") as f:
                f.write(out)
            stream = "" if status == 0 else " >&2"
            lines.append('[ "$n" -eq %d ] && { cat "%s"%s; exit %d; }' % (i, answer, stream, status))
        lines.append("exit 99")
        aws = os.path.join(bin_dir, "aws")
        with open(aws, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(aws, 0o755)
        patch = mock.patch.dict(os.environ, PATH=bin_dir + os.pathsep + "/usr/bin:/bin")
        patch.start()
        self.addCleanup(patch.stop)

    def aws_calls(self):
        with open(os.path.join(self.dir, "calls")) as f:
            return f.read().splitlines()

    def imds_v1_disabled(self):
        """AWS_EC2_METADATA_V1_DISABLED as each aws call saw it."""
        with open(os.path.join(self.dir, "imds-v1-disabled")) as f:
            return f.read().splitlines()


class RetryingTest(NodeTest):
    """A plan with the secret's ARN and region; the waits between attempts recorded, not slept."""

    def setUp(self):
        super().setUp()
        plan = mock.patch.object(node, "PLAN", {"secretArn": SECRET_ARN, "region": "eu-west-1"})
        plan.start()
        self.addCleanup(plan.stop)
        self.sleeps = []
        sleep = mock.patch.object(node.time, "sleep", self.sleeps.append)
        sleep.start()
        self.addCleanup(sleep.stop)


class FetchBundleTest(RetryingTest):
    def test_decodes_the_secret_string_into_files_by_path(self):
        files = {"/etc/a.key": "-----BEGIN KEY-----\nAB\n-----END KEY-----\n", "/etc/b": "héllo \"q\" \\ ✓"}
        self.stand_in_aws((0, json.dumps({"version": 1, "files": files}) + "\n"))
        self.assertEqual(node.fetch_bundle(), files)
        self.assertEqual(self.aws_calls(), [
            "secretsmanager get-secret-value --secret-id %s --region eu-west-1 --query SecretString --output text"
            % SECRET_ARN,
        ])
        self.assertEqual(self.sleeps, [])

    def test_the_aws_cli_may_use_imdsv2_only(self):
        bundle = json.dumps({"version": 1, "files": {}})
        self.stand_in_aws((255, "Unable to locate credentials"), (0, bundle))
        node.fetch_bundle()
        self.assertEqual(self.imds_v1_disabled(), ["true", "true"])

    def test_retries_while_the_network_and_role_come_up(self):
        bundle = json.dumps({"version": 1, "files": {}})
        self.stand_in_aws((255, "Unable to locate credentials"), (255, "Could not connect"), (0, bundle))
        self.assertEqual(node.fetch_bundle(), {})
        self.assertEqual(len(self.aws_calls()), 3)
        self.assertEqual(self.sleeps, [1, 2])

    def test_gives_up_after_twelve_attempts_with_the_last_error(self):
        self.stand_in_aws(*[(255, "AccessDenied %d" % i) for i in range(12)])
        err = io.StringIO()
        with self.assertRaises(SystemExit) as caught, contextlib.redirect_stderr(err):
            node.fetch_bundle()
        self.assertEqual(str(caught.exception), "secure-etcd: cannot read %s: AccessDenied 11" % SECRET_ARN)
        self.assertEqual(self.sleeps, [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30])
        # Each failure in the journal as it happens, not only the last one at the end.
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 12)
        self.assertEqual(lines[0], "secure-etcd: attempt 1 of 12 to read %s failed: AccessDenied 0; next in 1 s"
                         % SECRET_ARN)
        self.assertEqual(lines[11], "secure-etcd: attempt 12 of 12 to read %s failed: AccessDenied 11; next in 30 s"
                         % SECRET_ARN)

    def test_a_waits_log_records_the_waits_instead_of_sleeping(self):
        log = os.path.join(self.dir, "waits")
        self.stand_in_aws((255, "Could not connect"), (255, "Could not connect"), (0, json.dumps({"version": 1, "files": {}})))
        with mock.patch.object(node, "WAITS_LOG", log), contextlib.redirect_stderr(io.StringIO()):
            node.fetch_bundle()
        self.assertEqual(self.sleeps, [])
        with open(log) as f:
            self.assertEqual(f.read(), "1\n2\n")

    def test_reads_the_contents_of_a_version_2_bundle_by_path(self):
        files = [
            {"path": "/etc/a", "mode": "0755", "owner": "0:0", "directory": True, "content": ""},
            {"path": "/etc/a/b.key", "mode": "0600", "owner": "0:0", "directory": False, "content": "KEY\n"},
        ]
        self.stand_in_aws((0, json.dumps({"version": 2, "files": files})))
        self.assertEqual(node.fetch_bundle(), {"/etc/a/b.key": "KEY\n"})

    def test_refuses_a_bundle_version_it_does_not_know(self):
        self.stand_in_aws((0, json.dumps({"version": 3, "files": {}})))
        with self.assertRaises(SystemExit) as caught:
            node.fetch_bundle()
        self.assertEqual(str(caught.exception), "secure-etcd: unknown bundle version 3")

    def test_says_how_to_get_the_aws_cli_when_it_is_missing(self):
        with mock.patch.dict(os.environ, PATH=self.dir):
            with self.assertRaises(SystemExit) as caught:
                node.fetch_bundle()
        self.assertIn("the AWS CLI (aws) is not on PATH; install AWS CLI v2", str(caught.exception))


AGENT = b"#!/usr/bin/env node\nconsole.log('secure-etcd');\n"
AGENT_SHA256 = hashlib.sha256(AGENT).hexdigest()
AGENT_URL = "s3://acme-artifacts/secure-etcd/secure-etcd-0.1.0.cjs"
AGENT_PATH = "/usr/local/bin/secure-etcd"


class InstallAgentTest(RetryingTest):
    def install(self, sha256=AGENT_SHA256, url=AGENT_URL):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            node.install_agent({"url": url, "sha256": sha256, "path": AGENT_PATH})
        return out.getvalue()

    def bin_dir(self):
        return sorted(os.listdir(self.host("/usr/local/bin")))

    def test_installs_an_artifact_whose_checksum_matches_whole_and_executable(self):
        self.stand_in_aws((0, AGENT.decode()))
        out = self.install()
        with open(self.host(AGENT_PATH), "rb") as f:
            self.assertEqual(f.read(), AGENT)
        self.assertEqual(self.mode(AGENT_PATH), "0755")
        self.assertEqual(self.bin_dir(), ["secure-etcd"])
        self.assertEqual(self.aws_calls(), ["s3 cp %s - --region eu-west-1 --only-show-errors" % AGENT_URL])
        self.assertEqual(self.imds_v1_disabled(), ["true"])
        self.assertIn("installed the node agent at %s (sha256 %s)" % (AGENT_PATH, AGENT_SHA256), out)
        self.assertEqual(self.sleeps, [])

    def test_compares_the_checksum_in_either_case(self):
        self.stand_in_aws((0, AGENT.decode()))
        self.install(sha256=AGENT_SHA256.upper())
        self.assertEqual(self.mode(AGENT_PATH), "0755")

    def test_a_mismatch_installs_nothing_keeps_the_agent_already_there_and_stops(self):
        os.makedirs(self.host("/usr/local/bin"))
        with open(self.host(AGENT_PATH), "w") as f:
            f.write("the agent installed before\n")
        self.stand_in_aws((0, "#!/usr/bin/env node\nconsole.log('tampered');\n"))
        wrong = hashlib.sha256(b"#!/usr/bin/env node\nconsole.log('tampered');\n").hexdigest()
        with self.assertRaises(SystemExit) as caught:
            self.install()
        self.assertEqual(
            str(caught.exception),
            "secure-etcd: the node agent at %s has SHA-256 %s, not the expected %s; refusing to install it "
            "(nothing installed at %s)" % (AGENT_URL, wrong, AGENT_SHA256, AGENT_PATH))
        self.assertEqual(self.read(AGENT_PATH), "the agent installed before\n")
        self.assertEqual(self.bin_dir(), ["secure-etcd"])
        self.assertEqual(self.sleeps, [], "a mismatch is not retried: the same bytes would come again")

    def test_a_mismatch_on_a_new_node_leaves_no_file_at_all(self):
        self.stand_in_aws((0, "something else"))
        with self.assertRaises(SystemExit):
            self.install()
        self.assertEqual(self.bin_dir(), [])

    def test_retries_a_failed_download_then_installs(self):
        self.stand_in_aws((1, "Unable to locate credentials"), (0, AGENT.decode()))
        self.install()
        self.assertEqual(self.sleeps, [1])
        with open(self.host(AGENT_PATH), "rb") as f:
            self.assertEqual(f.read(), AGENT, "the failed attempt's bytes are gone")

    def test_gives_up_after_twelve_failed_downloads_installing_nothing(self):
        self.stand_in_aws(*[(1, "AccessDenied %d" % i) for i in range(12)])
        with self.assertRaises(SystemExit) as caught:
            self.install()
        self.assertEqual(str(caught.exception), "secure-etcd: cannot read %s: AccessDenied 11" % AGENT_URL)
        self.assertEqual(self.bin_dir(), [])
        self.assertEqual(len(self.sleeps), 12)

    def test_downloads_an_https_url_itself_retrying_while_the_network_comes_up(self):
        url = "https://artifacts.example.com/secure-etcd/secure-etcd-0.1.0.cjs"
        calls = []

        def urlopen(requested, timeout):
            calls.append((requested, timeout))
            if len(calls) == 1:
                raise urllib.error.URLError("Temporary failure in name resolution")
            return contextlib.closing(io.BytesIO(AGENT))

        with mock.patch.object(node.urllib.request, "urlopen", urlopen):
            self.install(url=url)
        self.assertEqual(calls, [(url, 60), (url, 60)])
        self.assertEqual(self.sleeps, [1])
        self.assertEqual(self.mode(AGENT_PATH), "0755")

    def test_an_https_mismatch_installs_nothing(self):
        with mock.patch.object(node.urllib.request, "urlopen",
                               lambda url, timeout: contextlib.closing(io.BytesIO(b"not the agent"))):
            with self.assertRaises(SystemExit) as caught:
                self.install(url="https://artifacts.example.com/secure-etcd.cjs")
        self.assertIn("refusing to install it", str(caught.exception))
        self.assertEqual(self.bin_dir(), [])


class WriteTest(NodeTest):
    def test_writes_content_mode_and_owner_creating_parents(self):
        node.write_file(entry("/etc/kubernetes/pki/etcd/server.key", "0600"), "KEY\n")
        self.assertEqual(self.read("/etc/kubernetes/pki/etcd/server.key"), "KEY\n")
        self.assertEqual(self.mode("/etc/kubernetes/pki/etcd/server.key"), "0600")
        st = os.stat(self.host("/etc/kubernetes/pki/etcd/server.key"))
        self.assertEqual("%d:%d" % (st.st_uid, st.st_gid), OWNER)

    def test_writes_base64_content_as_its_bytes_and_text_as_utf8(self):
        der = bytes([0x30, 0x82, 0xFF, 0xFE, 0x00, 0x80])
        node.write_file(entry("/etc/kubernetes/pki/etcd/ca.crl", "0644", encoding="base64"),
                        base64.b64encode(der).decode())
        with open(self.host("/etc/kubernetes/pki/etcd/ca.crl"), "rb") as f:
            self.assertEqual(f.read(), der)
        node.write_file(entry("/etc/x.conf", "0644"), "héllo ✓\n")
        with open(self.host("/etc/x.conf"), "rb") as f:
            self.assertEqual(f.read(), "héllo ✓\n".encode("utf-8"))

    def test_refuses_content_that_is_not_base64_and_writes_nothing(self):
        with self.assertRaises(ValueError):
            node.write_file(entry("/etc/kubernetes/pki/etcd/ca.crl", "0644", encoding="base64"), "not base64!")
        self.assertFalse(os.path.exists(self.host("/etc/kubernetes/pki/etcd")))

    def test_replaces_a_file_whole_with_the_new_mode_and_leaves_no_temporary_file(self):
        node.write_file(entry("/etc/x.conf", "0644"), "old\n")
        node.write_file(entry("/etc/x.conf", "0600"), "new\n")
        self.assertEqual((self.read("/etc/x.conf"), self.mode("/etc/x.conf")), ("new\n", "0600"))
        self.assertEqual(os.listdir(self.host("/etc")), ["x.conf"])

    def test_sets_mode_and_owner_before_any_byte_is_written(self):
        sizes = []
        real_fchmod, real_fchown = os.fchmod, os.fchown

        def fchmod(fd, mode):
            sizes.append(os.fstat(fd).st_size)
            real_fchmod(fd, mode)

        def fchown(fd, uid, gid):
            sizes.append(os.fstat(fd).st_size)
            real_fchown(fd, uid, gid)

        with mock.patch.object(node.os, "fchmod", fchmod), mock.patch.object(node.os, "fchown", fchown):
            node.write_file(entry("/etc/secret.key"), "SECRET")
        self.assertEqual(sizes, [0, 0])

    def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(self):
        node.write_file(entry("/etc/x.conf"), "old\n")
        with mock.patch.object(node.os, "rename", side_effect=OSError("disk full")):
            with self.assertRaises(OSError):
                node.write_file(entry("/etc/x.conf"), "new\n")
        self.assertEqual(self.read("/etc/x.conf"), "old\n")
        self.assertEqual(os.listdir(self.host("/etc")), ["x.conf"])

    def test_makes_directories_and_corrects_the_mode_of_existing_ones(self):
        os.makedirs(self.host("/var/lib/etcd"), mode=0o755)
        os.chmod(self.host("/var/lib/etcd"), 0o755)
        node.make_dir(entry("/var/lib/etcd", "0700", directory=True))
        node.make_dir(entry("/etc/secure-etcd/new/deep", "0750", directory=True))
        self.assertEqual(self.mode("/var/lib/etcd"), "0700")
        self.assertEqual(self.mode("/etc/secure-etcd/new/deep"), "0750")

    def test_owner_and_paths(self):
        self.assertEqual(node.owner_of({"owner": "2379:2380"}), (2379, 2380))
        self.assertEqual(node.on_host("/etc/x"), os.path.join(self.root, "etc/x"))


class ApplyTest(NodeTest):
    def test_under_a_test_root_commands_are_recorded_never_run(self):
        node.apply(entry("/etc/plain"))
        node.apply(entry("/etc/fw.nft", apply=["nft", "-f", "{path}"]))
        node.apply(entry("/etc/unit", apply=["systemctl", "enable", "x.service"]))
        with open(self.host("/.secure-etcd-applied")) as f:
            recorded = [json.loads(line) for line in f]
        self.assertEqual(recorded, [["nft", "-f", self.host("/etc/fw.nft")], ["systemctl", "enable", "x.service"]])

    def test_on_a_host_it_runs_the_command_with_the_files_path(self):
        del os.environ["SECURE_ETCD_ROOT"]
        mark = "import sys; open(sys.argv[1] + '.applied', 'w').write('yes')"
        node.apply(entry("/x.conf", apply=[sys.executable, "-c", mark, "{path}"]))
        self.assertEqual(self.read("/x.conf.applied"), "yes")
        with self.assertRaises(SystemExit) as caught:
            node.apply(entry("/x.conf", apply=[sys.executable, "-c", "import sys; sys.exit('bad rules')"]))
        self.assertIn("failed: bad rules", str(caught.exception))


class EnsureUserTest(NodeTest):
    def run_with(self, existing):
        """ensure_user on a host (no test root) where getent knows `existing`; the commands run."""
        calls = []

        def run(command, **kwargs):
            calls.append(command)
            known = command[0] == "getent" and command[2] in existing
            return subprocess.CompletedProcess(command, 0 if known or command[0] != "getent" else 2)

        del os.environ["SECURE_ETCD_ROOT"]
        with mock.patch.object(node.subprocess, "run", run):
            node.ensure_user({"name": "etcd", "uid": 2379, "gid": 2379})
        return [c for c in calls if c[0] != "getent"]

    def test_creates_a_system_group_and_user_without_a_home_or_shell(self):
        self.assertEqual(self.run_with(existing=()), [
            ["groupadd", "--system", "--gid", "2379", "etcd"],
            ["useradd", "--system", "--uid", "2379", "--gid", "2379", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "etcd"],
        ])

    def test_leaves_an_existing_user_alone(self):
        self.assertEqual(self.run_with(existing=("etcd",)), [])

    def test_does_nothing_under_a_test_root_or_without_a_user(self):
        with mock.patch.object(node.subprocess, "run", side_effect=AssertionError("ran a command")):
            node.ensure_user({"name": "etcd", "uid": 2379, "gid": 2379})
            del os.environ["SECURE_ETCD_ROOT"]
            node.ensure_user(None)


class RecordRunTest(NodeTest):
    """What a run leaves: the state the next run counts from, metrics for node_exporter, the marker."""

    def setUp(self):
        super().setUp()
        plan = mock.patch.object(node, "PLAN", {"state": STATE})
        plan.start()
        self.addCleanup(plan.stop)

    def metrics(self):
        return self.read(STATE["metricsPath"])

    def test_failed_runs_count_up_and_leave_no_marker(self):
        node.record_run(False, now=1000)
        node.record_run(False, now=1300)
        self.assertEqual(json.loads(self.read(STATE["statePath"])),
                         {"lastRun": 1300, "lastRunSucceeded": False, "consecutiveFailures": 2, "lastSuccess": None})
        labels = '{etcd_cluster="prod",member="etcd-0"}'
        self.assertIn("secure_etcd_node_bootstrap_success%s 0\n" % labels, self.metrics())
        self.assertIn("secure_etcd_node_bootstrap_consecutive_failures%s 2\n" % labels, self.metrics())
        self.assertIn("secure_etcd_node_bootstrap_last_run_timestamp_seconds%s 1300\n" % labels, self.metrics())
        self.assertNotIn("last_success", self.metrics(), "no success yet: no timestamp of one")
        self.assertFalse(os.path.exists(self.host(STATE["donePath"])))

    def test_a_success_resets_the_count_and_leaves_the_marker(self):
        node.record_run(False, now=1000)
        node.record_run(True, now=1400)
        self.assertEqual(json.loads(self.read(STATE["statePath"])),
                         {"lastRun": 1400, "lastRunSucceeded": True, "consecutiveFailures": 0, "lastSuccess": 1400})
        self.assertIn('secure_etcd_node_bootstrap_success{etcd_cluster="prod",member="etcd-0"} 1\n', self.metrics())
        self.assertIn("secure_etcd_node_bootstrap_last_success_timestamp_seconds", self.metrics())
        self.assertEqual(self.read(STATE["donePath"]), "1400\n")
        for path in STATE["statePath"], STATE["metricsPath"], STATE["donePath"]:
            self.assertEqual(self.mode(path), "0644", "public: no secret in it")

    def test_every_metric_has_help_and_type_and_label_values_are_escaped(self):
        with mock.patch.dict(STATE, cluster='a"b\\c'):
            node.record_run(False, now=1)
        lines = self.metrics().splitlines()
        self.assertEqual([l.split()[2] for l in lines if l.startswith("# HELP")],
                         [l.split()[2] for l in lines if l.startswith("# TYPE")])
        self.assertIn('etcd_cluster="a\\"b\\\\c"', self.metrics())

    def test_a_corrupt_state_file_counts_from_zero(self):
        os.makedirs(os.path.dirname(self.host(STATE["statePath"])))
        with open(self.host(STATE["statePath"]), "w") as f:
            f.write("{not json")
        node.record_run(False, now=5)
        self.assertEqual(json.loads(self.read(STATE["statePath"]))["consecutiveFailures"], 1)


class MainTest(NodeTest):
    def run_main(self, plan, bundle):
        out = io.StringIO()
        with mock.patch.object(node, "PLAN", plan), \
                mock.patch.object(node, "fetch_bundle", lambda: bundle), \
                contextlib.redirect_stdout(out):
            node.main()
        return out.getvalue()

    def test_writes_the_plan_in_order_from_inline_content_and_the_bundle(self):
        plan = {"secretArn": SECRET_ARN, "region": "eu-west-1", "user": None, "state": STATE, "files": [
            entry("/etc/kubernetes/pki/etcd", "0700", directory=True),
            entry("/etc/kubernetes/pki/etcd/ca.crt", "0644"),
            entry("/etc/secure-etcd/firewall.nft", "0600", content="table inet x {}\n", apply=["nft", "-f", "{path}"]),
            entry("/etc/kubernetes/manifests/etcd.yaml", "0600", content="kind: Pod\n"),
        ]}
        out = self.run_main(plan, {"/etc/kubernetes/pki/etcd/ca.crt": "CA\n", "/unused": "x"})
        self.assertEqual(out, "secure-etcd: wrote 4 entries\n")
        self.assertEqual(self.mode("/etc/kubernetes/pki/etcd"), "0700")
        self.assertEqual((self.read("/etc/kubernetes/pki/etcd/ca.crt"), self.mode("/etc/kubernetes/pki/etcd/ca.crt")),
                         ("CA\n", "0644"))
        self.assertEqual(self.read("/etc/secure-etcd/firewall.nft"), "table inet x {}\n")
        self.assertEqual(self.read("/etc/kubernetes/manifests/etcd.yaml"), "kind: Pod\n")
        self.assertTrue(os.path.exists(self.host("/.secure-etcd-applied")))
        self.assertTrue(os.path.exists(self.host(STATE["donePath"])), "a run that wrote everything is the last")
        # For node sync: which secret the bundle is in, readable by anyone (it holds no secret).
        self.assertEqual(json.loads(self.read(STATE["bundleSourcePath"])),
                         {"secretArn": SECRET_ARN, "region": "eu-west-1"})
        self.assertEqual(self.mode(STATE["bundleSourcePath"]), "0644")

    def test_a_joining_member_leaves_its_manifest_to_node_sync_and_writes_the_rest(self):
        plan = {"secretArn": SECRET_ARN, "region": "eu-west-1", "user": None, "state": STATE,
                "deferred": ["/etc/kubernetes/manifests/etcd.yaml"], "files": [
                    entry("/etc/kubernetes/pki/etcd/ca.crt", "0644"),
                    entry("/etc/kubernetes/manifests/etcd.yaml", "0600", content="kind: Pod\n"),
                ]}
        out = self.run_main(plan, {"/etc/kubernetes/pki/etcd/ca.crt": "CA\n"})
        self.assertIn("leaving /etc/kubernetes/manifests/etcd.yaml to node sync", out)
        self.assertEqual(self.read("/etc/kubernetes/pki/etcd/ca.crt"), "CA\n")
        self.assertFalse(os.path.exists(self.host("/etc/kubernetes/manifests/etcd.yaml")))
        self.assertTrue(os.path.exists(self.host(STATE["donePath"])))

    def test_a_run_that_stops_is_recorded_as_failed_and_stops_with_its_own_error(self):
        plan = {"secretArn": SECRET_ARN, "region": "eu-west-1", "user": None, "state": STATE, "files": []}

        def unreachable():
            sys.exit("secure-etcd: cannot read %s: Could not connect" % SECRET_ARN)

        with mock.patch.object(node, "PLAN", plan), mock.patch.object(node, "fetch_bundle", unreachable):
            with self.assertRaises(SystemExit) as caught:
                node.main()
        self.assertIn("Could not connect", str(caught.exception))
        self.assertEqual(json.loads(self.read(STATE["statePath"]))["consecutiveFailures"], 1)
        self.assertFalse(os.path.exists(self.host(STATE["donePath"])))

    def test_stops_at_a_file_missing_from_the_bundle_before_writing_later_ones(self):
        plan = {"secretArn": SECRET_ARN, "region": "eu-west-1", "user": None, "state": STATE, "files": [
            entry("/etc/a.key"),
            entry("/etc/kubernetes/manifests/etcd.yaml", content="kind: Pod\n"),
        ]}
        with self.assertRaises(SystemExit) as caught:
            self.run_main(plan, {})
        self.assertEqual(str(caught.exception), "secure-etcd: /etc/a.key is missing from the bundle")
        self.assertFalse(os.path.exists(self.host("/etc/kubernetes/manifests/etcd.yaml")))
        self.assertFalse(os.path.exists(self.host(STATE["donePath"])))

    def test_installs_the_agent_first_and_a_refused_agent_stops_the_boot_before_any_secret_or_file(self):
        agent = {"url": AGENT_URL, "sha256": AGENT_SHA256, "path": AGENT_PATH}
        plan = {"secretArn": SECRET_ARN, "region": "eu-west-1", "user": None, "agent": agent, "state": STATE,
                "files": [
            entry("/etc/kubernetes/manifests/etcd.yaml", content="kind: Pod\n"),
        ]}
        order = []

        def fetch():
            order.append("bundle")
            return {}

        with mock.patch.object(node, "PLAN", plan), mock.patch.object(node, "fetch_bundle", fetch), \
                mock.patch.object(node, "install_agent", lambda a: order.append(("agent", a))), \
                contextlib.redirect_stdout(io.StringIO()):
            node.main()
        self.assertEqual(order, [("agent", agent), "bundle"])

        def refused(_agent):
            sys.exit("secure-etcd: the node agent at ... refusing to install it")

        os.unlink(self.host("/etc/kubernetes/manifests/etcd.yaml"))
        with mock.patch.object(node, "PLAN", plan), mock.patch.object(node, "install_agent", refused), \
                mock.patch.object(node, "fetch_bundle", side_effect=AssertionError("fetched the bundle")):
            with self.assertRaises(SystemExit):
                node.main()
        self.assertFalse(os.path.exists(self.host("/etc/kubernetes/manifests/etcd.yaml")))

    def test_the_unrendered_program_refuses_to_run(self):
        with self.assertRaises(SystemExit) as caught:
            self.run_main(None, {})
        self.assertIn("unrendered", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
