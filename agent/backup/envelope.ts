// Client-side envelope encryption of backups with the AWS Encryption SDK: each snapshot gets its
// own data key, wrapped by the backup KMS key (production) or by a raw AES key (tests and
// air-gapped restores only). The encryption context names the cluster, and decryption checks it,
// so a backup of one cluster cannot be restored as another's.
import * as fs from "fs";
import {
    AlgorithmSuiteIdentifier,
    buildClient,
    CommitmentPolicy,
    KeyringNode,
    KmsKeyringNode,
    RawAesKeyringNode,
    RawAesWrappingSuiteIdentifier,
} from "@aws-crypto/client-node";
import { KMS } from "@aws-sdk/client-kms";
import { CLUSTER_CONTEXT_KEY } from "../../src/backup/agentConfig";
import { Duplex } from "stream";

/** Identifies what the ciphertext holds, so nothing else is mistaken for a backup. */
export const CONTENT_CONTEXT_KEY = "secure-etcd:content";
export const CONTENT_ETCD_SNAPSHOT = "etcd-snapshot";

/**
 * Plaintext bytes per authenticated frame. The SDK's 4 KiB default spends most of its time on
 * per-frame overhead; 1 MiB keeps memory small and throughput near the cipher's.
 */
export const FRAME_LENGTH = 1024 * 1024;

/**
 * AES-256-GCM with key commitment, without the default suite's ECDSA signature. The signature
 * stops someone who can decrypt from forging messages; here decrypting (restore) and writing
 * (the members' role) are different principals and readers cannot put objects, while signing
 * costs three times the CPU of encrypting on the etcd node (measured: `npm run bench`).
 */
export const BACKUP_SUITE = AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;

const client = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

export interface KeyringChoice {
    /** The backup KMS key (ARN): the production keyring. */
    kmsKeyArn?: string;
    /** A file holding a base64 256-bit key: a raw keyring, for tests and air-gapped restores. */
    rawKeyFile?: string;
    /** A custom endpoint for KMS (e.g. a VPC endpoint). */
    kmsEndpoint?: string;
}

export function buildKeyring(choice: KeyringChoice): KeyringNode {
    if ((choice.kmsKeyArn === undefined) === (choice.rawKeyFile === undefined)) {
        throw new Error("give exactly one of --kms-key-arn (production) or --raw-key-file (tests, air-gapped)");
    }
    if (choice.rawKeyFile !== undefined) {
        return new RawAesKeyringNode({
            keyNamespace: "secure-etcd",
            keyName: "backup-raw-key",
            unencryptedMasterKey: readRawKey(choice.rawKeyFile),
            wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
        });
    }
    const endpoint = choice.kmsEndpoint;
    return new KmsKeyringNode({
        generatorKeyId: choice.kmsKeyArn,
        ...(endpoint
            ? {
                  clientProvider: (region: string) => new KMS({ region, endpoint }),
              }
            : {}),
    });
}

function readRawKey(file: string): Uint8Array {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8").trim();
    } catch (e) {
        throw new Error(`--raw-key-file ${file}: ${(e as Error).message}`);
    }
    const key = Buffer.from(text, "base64");
    if (key.length !== 32 || key.toString("base64") !== text) {
        throw new Error(
            `--raw-key-file ${file}: must hold exactly 32 bytes, base64-encoded (head -c 32 /dev/urandom | base64)`,
        );
    }
    return new Uint8Array(key);
}

export function encryptionContext(cluster: string): Record<string, string> {
    return { [CLUSTER_CONTEXT_KEY]: cluster, [CONTENT_CONTEXT_KEY]: CONTENT_ETCD_SNAPSHOT };
}

export function encryptingStream(keyring: KeyringNode, cluster: string): Duplex {
    return client.encryptStream(keyring, {
        suiteId: BACKUP_SUITE,
        encryptionContext: encryptionContext(cluster),
        frameLength: FRAME_LENGTH,
    });
}

/**
 * A decrypting stream that fails unless the message was made for `cluster`. Plaintext it emits
 * is authenticated frame by frame; the message signature is checked at the end, so callers
 * must treat the output as good only once the stream has finished without error.
 */
export function decryptingStream(keyring: KeyringNode, cluster: string): Duplex {
    const stream = client.decryptStream(keyring);
    stream.once("MessageHeader", (header: { encryptionContext: Record<string, string> }) => {
        const expected = encryptionContext(cluster);
        for (const [key, value] of Object.entries(expected)) {
            if (header.encryptionContext[key] !== value) {
                stream.destroy(
                    new Error(
                        `the backup's encryption context says ${key}=${header.encryptionContext[key] ?? "(absent)"}, expected ${value}: not a backup of this cluster`,
                    ),
                );
                return;
            }
        }
    });
    return stream;
}
