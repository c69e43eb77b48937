// The EIP-712 table: shapes, errors, and hashing through viem (the Python side checks equality with its own table).
import assert from "node:assert/strict";
import { test } from "node:test";

import { hashTypedData, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { SIGNED_FUNCTIONS, relayMessage, typeString, typedData } from "../src/signing.js";

const burn = {
  sender: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  recipient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  amount: 10n ** 18n,
  nonce: 0n,
  deadline: 2n ** 64n,
};
const domain = { chainId: 10, verifyingContract: /** @type {`0x${string}`} */ ("0x6D65277795070E8860C801C1D3c1Eb8e6D850403") };

test("fourteen signed functions, nonce and deadline last, the signer among the fields", () => {
  assert.equal(Object.keys(SIGNED_FUNCTIONS).length, 14);
  for (const spec of Object.values(SIGNED_FUNCTIONS)) {
    assert.deepEqual(spec.fields.slice(-2), [["nonce", "uint256"], ["deadline", "uint256"]]);
    assert.ok(spec.fields.some(([name]) => name === spec.signerField), spec.function);
  }
  assert.equal(typeString(SIGNED_FUNCTIONS.burn_with_sig), "Burn(address sender,address recipient,uint256 amount,uint256 nonce,uint256 deadline)");
});

test("typed data signs and recovers with viem", async () => {
  const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  const data = typedData("burn_with_sig", { ...burn, recipient: account.address }, domain);
  assert.equal(data.domain.name, "dm3 InboxDeposits");
  const signature = await account.signTypedData(/** @type {any} */ (data));
  assert.equal(await recoverTypedDataAddress({ .../** @type {any} */ (data), signature }), account.address);
  assert.match(hashTypedData(/** @type {any} */ (data)), /^0x[0-9a-f]{64}$/);
});

test("a missing field or an unknown function is refused by name", () => {
  const { amount, ...short } = burn;
  assert.throws(() => typedData("burn_with_sig", short, domain), /burn_with_sig: message lacks amount/);
  assert.throws(() => typedData("mint_with_sig", burn, domain), /unknown signed function "mint_with_sig"/);
  assert.throws(() => relayMessage("burn_with_sig", short), /lacks amount/);
});

test("relay messages carry uint256 as decimal strings and only the struct's fields", () => {
  assert.deepEqual(relayMessage("burn_with_sig", { ...burn, extra: "x" }), {
    sender: burn.sender, recipient: burn.recipient, amount: "1000000000000000000", nonce: "0", deadline: "18446744073709551616",
  });
});
