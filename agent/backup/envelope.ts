// Client-side envelope encryption of backups with the AWS Encryption SDK: each snapshot gets its
// own data key, wrapped by the backup KMS key (production) or by a raw AES key (tests and
// air-gapped restores only). The encryption context binds the backup to its cluster's identity,
// object key, revision and time (authenticity.ts); the SDK authenticates it with the header and
// every frame, KMS wraps the data key under it, and decryption checks it before any byte is trusted.
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
import { Duplex } from "stream";
import { BackupBinding, bindingContext, contextProblem } from "./authenticity";

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

export function encryptingStream(keyring: KeyringNode, binding: BackupBinding): Duplex {
    return client.encryptStream(keyring, {
        suiteId: BACKUP_SUITE,
        encryptionContext: bindingContext(binding),
        frameLength: FRAME_LENGTH,
    });
}

/**
 * A decrypting stream that fails unless the message's authenticated encryption context is the
 * binding the manifest claims, for an object read from `readFrom`. Plaintext it emits is
 * authenticated frame by frame; callers must treat the output as good only once the stream has
 * finished without error.
 */
export function decryptingStream(keyring: KeyringNode, claimed: BackupBinding, readFrom: string): Duplex {
    const stream = client.decryptStream(keyring);
    stream.once("MessageHeader", (header: { encryptionContext: Record<string, string> }) => {
        const problem = contextProblem(header.encryptionContext, claimed, readFrom);
        if (problem !== undefined) {
            stream.destroy(new Error(problem));
        }
    });
    return stream;
}
