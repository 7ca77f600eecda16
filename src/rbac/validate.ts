// Rules for etcd's RBAC: the roles, kube-apiserver's prefix and the roles each client gets.
import { argRule, ArgRule } from "../core/rules";
import { EtcdRoleArgs } from "./roles";
import { RbacArgs, rbacProblems } from "./roles";

interface RbacView {
    etcdRoles: EtcdRoleArgs[];
    apiServerPrefix?: string;
    clients: { commonName: string; roles: string[] }[];
}

/** The RBAC model's view of the arguments; extra clients keep their indexes, so paths match. */
export function rbacArgsOf(args: RbacView): RbacArgs {
    return {
        apiServerPrefix: args.apiServerPrefix,
        roles: args.etcdRoles,
        clients: args.clients.map((c) => ({ commonName: c.commonName, roles: c.roles })),
    };
}

export const RBAC_RULES: ArgRule<RbacView>[] = [
    argRule(["etcdRoles", "apiServerPrefix", "clients"], rbacArgsOf, (v) => rbacProblems(v as RbacArgs)),
];
