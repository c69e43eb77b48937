// dm3 profiles against the vectors made with dm3's own library (tests/data/dm3-profile.json).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { recoverMessageAddress } from "viem";

import { canonicalJson, createKeyPairs, keysFile, profileCreationMessage, profileRecord, signProfile } from "../src/profile.js";

const vectors = JSON.parse(readFileSync(new URL("../../tests/data/dm3-profile.json", import.meta.url), "utf8")).vectors;
const valid = vectors.filter((/** @type {any} */ v) => v.validForAddress);

test("canonical JSON, creation message and record value equal dm3's for every vector", () => {
  assert.ok(valid.length >= 2);
  for (const v of valid) {
    assert.equal(canonicalJson(v.signedUserProfile.profile), v.canonicalProfile);
    assert.equal(profileCreationMessage(v.address.toLowerCase(), v.canonicalProfile), v.profileCreationMessage);
    assert.equal(profileRecord(v.signedUserProfile.profile, v.signedUserProfile.signature), v.recordValue);
    const decoded = Buffer.from(v.recordValueBase64.split(",")[1], "base64").toString("utf8");
    assert.equal("data:application/json," + decoded, v.recordValue);
  }
});

test("each vector's signature recovers its address; a tampered profile does not", async () => {
  for (const v of vectors) {
    const message = profileCreationMessage(v.address, canonicalJson(v.signedUserProfile.profile));
    const signer = await recoverMessageAddress({ message, signature: v.signedUserProfile.signature });
    assert.equal(signer === v.address, v.validForAddress, v.address);
  }
  assert.ok(vectors.some((/** @type {any} */ v) => !v.validForAddress));
});

test("canonical JSON sorts by UTF-16 code units and refuses non-JSON values", () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, "é"], A: { z: 1.5, y: "\n" } }), '{"A":{"y":"\\n","z":1.5},"a":[true,null,"é"],"b":1}');
  assert.equal(canonicalJson({ "\u{1F600}": 1, "\uFFFF": 2 }), '{"\u{1F600}":1,"\uFFFF":2}'); // surrogates sort below U+FFFF
  assert.throws(() => canonicalJson({ a: 1n }), TypeError);
  assert.throws(() => canonicalJson(Number.NaN), TypeError);
});

test("the message names the checksummed address and refuses a malformed one", () => {
  assert.match(profileCreationMessage("0x3e4a844373e4d1bdf8e21df3ae195cf2aa7eeb57", "{}"), /\n0x3e4A844373e4D1bDF8E21Df3AE195cF2aA7eeb57\n/);
  assert.throws(() => profileCreationMessage("0x1234", "{}"));
});

test("key pairs from WebCrypto: the private keys belong to the public keys", async () => {
  const keys = await createKeyPairs();
  const { subtle } = globalThis.crypto;
  const b64 = (/** @type {string} */ s) => Buffer.from(s, "base64");
  const url = (/** @type {Buffer} */ b) => b.toString("base64url");
  assert.equal(b64(keys.encryption.publicKey).length, 32);
  assert.equal(b64(keys.encryption.privateKey).length, 32);
  const secret = b64(keys.signing.privateKey);
  assert.equal(secret.length, 64);
  assert.deepEqual(secret.subarray(32), b64(keys.signing.publicKey));

  // Ed25519: sign with the exported seed, verify with the public key.
  const edPrivate = await subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", d: url(secret.subarray(0, 32)), x: url(secret.subarray(32)) }, { name: "Ed25519" }, false, ["sign"]);
  const edPublic = await subtle.importKey("raw", b64(keys.signing.publicKey), { name: "Ed25519" }, false, ["verify"]);
  const data = new TextEncoder().encode("dm3");
  assert.ok(await subtle.verify({ name: "Ed25519" }, edPublic, await subtle.sign({ name: "Ed25519" }, edPrivate, data), data));

  // X25519: both sides of a key agreement with another pair derive the same secret.
  const other = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]));
  const mine = await subtle.importKey("jwk", { kty: "OKP", crv: "X25519", d: url(b64(keys.encryption.privateKey)), x: url(b64(keys.encryption.publicKey)) }, { name: "X25519" }, false, ["deriveBits"]);
  const minePublic = await subtle.importKey("raw", b64(keys.encryption.publicKey), { name: "X25519" }, false, []);
  const a = await subtle.deriveBits({ name: "X25519", public: other.publicKey }, mine, 256);
  const b = await subtle.deriveBits({ name: "X25519", public: minePublic }, other.privateKey, 256);
  assert.deepEqual(Buffer.from(a), Buffer.from(b));

  const again = await createKeyPairs();
  assert.notEqual(again.encryption.privateKey, keys.encryption.privateKey);
});

test("signProfile hands dm3's exact message to the signer and builds the record", async () => {
  const v = valid[0];
  /** @type {string[]} */
  const asked = [];
  const signed = await signProfile({
    address: v.address,
    profile: v.signedUserProfile.profile,
    signMessage: async (message) => (asked.push(message), v.signedUserProfile.signature),
  });
  assert.deepEqual(asked, [v.profileCreationMessage]);
  assert.equal(signed.record, v.recordValue);
  const file = JSON.parse(keysFile({ address: v.address, profile: v.signedUserProfile.profile, signature: signed.signature, keys: await createKeyPairs() }));
  assert.equal(file.address, v.address);
  assert.equal(file.encryptionKeyPair.privateKey.length, 44);
});
