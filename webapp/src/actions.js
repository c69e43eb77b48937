/**
 * Every write the app makes, as the wallet's own transaction or gaslessly (signed by the wallet, carried by the
 * relayer). Each checks what it can before asking the wallet (network, pause, balance), simulates the call so a
 * revert shows its reason, and waits for the receipt. No DOM: `onStep` reports progress.
 *
 * @module actions
 */

import { createPublicClient, createWalletClient, custom, formatUnits, getAddress, parseSignature } from "viem";

import { Dm3ApiError } from "./api.js";
import { depositsAbi, registryAbi, tokenAbi } from "./contracts.js";
import { SIGNED_FUNCTIONS, relayMessage, typedData } from "./signing.js";
import { WalletError, chainIdOf, explain, viemChain } from "./wallet.js";

/** A chain's name as people write it ("optimism" -> "Optimism"). @param {{name: string}} chain */
export const title = (chain) => chain.name.charAt(0).toUpperCase() + chain.name.slice(1);

/** Seconds a signature (permit or signed write) stays valid. */
export const SIGNATURE_LIFETIME = 3600n;

/**
 * @typedef {object} Session
 * @property {import("viem").EIP1193Provider} provider
 * @property {`0x${string}`} account
 * @property {import("./api.js").Dm3Api} api
 */

/** @typedef {import("./api.js").ChainStatus} ChainStatus */
/** @typedef {(text: string) => void} OnStep */
/** @typedef {{symbol: string, decimals: number, address: `0x${string}`}} TokenInfo */

/**
 * viem clients on the wallet's provider for one registry chain.
 * @param {Session} session
 * @param {ChainStatus} chain
 */
export function clientsFor(session, chain) {
  const transport = custom(session.provider);
  const viem = viemChain(chain);
  return {
    publicClient: createPublicClient({ chain: viem, transport }),
    walletClient: createWalletClient({ account: session.account, chain: viem, transport }),
  };
}

/**
 * Refuse early, with a switch button's worth of information, when the wallet is on another network.
 * @param {Session} session
 * @param {ChainStatus} chain
 */
export async function ensureChain(session, chain) {
  const current = await chainIdOf(session.provider);
  if (current !== chain.chain_id) {
    throw new WalletError(
      "wrong_chain",
      `Your wallet is on chain ${current}; this needs ${title(chain)} (chain ${chain.chain_id}).`,
      { chainId: chain.chain_id },
    );
  }
}

/** @param {string | null} address @param {string} what */
function contractOf(address, what) {
  if (!address) throw new WalletError("input", `This chain has no ${what} configured on the server.`);
  return getAddress(address);
}

/**
 * The deposit token of a chain: address, symbol and decimals (read through the wallet).
 * @param {Session} session
 * @param {ChainStatus} chain
 * @returns {Promise<TokenInfo>}
 */
export async function tokenInfo(session, chain) {
  const { publicClient } = clientsFor(session, chain);
  const deposits = contractOf(chain.deposits_address, "deposits contract");
  const address = await publicClient.readContract({ address: deposits, abi: depositsAbi, functionName: "TOKEN" });
  const [symbol, decimals] = await Promise.all([
    publicClient.readContract({ address, abi: tokenAbi, functionName: "symbol" }),
    publicClient.readContract({ address, abi: tokenAbi, functionName: "decimals" }),
  ]);
  return { address, symbol, decimals };
}

/**
 * The chain's own clock (the devnet's can run ahead of the browser's).
 * @param {Session} session
 * @param {ChainStatus} chain
 */
export async function chainTime(session, chain) {
  const block = await clientsFor(session, chain).publicClient.getBlock({ blockTag: "latest" });
  return block.timestamp;
}

/**
 * Simulate, send, and wait for the receipt of one contract call from the wallet.
 * @param {Session} session
 * @param {ChainStatus} chain
 * @param {{address: `0x${string}`, abi: import("viem").Abi, functionName: string, args: readonly unknown[]}} call
 * @param {OnStep} onStep
 */
async function send(session, chain, call, onStep) {
  const { publicClient, walletClient } = clientsFor(session, chain);
  try {
    const { request } = await publicClient.simulateContract({ ...call, account: session.account });
    onStep("Confirm the transaction in your wallet…");
    const hash = await walletClient.writeContract(/** @type {any} */ (request));
    onStep("Waiting for the transaction to be mined…");
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 250 });
    if (receipt.status !== "success") throw new WalletError("reverted", `The transaction ${hash} was reverted.`);
    return receipt;
  } catch (err) {
    throw explain(err);
  }
}

/**
 * Lock `amount` for `recipient`: with an EIP-2612 permit in one transaction where the token supports it
 * (EIP-5267 `eip712Domain`), otherwise approve + deposit. Refuses early when deposits are paused or the balance
 * is short.
 * @param {Session} session
 * @param {{chain: ChainStatus, recipient: string, amount: bigint, token: TokenInfo, onStep: OnStep}} args
 */
export async function deposit(session, { chain, recipient, amount, token, onStep }) {
  if (amount <= 0n) throw new WalletError("input", "Enter an amount above zero.");
  await ensureChain(session, chain);
  const { publicClient, walletClient } = clientsFor(session, chain);
  const deposits = contractOf(chain.deposits_address, "deposits contract");
  const to = getAddress(recipient);
  if (await publicClient.readContract({ address: deposits, abi: depositsAbi, functionName: "paused" })) {
    throw new WalletError(
      "paused",
      `New deposits are paused on ${title(chain)} by the contract's owner. Your bonds are safe: withdrawals, burns and ` +
        "releases still work. Try again later, or deposit on another chain where the recipient set a price.",
    );
  }
  const balance = await publicClient.readContract({
    address: token.address, abi: tokenAbi, functionName: "balanceOf", args: [session.account],
  });
  if (balance < amount) {
    throw new WalletError(
      "not_enough_tokens",
      `You hold ${formatUnits(balance, token.decimals)} ${token.symbol} on ${title(chain)}; this deposit needs ` +
        `${formatUnits(amount, token.decimals)} ${token.symbol}. Get ${formatUnits(amount - balance, token.decimals)} ` +
        `more ${token.symbol}, or deposit less.`,
    );
  }
  /** @type {{name: string, version: string} | null} */
  let domain = null;
  try {
    domain = (await publicClient.getEip712Domain({ address: token.address })).domain;
  } catch {
    domain = null; // no EIP-5267: no permit; approve first
  }
  if (domain) {
    const [nonce, now] = await Promise.all([
      publicClient.readContract({ address: token.address, abi: tokenAbi, functionName: "nonces", args: [session.account] }),
      chainTime(session, chain),
    ]);
    const deadline = now + SIGNATURE_LIFETIME;
    onStep("Sign the permit in your wallet (no transaction yet)…");
    let signature;
    try {
      signature = await walletClient.signTypedData({
        domain: { name: domain.name, version: domain.version, chainId: chain.chain_id, verifyingContract: token.address },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: { owner: session.account, spender: deposits, value: amount, nonce, deadline },
      });
    } catch (err) {
      throw explain(err);
    }
    const { r, s, v, yParity } = parseSignature(signature);
    const vByte = v !== undefined ? Number(v) : 27 + yParity;
    return send(session, chain, {
      address: deposits, abi: depositsAbi, functionName: "deposit_with_permit", args: [to, amount, deadline, vByte, r, s],
    }, onStep);
  }
  const allowance = await publicClient.readContract({
    address: token.address, abi: tokenAbi, functionName: "allowance", args: [session.account, deposits],
  });
  if (allowance < amount) {
    onStep("Step 1 of 2: approve the deposits contract to take the tokens…");
    await send(session, chain, { address: token.address, abi: tokenAbi, functionName: "approve", args: [deposits, amount] }, onStep);
  }
  return send(session, chain, { address: deposits, abi: depositsAbi, functionName: "deposit", args: [to, amount] }, onStep);
}

/**
 * A direct InboxDeposits or ProfileRegistry call from the wallet.
 * @param {Session} session
 * @param {{chain: ChainStatus, contract: "InboxDeposits" | "ProfileRegistry", functionName: string, args: readonly unknown[], onStep: OnStep}} args
 */
export async function direct(session, { chain, contract, functionName, args, onStep }) {
  await ensureChain(session, chain);
  const address =
    contract === "InboxDeposits"
      ? contractOf(chain.deposits_address, "deposits contract")
      : contractOf(chain.registry_address, "profile registry");
  const abi = contract === "InboxDeposits" ? depositsAbi : registryAbi;
  return send(session, chain, { address, abi, functionName, args }, onStep);
}

/**
 * Sign a write with the wallet (EIP-712) and let the relayer send it; waits until it is mined.
 * @param {Session} session
 * @param {{chain: ChainStatus, fn: string, message: Record<string, string | bigint | boolean>, onStep: OnStep}} args
 *        `message` without nonce and deadline (read from the contract and the chain's clock here)
 */
export async function relayed(session, { chain, fn, message, onStep }) {
  const spec = SIGNED_FUNCTIONS[fn];
  if (!spec) throw new WalletError("input", `unknown signed function ${fn}`);
  await ensureChain(session, chain);
  const { publicClient, walletClient } = clientsFor(session, chain);
  const contract =
    spec.contract === "InboxDeposits"
      ? contractOf(chain.deposits_address, "deposits contract")
      : contractOf(chain.registry_address, "profile registry");
  const abi = spec.contract === "InboxDeposits" ? depositsAbi : registryAbi;
  const [nonce, now] = await Promise.all([
    publicClient.readContract({ address: contract, abi, functionName: "nonces", args: [session.account] }),
    chainTime(session, chain),
  ]);
  const full = { ...message, [spec.signerField]: session.account, nonce, deadline: now + SIGNATURE_LIFETIME };
  const data = typedData(fn, full, { chainId: chain.chain_id, verifyingContract: contract });
  onStep("Sign the request in your wallet (the relayer pays the gas)…");
  let signature;
  try {
    signature = await walletClient.signTypedData({
      domain: /** @type {any} */ (data.domain),
      types: { [spec.primaryType]: data.types[spec.primaryType] },
      primaryType: spec.primaryType,
      message: /** @type {any} */ (data.message),
    });
  } catch (err) {
    throw explain(err);
  }
  try {
    onStep("Handing the signed request to the relayer…");
    const accepted = await session.api.relay({
      chain_id: chain.chain_id, function: fn, message: relayMessage(fn, full), signature,
    });
    const done = await session.api.waitForRelay(accepted.id, {
      onUpdate: (s) => onStep(`Relayer: ${s.state}${s.tx_hash ? ` (${s.tx_hash.slice(0, 10)}…)` : ""}`),
    });
    if (done.state !== "mined") {
      throw new WalletError("relayer", `The relayer could not carry it (${done.state}${done.error ? `: ${done.error}` : ""}). Nothing changed; send it as your own transaction instead.`);
    }
    return done;
  } catch (err) {
    throw relayError(err);
  }
}

/** @param {unknown} err */
export function relayError(err) {
  if (!(err instanceof Dm3ApiError)) return explain(err);
  if (err.status === 429) {
    const wait = err.retryAfter ? ` in ${Math.ceil(err.retryAfter / 60)} min` : " later";
    return new WalletError("quota", `The relayer's quota for your account is used up (${err.message}). Try again${wait}, or send it as your own transaction.`, { retryAfter: err.retryAfter });
  }
  if (err.status === 404) {
    return new WalletError("relayer", "This server runs no relayer. Send it as your own transaction instead.");
  }
  if (err.status === 503) {
    return new WalletError("relayer", `The relayer cannot send right now (${err.message}). Send it as your own transaction, or try again later.`);
  }
  if (err.status === 409) {
    return new WalletError("relayer", `Your signature was for an old nonce (${err.message}). Sign again.`);
  }
  return new WalletError("relayer", `The relayer refused: ${err.message}`);
}

/**
 * The node of the address name `<40 hex>.addr.<parent>` of the session's account on a chain.
 * @param {Session} session
 * @param {ChainStatus} chain
 */
export async function addressNameNode(session, chain) {
  const { publicClient } = clientsFor(session, chain);
  const registry = contractOf(chain.registry_address, "profile registry");
  return publicClient.readContract({ address: registry, abi: registryAbi, functionName: "addr_name_node", args: [session.account] });
}
