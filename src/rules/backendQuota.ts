// etcd's backend quota limits: the component validates `quotaBackendBytes` against them, and the
// policy pack judges a rendered manifest's `--quota-backend-bytes` by the same maximum.

/** etcd's own recommended maximum for `--quota-backend-bytes` (etcd warns above it). */
export const MAX_QUOTA_BACKEND_BYTES = 8 * 1024 ** 3;
/** Below this etcd's own bookkeeping (the auth store, the lease and member buckets) fills the quota. */
export const MIN_QUOTA_BACKEND_BYTES = 1024 ** 2;
