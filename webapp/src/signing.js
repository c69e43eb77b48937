/**
 * EIP-712 typed data of every signed write of ProfileRegistry and InboxDeposits: the JavaScript twin of
 * `indexer/signing.py` (a test checks that both tables are equal and hash alike). No DOM, no wallet: build the
 * typed data here, sign it with any wallet (`eth_signTypedData_v4`), hand it to the relayer.
 *
 * @module signing
 */

export const EIP712_VERSION = "1";

/** @type {Readonly<Record<"ProfileRegistry" | "InboxDeposits", string>>} */
export const DOMAIN_NAMES = Object.freeze({
  ProfileRegistry: "dm3 ProfileRegistry",
  InboxDeposits: "dm3 InboxDeposits",
});

export const DOMAIN_FIELDS = Object.freeze([
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
]);

/**
 * @typedef {object} SignedFunction
 * @property {"ProfileRegistry" | "InboxDeposits"} contract
 * @property {string} function      the contract function the relayer calls, e.g. "burn_with_sig"
 * @property {string} primaryType   the EIP-712 struct name, e.g. "Burn"
 * @property {ReadonlyArray<readonly [string, string]>} fields  [name, solidity type], nonce and deadline last
 * @property {string} signerField   the field naming who signs
 */

/**
 * @param {"ProfileRegistry" | "InboxDeposits"} contract
 * @param {string} fn
 * @param {string} primaryType
 * @param {string[]} pairs  "type name" strings, as in the Python table
 * @param {string} signerField
 * @returns {SignedFunction}
 */
function signed(contract, fn, primaryType, pairs, signerField) {
  /** @type {Array<readonly [string, string]>} */
  const fields = pairs.map((pair) => {
    const [type, name] = pair.split(" ");
    return /** @type {const} */ ([name, type]);
  });
  fields.push(["nonce", "uint256"], ["deadline", "uint256"]);
  return Object.freeze({ contract, function: fn, primaryType, fields: Object.freeze(fields), signerField });
}

const R = "ProfileRegistry";
const D = "InboxDeposits";

/** @type {Readonly<Record<string, SignedFunction>>} */
export const SIGNED_FUNCTIONS = Object.freeze(
  Object.fromEntries(
    [
      signed(R, "registerWithSig", "Register", ["address signer", "string label", "address owner"], "signer"),
      signed(R, "setOwnerWithSig", "SetOwner", ["address signer", "bytes32 node", "address owner"], "signer"),
      signed(R, "setApprovalForAllWithSig", "SetApprovalForAll",
        ["address signer", "address operator", "bool approved"], "signer"),
      signed(R, "setTextWithSig", "SetText",
        ["address signer", "bytes32 node", "string key", "string value"], "signer"),
      signed(R, "setAddrWithSig", "SetAddr", ["address signer", "bytes32 node", "address a"], "signer"),
      signed(R, "setAddrForCoinWithSig", "SetAddrForCoin",
        ["address signer", "bytes32 node", "uint256 coinType", "bytes a"], "signer"),
      signed(R, "setContenthashWithSig", "SetContenthash", ["address signer", "bytes32 node", "bytes hash"], "signer"),
      signed(R, "setPrimaryNameWithSig", "SetPrimaryName", ["address signer", "string name"], "signer"),
      signed(D, "set_min_deposit_with_sig", "SetMinDeposit", ["address recipient", "uint256 amount"], "recipient"),
      signed(D, "deposit_with_sig", "Deposit", ["address sender", "address recipient", "uint256 amount"], "sender"),
      signed(D, "burn_with_sig", "Burn", ["address sender", "address recipient", "uint256 amount"], "recipient"),
      signed(D, "release_with_sig", "Release", ["address sender", "address recipient"], "recipient"),
      signed(D, "request_withdrawal_with_sig", "RequestWithdrawal", ["address sender", "address recipient"], "sender"),
      signed(D, "withdraw_with_sig", "Withdraw",
        ["address sender", "address recipient", "address receiver"], "sender"),
    ].map((f) => [f.function, f]),
  ),
);

/**
 * The EIP-712 type string of a signed function, e.g. "Burn(address sender,address recipient,uint256 amount,...)".
 * @param {SignedFunction} spec
 * @returns {string}
 */
export function typeString(spec) {
  return `${spec.primaryType}(${spec.fields.map(([name, type]) => `${type} ${name}`).join(",")})`;
}

/**
 * @typedef {Record<string, string | bigint | number | boolean>} SignedMessage
 */

/**
 * The full EIP-712 message of a signed write, ready for `eth_signTypedData_v4` (after JSON encoding with
 * bigints as decimal strings) or viem's `signTypedData`.
 *
 * @param {string} fn  a key of SIGNED_FUNCTIONS
 * @param {SignedMessage} message  every field of the struct (nonce and deadline included)
 * @param {{chainId: number, verifyingContract: string}} domain
 */
export function typedData(fn, message, { chainId, verifyingContract }) {
  const spec = SIGNED_FUNCTIONS[fn];
  if (!spec) throw new Error(`unknown signed function ${JSON.stringify(fn)}`);
  const missing = spec.fields.map(([name]) => name).filter((name) => !(name in message));
  if (missing.length) throw new Error(`${fn}: message lacks ${missing.sort().join(", ")}`);
  return {
    types: {
      EIP712Domain: DOMAIN_FIELDS.map((f) => ({ ...f })),
      [spec.primaryType]: spec.fields.map(([name, type]) => ({ name, type })),
    },
    primaryType: spec.primaryType,
    domain: { name: DOMAIN_NAMES[spec.contract], version: EIP712_VERSION, chainId, verifyingContract },
    message: Object.fromEntries(spec.fields.map(([name]) => [name, message[name]])),
  };
}

/**
 * The message as the relayer takes it (RELAY_API.md): the struct's fields only, uint256 as decimal strings.
 * @param {string} fn
 * @param {SignedMessage} message
 * @returns {Record<string, string | boolean>}
 */
export function relayMessage(fn, message) {
  const spec = SIGNED_FUNCTIONS[fn];
  if (!spec) throw new Error(`unknown signed function ${JSON.stringify(fn)}`);
  return Object.fromEntries(
    spec.fields.map(([name]) => {
      const value = message[name];
      if (value === undefined) throw new Error(`${fn}: message lacks ${name}`);
      return [name, typeof value === "bigint" || typeof value === "number" ? value.toString() : value];
    }),
  );
}
