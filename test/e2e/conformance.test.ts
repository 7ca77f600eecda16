// The rendered artifacts run a real etcd cluster; every security promise is probed from outside.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as tls from "tls";
import { X509Certificate } from "crypto";
import { Etcd3 } from "etcd3";
import { issueLeaf, Issued, newCa } from "../harness/issue";
import { HOST_IP, leftovers } from "./netns";
import { LocalCluster, RunningMember } from "./localCluster";

interface Outcome {
    ok: boolean;
    status?: number;
    body?: string;
    error?: string;
}

function httpsGet(
    url: string,
    creds: Partial<Issued> & { ca?: string },
    extra: tls.ConnectionOptions = {},
): Promise<Outcome> {
    return new Promise((resolve) => {
        const req = https.get(
            url,
            { ca: creds.ca, cert: creds.certPem, key: creds.keyPem, agent: false, timeout: 5000, ...extra },
            (res) => {
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode, body }));
                res.on("error", (e) => resolve({ ok: false, error: e.message }));
            },
        );
        req.on("error", (e) => resolve({ ok: false, error: e.message }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

function plainGet(url: string): Promise<Outcome> {
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ ok: res.statusCode === 200, status: res.statusCode, body }));
        });
        req.on("error", (e) => resolve({ ok: false, error: e.message }));
        req.on("timeout", () => req.destroy(new Error("timeout")));
    });
}

/** The certificate a member serves on a fresh TLS connection. */
function servedCertificate(host: string, port: number, creds: Issued & { ca: string }): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port, ca: creds.ca, cert: creds.certPem, key: creds.keyPem }, () => {
            resolve(socket.getPeerX509Certificate()!.serialNumber);
            socket.end();
        });
        socket.on("error", reject);
    });
}

describe("conformance: the rendered configuration on a real etcd cluster", function () {
    this.timeout(90_000);
    let cluster: LocalCluster;
    let apiserver: Issued & { ca: string };
    let etcdCa: Issued;
    let peerCa: Issued;
    let m0: RunningMember;
    const clientUrl = (m: RunningMember) => `https://${m.ip}:2379`;
    const peerUrl = (m: RunningMember) => `https://${m.ip}:2380`;

    before(async () => {
        cluster = await LocalCluster.start();
        const out = cluster.built.outputs;
        const creds = out.clientCredentials.value["kube-apiserver-etcd-client"];
        apiserver = { certPem: creds.certPem, keyPem: creds.keyPem, ca: creds.caCertPem };
        // The CA keys never leave Pulumi state; the test reads them from the emulated provider.
        const caKey = (name: string) => cluster.built.mocks.named(name).state!.privateKeyPem as string;
        etcdCa = { certPem: out.caCertPem.value, keyPem: caKey("e2e-pki-etcd-ca-key") };
        peerCa = { certPem: out.peerCaCertPem.value, keyPem: caKey("e2e-pki-peer-ca-key") };
        m0 = cluster.members[0];
    });
    after(() => cluster?.stop());

    it("forms a healthy three-member cluster on which kube-apiserver's certificate writes and reads", async () => {
        const client = new Etcd3({
            hosts: cluster.members.map(clientUrl),
            credentials: {
                rootCertificate: Buffer.from(apiserver.ca),
                certChain: Buffer.from(apiserver.certPem),
                privateKey: Buffer.from(apiserver.keyPem),
            },
        });
        try {
            await client.put("/registry/conformance/probe").value("written");
            assert.equal(await client.get("/registry/conformance/probe").string(), "written");
            const members = await client.cluster.memberList({});
            assert.equal(members.members.length, 3);
        } finally {
            client.close();
        }
        for (const m of cluster.members) {
            assert.match(cluster.metricsGet(m, "/health"), /"health":"true"/);
        }
    });

    it("refuses a client without a certificate", async () => {
        const outcome = await httpsGet(`${clientUrl(m0)}/version`, { ca: apiserver.ca });
        assert.equal(outcome.ok, false, JSON.stringify(outcome));
        assert.ok(outcome.error, "the TLS handshake is refused, no HTTP answer");
    });

    it("accepts kube-apiserver's certificate on the same request (control)", async () => {
        const outcome = await httpsGet(`${clientUrl(m0)}/version`, apiserver);
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
        assert.match(outcome.body!, /etcdserver/);
    });

    it("refuses a client certificate from another CA", async () => {
        const otherCa = await newCa("etcd-ca");
        const stranger = await issueLeaf({ ca: otherCa, commonName: "kube-apiserver-etcd-client" });
        const outcome = await httpsGet(`${clientUrl(m0)}/version`, { ...stranger, ca: apiserver.ca });
        assert.equal(outcome.ok, false, JSON.stringify(outcome));
        assert.ok(outcome.error);
    });

    it("refuses an expired client certificate from the etcd CA", async () => {
        const expired = await issueLeaf({
            ca: etcdCa,
            commonName: "kube-apiserver-etcd-client",
            notBefore: new Date(Date.now() - 48 * 3600_000),
            notAfter: new Date(Date.now() - 24 * 3600_000),
        });
        const outcome = await httpsGet(`${clientUrl(m0)}/version`, { ...expired, ca: apiserver.ca });
        assert.equal(outcome.ok, false, JSON.stringify(outcome));
        assert.ok(outcome.error);
    });

    it("refuses a client certificate on the peer port (separate peer CA)", async () => {
        const outcome = await httpsGet(`${peerUrl(m0)}/members`, { ...apiserver, ca: peerCa.certPem });
        assert.equal(outcome.ok, false, JSON.stringify(outcome));
        assert.ok(outcome.error);
    });

    it("refuses a peer certificate whose SAN does not match the caller's address, and admits one that does", async () => {
        const wrong = await issueLeaf({
            ca: peerCa,
            commonName: "etcd-9",
            ipAddresses: ["10.213.47.99"],
            serverAuth: true,
        });
        const refused = await httpsGet(`${peerUrl(m0)}/members`, { ...wrong, ca: peerCa.certPem });
        assert.equal(refused.ok, false, JSON.stringify(refused));
        const right = await issueLeaf({ ca: peerCa, commonName: "etcd-9", ipAddresses: [HOST_IP], serverAuth: true });
        const admitted = await httpsGet(`${peerUrl(m0)}/members`, { ...right, ca: peerCa.certPem });
        assert.equal(admitted.ok, true, JSON.stringify(admitted));
    });

    it("answers no plaintext HTTP on 2379 or 2380", async () => {
        for (const url of [`http://${m0.ip}:2379/version`, `http://${m0.ip}:2380/members`]) {
            const outcome = await plainGet(url);
            assert.equal(outcome.ok, false, `${url}: ${JSON.stringify(outcome)}`);
            assert.ok(!outcome.body?.includes("etcdserver") && !outcome.body?.includes("peerURLs"), url);
        }
    });

    it("keeps metrics off the member's address", async () => {
        const outcome = await plainGet(`http://${m0.ip}:2381/metrics`);
        assert.equal(outcome.ok, false);
        assert.match(outcome.error ?? "", /ECONNREFUSED/);
        assert.match(cluster.metricsGet(m0, "/metrics"), /etcd_server_has_leader 1/);
    });

    it("negotiates the TLS settings it was rendered with", async () => {
        const flags = m0.command;
        const suites = flags.find((f) => f.startsWith("--cipher-suites="));
        if (flags.includes("--tls-min-version=TLS1.3")) {
            const tls12 = await httpsGet(`${clientUrl(m0)}/version`, apiserver, { maxVersion: "TLSv1.2" });
            assert.equal(tls12.ok, false, "TLS 1.2 refused");
            return;
        }
        assert.ok(suites, "either a TLS 1.3 minimum or a suite list is rendered");
        // TLS 1.2 with a suite outside the list (CBC, no AEAD) is refused; one from the list works.
        const cbc = await httpsGet(`${clientUrl(m0)}/version`, apiserver, {
            maxVersion: "TLSv1.2",
            ciphers: "ECDHE-ECDSA-AES128-SHA",
        });
        assert.equal(cbc.ok, false, JSON.stringify(cbc));
        const gcm = await httpsGet(`${clientUrl(m0)}/version`, apiserver, {
            maxVersion: "TLSv1.2",
            ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
        });
        assert.equal(gcm.ok, true, JSON.stringify(gcm));
    });

    it("serves a server certificate replaced in place on new connections, without a restart", async () => {
        const before = await servedCertificate(m0.ip, 2379, apiserver);
        const serverKeyPath = cluster.onHost(m0.name, "/etc/kubernetes/pki/etcd/server.key");
        const renewed = await issueLeaf({
            ca: etcdCa,
            commonName: m0.name,
            keyPem: fs.readFileSync(serverKeyPath, "utf8"),
            ipAddresses: [m0.ip, "127.0.0.1"],
            dnsNames: [m0.name, "localhost"],
            serverAuth: true,
        });
        const certPath = cluster.onHost(m0.name, "/etc/kubernetes/pki/etcd/server.crt");
        fs.writeFileSync(certPath + ".new", renewed.certPem, { mode: 0o644 });
        fs.renameSync(certPath + ".new", certPath);
        const after = await servedCertificate(m0.ip, 2379, apiserver);
        assert.notEqual(after, before);
        assert.equal(after, new X509Certificate(renewed.certPem).serialNumber);
        assert.equal(m0.process.exitCode, null, "no restart");
    });
});

describe("conformance: cleanup", function () {
    it("leaves no process, namespace, link or temporary directory behind", () => {
        assert.deepEqual(leftovers(), []);
        const stray = fs.readdirSync("/tmp").filter((d) => d.startsWith("secure-etcd-e2e-"));
        assert.deepEqual(stray, []);
    });
});
