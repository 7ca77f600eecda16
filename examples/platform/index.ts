// A platform stack: a VPC with three private subnets, and a stacked control plane (etcd and
// kube-apiserver on the same three nodes, kubeadm's default topology), one node per zone. Each
// node is an etcd member with a fixed address, its own instance role and its own user data.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ApiServerFragment, SecureEtcdCluster, Volume, VolumeMount } from "../../src";

const config = new pulumi.Config();
/**
 * An AMI with cloud-init, Python 3, the AWS CLI, a container runtime and kubelet: the user data
 * fetches each member's keys with the AWS CLI, and kubelet runs etcd's static pod.
 */
const amiId = config.require("amiId");
const instanceType = config.get("instanceType") ?? "m6i.large";
/** The AMI's root device (`/dev/xvda` on Amazon Linux, `/dev/sda1` on Ubuntu): it holds etcd's data. */
const rootDeviceName = config.get("rootDeviceName") ?? "/dev/xvda";

const vpcCidr = "10.0.0.0/16";
/** Kubernetes Services' virtual addresses: outside the VPC, so they never shadow a real host. */
const serviceCidr = "10.96.0.0/12";
/**
 * The plan, as plain data: it decides how many resources exist. One member per zone, so losing a
 * zone keeps quorum. Addresses are fixed because they are in the certificates.
 */
const nodes = [
    { member: "etcd-0", subnetCidr: "10.0.1.0/24", ip: "10.0.1.10" },
    { member: "etcd-1", subnetCidr: "10.0.2.0/24", ip: "10.0.2.10" },
    { member: "etcd-2", subnetCidr: "10.0.3.0/24", ip: "10.0.3.10" },
];

// ------------------------------------------------------------------ network

const vpc = new aws.ec2.Vpc("platform-vpc", {
    cidrBlock: vpcCidr,
    enableDnsSupport: true,
    enableDnsHostnames: true,
    tags: { Name: "platform" },
});
// Regular zones only: Local Zones lack some instance types.
const zones = aws.getAvailabilityZonesOutput({
    state: "available",
    filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
});
// Private: no internet gateway route and no public addresses. The nodes reach Secrets Manager,
// KMS, S3 and their image registry through your NAT gateway or VPC endpoints (not shown).
const subnets = nodes.map(
    (node, i) =>
        new aws.ec2.Subnet(`platform-private-${i}`, {
            vpcId: vpc.id,
            cidrBlock: node.subnetCidr,
            availabilityZone: zones.names.apply((names) => {
                if (names.length < nodes.length) {
                    throw new Error(`the region has ${names.length} zones; one per member needs ${nodes.length}`);
                }
                return names[i];
            }),
            mapPublicIpOnLaunch: false,
            tags: { Name: `platform-private-${i}` },
        }),
);

/** The control-plane nodes' own group: kube-apiserver's port in, what the nodes need out. */
const controlPlane = new aws.ec2.SecurityGroup("platform-control-plane", {
    vpcId: vpc.id,
    description: "Control-plane nodes: kube-apiserver from the VPC, HTTPS out",
    tags: { Name: "platform-control-plane" },
});
new aws.vpc.SecurityGroupIngressRule("platform-control-plane-apiserver", {
    securityGroupId: controlPlane.id,
    description: "kube-apiserver from inside the VPC",
    ipProtocol: "tcp",
    fromPort: 6443,
    toPort: 6443,
    cidrIpv4: vpcCidr,
});
new aws.vpc.SecurityGroupEgressRule("platform-control-plane-https", {
    securityGroupId: controlPlane.id,
    description: "AWS APIs and image registries",
    ipProtocol: "tcp",
    fromPort: 443,
    toPort: 443,
    cidrIpv4: "0.0.0.0/0",
});
new aws.vpc.SecurityGroupEgressRule("platform-control-plane-vpc", {
    securityGroupId: controlPlane.id,
    description: "kubelets, webhooks and other control-plane nodes",
    ipProtocol: "-1",
    cidrIpv4: vpcCidr,
});

// ------------------------------------------------------------------ etcd

const etcd = new SecureEtcdCluster("main", {
    // The planned addresses, which the network interfaces below are created with. Not
    // `nic.privateIp`: the interfaces carry this cluster's security group, so they come after it.
    members: nodes.map((n) => ({ name: n.member, ip: n.ip })),
    vpcId: vpc.id,
    // Stacked: each kube-apiserver reaches etcd from its own member's address, so no client
    // group is admitted beyond the members themselves.
});

// ------------------------------------------------------------------ control-plane nodes

// Shared by all three nodes; what differs per member (role, address, user data) is set on the instance.
const template = new aws.ec2.LaunchTemplate("platform-control-plane", {
    imageId: amiId,
    instanceType,
    // IMDSv2 only, one hop: containers on the node cannot borrow the instance role.
    metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
    blockDeviceMappings: [
        {
            deviceName: rootDeviceName,
            // gp3's baseline 3000 IOPS suits etcd's fsyncs on a small cluster; encrypted like its backups.
            ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
    ],
    updateDefaultVersion: true,
});

const assumeByEc2 = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

const instances = nodes.map((node, i) => {
    // A role per member: each may read its own member's secret only (and write backups).
    const role = new aws.iam.Role(`platform-${node.member}`, { assumeRolePolicy: assumeByEc2 });
    new aws.iam.RolePolicy(`platform-${node.member}-etcd`, {
        role: role.name,
        policy: etcd.memberInstancePolicies.apply((policies) => policies[node.member]),
    });
    // Stacked: the node's kube-apiserver fetches its etcd client bundle and encryption configuration.
    new aws.iam.RolePolicy(`platform-${node.member}-apiserver`, {
        role: role.name,
        policy: etcd.apiServerSecretsPolicy,
    });
    const profile = new aws.iam.InstanceProfile(`platform-${node.member}`, { role: role.name });

    // The address outlives the instance: a replaced node comes back as the same member.
    // The ENI carries the etcd group beside the node's own group.
    const nic = new aws.ec2.NetworkInterface(`platform-${node.member}`, {
        subnetId: subnets[i].id,
        privateIps: [node.ip],
        securityGroups: [controlPlane.id, etcd.securityGroupId],
        tags: { Name: `platform-${node.member}` },
    });

    return new aws.ec2.Instance(
        `platform-${node.member}`,
        {
            launchTemplate: { id: template.id, version: "$Default" },
            iamInstanceProfile: profile.name,
            primaryNetworkInterface: { networkInterfaceId: nic.id },
            userDataBase64: etcd.memberUserData.apply((userData) =>
                Buffer.from(userData[node.member]).toString("base64"),
            ),
            tags: { Name: `platform-${node.member}`, "platform:etcd-member": node.member },
        },
        {
            // Cloud-init runs user data on first boot only, and a template or user-data edit would
            // stop or replace all three members at once and lose quorum: replace members one at
            // a time instead (`pulumi up --replace <urn>`).
            ignoreChanges: ["launchTemplate", "userDataBase64"],
        },
    );
});

// ------------------------------------------------------------------ kube-apiserver

/** The platform's kube-apiserver static pod: its own flags, plus etcd's side as the component gives it. */
interface KubeApiServerPod {
    command: string[];
    volumes: Volume[];
    volumeMounts: VolumeMount[];
}

/** What the platform's control-plane code would do with the fragment: typed, so a changed contract fails to compile. */
function kubeApiServerPod(etcdSide: ApiServerFragment): KubeApiServerPod {
    return {
        command: [
            "kube-apiserver",
            "--secure-port=6443",
            `--service-cluster-ip-range=${serviceCidr}`,
            "--authorization-mode=Node,RBAC",
            "--anonymous-auth=false",
            ...etcdSide.flags,
        ],
        volumes: etcdSide.volumes,
        volumeMounts: etcdSide.volumeMounts,
    };
}

export const vpcId = vpc.id;
export const subnetIds = subnets.map((s) => s.id);
export const controlPlaneSecurityGroupId = controlPlane.id;
/** The etcd members' group, attached to every node beside the control-plane group. */
export const etcdSecurityGroupId = etcd.securityGroupId;
export const instanceIds = instances.map((instance) => instance.id);
export const kubeApiServer = etcd.apiServer.apply(kubeApiServerPod);
/** For `kubeadm init --config`: the same etcd as external etcd. */
export const kubeadmClusterConfiguration = etcd.kubeadmClusterConfiguration;
/** Where each node's kube-apiserver finds its etcd client bundle and encryption configuration. */
export const apiServerSecretArns = etcd.secretArns.apply((arns) => ({
    etcdClient: arns["kube-apiserver/etcd-client"],
    encryptionConfig: arns["kube-apiserver/encryption-config"],
}));
export const caCertPem = etcd.caCertPem;
export const certificates = etcd.certificates;
export const backupBucketName = etcd.backupBucketName;
