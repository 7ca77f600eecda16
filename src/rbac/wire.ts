// Wires etcd's RBAC: the bootstrap script, root's password, and the files the first member runs it
// with. Users are certificate CNs; the first member runs the bootstrap once, with the backup
// client's identity, and enables auth. Root's password is never needed after that.
import * as pulumi from "@pulumi/pulumi";
import { allOf } from "../core/outputs";
import * as random from "@pulumi/random";
import { NodeFile } from "../manifests/nodeFiles";
import { IssuedCertificate } from "../pki/etcdPki";
import { renderBootstrapScript } from "./bootstrapScript";
import { rbacNodeFiles } from "./rbacNodeFiles";
import { EtcdRoleArgs, resolveRbac } from "./roles";
import { rbacArgsOf } from "./validate";

export interface RbacInputs {
    members: { name: string }[];
    etcdRoles: EtcdRoleArgs[];
    apiServerPrefix?: string;
    clients: { commonName: string; roles: string[] }[];
}

export interface RbacWiring {
    rootPassword: pulumi.Output<string>;
    /** The files the bootstrapping member gets beside its own. Secret: root's password. */
    bootstrapFiles: pulumi.Output<NodeFile[]>;
    outputs: { rbacBootstrapScript: pulumi.Output<string> };
}

export function wireRbac(
    parent: pulumi.Resource,
    name: string,
    args: RbacInputs,
    backupClient: IssuedCertificate,
): RbacWiring {
    const script = renderBootstrapScript(
        resolveRbac({ ...rbacArgsOf(args), memberNames: args.members.map((m) => m.name) }),
    );
    const rootPassword = new random.RandomPassword(
        `${name}-etcd-root-password`,
        { length: 32, special: false },
        { parent },
    ).result;
    const bootstrapFiles = allOf([backupClient.certPem, backupClient.keyPem, rootPassword]).apply(
        ([backupCertPem, backupKeyPem, password]) =>
            rbacNodeFiles({ script, backupCertPem, backupKeyPem, rootPassword: password }),
    );
    return { rootPassword, bootstrapFiles, outputs: { rbacBootstrapScript: pulumi.output(script) } };
}
