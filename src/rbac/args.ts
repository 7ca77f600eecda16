// etcd's own RBAC: roles for extra clients and kube-apiserver's prefix.
import { EtcdRoleArgs } from "./roles";

export interface EtcdRbacArgs {
    /**
     * Roles for extra clients, each a list of key or prefix permissions. The built-in roles exist
     * always: `kube-apiserver` (read-write under `apiServerPrefix`) and etcd's `root` (the backup
     * client's). Plain: validated before anything is created.
     * @default none
     */
    etcdRoles?: EtcdRoleArgs[];
    /**
     * kube-apiserver's `--etcd-prefix`: its certificate's user may read and write under it and
     * nowhere else.
     * @default "/registry"
     */
    apiServerPrefix?: string;
}
