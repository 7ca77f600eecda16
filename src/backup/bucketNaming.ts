// S3 bucket names: the rules a name must meet, and the name given to a bucket this component
// creates. Names are global across all AWS accounts, so a created name carries a random part.

/** `etcd-backup-`: a fixed start keeps derived names clear of AWS's reserved prefixes (`xn--`, `sthree-`, ...). */
const DERIVED_PREFIX = "etcd-backup-";
/** Hex digits of the random suffix (`random.RandomId` with 4 bytes). */
export const BUCKET_SUFFIX_BYTES = 4;
const MAX_BUCKET_NAME = 63;

const RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/**
 * Why `name` is not a usable general-purpose bucket name, or undefined. Dots are refused too,
 * although S3 allows them: a dotted name breaks TLS certificate matching for virtual-hosted
 * requests, and the bucket policy refuses anything but TLS.
 */
export function bucketNameProblem(name: string): string | undefined {
    const quoted = JSON.stringify(name);
    const fix =
        "use 3 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit, e.g. \"acme-etcd-backups\"";
    if (name.length < 3 || name.length > MAX_BUCKET_NAME || !/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(name)) {
        return name.includes(".") && /^[a-z0-9.-]+$/.test(name)
            ? `${quoted} contains '.', which breaks TLS to the bucket's virtual-hosted endpoint; ${fix}`
            : `${quoted} is not a valid S3 bucket name; ${fix}`;
    }
    const reserved =
        RESERVED_PREFIXES.find((p) => name.startsWith(p)) ?? RESERVED_SUFFIXES.find((s) => name.endsWith(s));
    if (reserved) {
        return `${quoted} uses ${JSON.stringify(reserved)}, which AWS reserves; ${fix}`;
    }
    return undefined;
}

/** The cluster's name as bucket-name text: lowercase letters, digits and single '-'. */
export function sanitizeForBucketName(cluster: string): string {
    const room = MAX_BUCKET_NAME - DERIVED_PREFIX.length - 1 - BUCKET_SUFFIX_BYTES * 2;
    const text = cluster
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+/, "")
        .slice(0, room)
        .replace(/-+$/, "");
    return text === "" ? "cluster" : text;
}

/** `etcd-backup-<cluster>-<random hex>`, at most 63 characters. */
export function derivedBucketName(cluster: string, suffixHex: string): string {
    return `${DERIVED_PREFIX}${sanitizeForBucketName(cluster)}-${suffixHex}`;
}
