/**
 * dm3 profiles exactly as dm3's own library (`@dm3-org/dm3-lib-profile`) writes them: canonical JSON, the
 * EIP-191 profile creation message, the `network.dm3.profile` record value, and key pairs made with WebCrypto
 * (X25519 for encryption, Ed25519 for signing). The Python twin is `indexer/dm3/profile.py`; both are tested
 * against dm3's published vectors. No DOM: runs in browsers and in Node.js >= 20.
 *
 * @module profile
 */

import { getAddress } from "viem";

export const PROFILE_KEY = "network.dm3.profile";
const DATA_JSON = "data:application/json,";

/**
 * @typedef {object} UserProfile
 * @property {string} publicEncryptionKey  base64 of the 32-byte X25519 public key
 * @property {string} publicSigningKey     base64 of the 32-byte Ed25519 public key
 * @property {string[]} deliveryServices   ENS names of delivery services
 */

/**
 * Serialise like safe-stable-stringify: object keys sorted by UTF-16 code units (JavaScript's default sort), no
 * whitespace. Only JSON values (objects, arrays, strings, finite numbers, booleans, null) are accepted.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = /** @type {Record<string, unknown>} */ (value);
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError("not a JSON number");
  if (value === undefined || typeof value === "bigint" || typeof value === "function" || typeof value === "symbol") {
    throw new TypeError(`not a JSON value: ${typeof value}`);
  }
  return JSON.stringify(value);
}

/**
 * The exact text a dm3 client asks the wallet to `personal_sign` (dm3-lib-profile getProfileCreationMessage).
 * @param {string} address  any casing; written checksummed
 * @param {string} canonicalProfile  canonicalJson(profile)
 * @returns {string}
 */
export function profileCreationMessage(address, canonicalProfile) {
  return (
    "dm3.chat wants you register your dm3 profile with your Ethereum account:\n" +
    `${getAddress(address)}\n\n` +
    "This is required only once!\n" +
    "(There is no paid transaction initiated. The signature is used off-chain only.)\n\n" +
    "URI: https://dm3.chat\n" +
    "Version: 1\n" +
    `dm3 Profile: ${canonicalProfile}`
  );
}

/**
 * The `network.dm3.profile` record value of a signed profile: a `data:application/json,` URI of the canonical
 * JSON of the SignedUserProfile (what dm3's library publishes).
 * @param {UserProfile} profile
 * @param {string} signature  0x-hex personal_sign signature over profileCreationMessage
 * @returns {string}
 */
export function profileRecord(profile, signature) {
  return DATA_JSON + canonicalJson({ profile, signature });
}

/**
 * Sign a profile with any `personal_sign` function (a wallet, viem's signMessage) and return the record value.
 * @param {{address: string, profile: UserProfile, signMessage: (message: string) => Promise<string>}} args
 * @returns {Promise<{record: string, message: string, signature: string}>}
 */
export async function signProfile({ address, profile, signMessage }) {
  const message = profileCreationMessage(address, canonicalJson(profile));
  const signature = await signMessage(message);
  return { record: profileRecord(profile, signature), message, signature };
}

/** @param {ArrayBuffer | Uint8Array} bytes */
export function toBase64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  for (const b of view) text += String.fromCharCode(b);
  return btoa(text);
}

/** @param {string} b64url  base64url without padding (JWK) */
function base64UrlToBytes(b64url) {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(b64url.length / 4) * 4, "=");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * @typedef {object} KeyPair
 * @property {string} publicKey   base64, 32 bytes
 * @property {string} privateKey  base64: X25519 the 32-byte scalar; Ed25519 the 64-byte seed‖public key
 *                                (libsodium's secret key format, which dm3's clients store)
 */

/**
 * Fresh encryption (X25519) and signing (Ed25519) key pairs from WebCrypto. The private keys never leave the
 * returned object: nothing here sends anything anywhere.
 * @param {Crypto} [webcrypto]
 * @returns {Promise<{encryption: KeyPair, signing: KeyPair}>}
 */
export async function createKeyPairs(webcrypto = globalThis.crypto) {
  const subtle = webcrypto?.subtle;
  if (!subtle) {
    throw new Error("this browser offers no WebCrypto here (it needs https:// or localhost)");
  }
  const x = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]));
  const ed = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]));
  const xPublic = new Uint8Array(await subtle.exportKey("raw", x.publicKey));
  const edPublic = new Uint8Array(await subtle.exportKey("raw", ed.publicKey));
  const xPrivate = base64UrlToBytes(/** @type {string} */ ((await subtle.exportKey("jwk", x.privateKey)).d));
  const edSeed = base64UrlToBytes(/** @type {string} */ ((await subtle.exportKey("jwk", ed.privateKey)).d));
  const edSecret = new Uint8Array(64);
  edSecret.set(edSeed, 0);
  edSecret.set(edPublic, 32);
  return {
    encryption: { publicKey: toBase64(xPublic), privateKey: toBase64(xPrivate) },
    signing: { publicKey: toBase64(edPublic), privateKey: toBase64(edSecret) },
  };
}

/**
 * The file a person keeps: their profile, both key pairs, and where it was published. JSON, pretty-printed.
 * @param {{address: string, profile: UserProfile, signature: string, keys: {encryption: KeyPair, signing: KeyPair}}} args
 * @returns {string}
 */
export function keysFile({ address, profile, signature, keys }) {
  return JSON.stringify(
    {
      warning: "Private keys of your dm3 profile. Keep this file secret; whoever holds it can read your messages.",
      address: getAddress(address),
      signedUserProfile: { profile, signature },
      encryptionKeyPair: { ...keys.encryption, algorithm: "X25519" },
      signingKeyPair: { ...keys.signing, algorithm: "Ed25519 (privateKey = 32-byte seed followed by the public key)" },
    },
    null,
    2,
  );
}
