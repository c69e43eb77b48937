/**
 * Wallets in the page: EIP-6963 discovery (with the legacy `window.ethereum` as a fallback), connecting, the
 * viem chain of a registry chain, switching (or adding) the wallet's network, and turning wallet and contract
 * errors into a message a person can act on.
 *
 * @module wallet
 */

import { defineChain, getAddress } from "viem";
import { arbitrum, arbitrumSepolia, base, baseSepolia, optimism, optimismSepolia } from "viem/chains";

/** @typedef {import("viem").EIP1193Provider} Provider */
/** @typedef {{uuid: string, name: string, icon?: string, rdns?: string}} WalletInfo */
/** @typedef {{info: WalletInfo, provider: Provider}} WalletDetail */

/** Chains whose public RPC we can offer to a wallet that does not know them yet. */
/** @type {Map<number, import("viem").Chain>} */
const KNOWN_CHAINS = new Map(
  [optimism, arbitrum, base, optimismSepolia, arbitrumSepolia, baseSepolia].map((c) => [/** @type {number} */ (c.id), /** @type {import("viem").Chain} */ (c)]),
);

/**
 * The viem chain of a registry chain (`/v1/status` row).
 * @param {{chain_id: number, name: string}} status
 * @returns {import("viem").Chain}
 */
export function viemChain(status) {
  const known = KNOWN_CHAINS.get(status.chain_id);
  if (known) return known;
  return defineChain({
    id: status.chain_id,
    name: status.name,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  });
}

/**
 * Wallets announced through EIP-6963, plus `window.ethereum` when no wallet announces itself.
 * @param {Window} win
 * @param {number} [waitMs]
 * @returns {Promise<WalletDetail[]>}
 */
export function discoverWallets(win, waitMs = 200) {
  /** @type {Map<string, WalletDetail>} */
  const found = new Map();
  /** @param {Event} event */
  const onAnnounce = (event) => {
    const detail = /** @type {CustomEvent<WalletDetail>} */ (event).detail;
    if (detail?.info?.uuid && detail.provider) found.set(detail.info.uuid, detail);
  };
  win.addEventListener("eip6963:announceProvider", onAnnounce);
  win.dispatchEvent(new Event("eip6963:requestProvider"));
  return new Promise((resolve) => {
    setTimeout(() => {
      win.removeEventListener("eip6963:announceProvider", onAnnounce);
      const wallets = [...found.values()];
      const legacy = /** @type {{ethereum?: Provider}} */ (/** @type {unknown} */ (win)).ethereum;
      if (!wallets.length && legacy) {
        wallets.push({ info: { uuid: "window.ethereum", name: "Browser wallet" }, provider: legacy });
      }
      resolve(wallets);
    }, waitMs);
  });
}

/**
 * Ask the wallet for an account.
 * @param {Provider} provider
 * @returns {Promise<{account: `0x${string}`, chainId: number}>}
 */
export async function connect(provider) {
  const accounts = /** @type {string[]} */ (await provider.request({ method: "eth_requestAccounts" }));
  if (!accounts?.length) throw new WalletError("no_account", "Your wallet shared no account. Unlock it and connect again.");
  return { account: getAddress(accounts[0]), chainId: await chainIdOf(provider) };
}

/** @param {Provider} provider */
export async function chainIdOf(provider) {
  return Number(await provider.request({ method: "eth_chainId" }));
}

/**
 * Switch the wallet to `chain`; add it first when the wallet does not know it and we know a public RPC.
 * @param {Provider} provider
 * @param {import("viem").Chain} chain
 */
export async function switchChain(provider, chain) {
  const chainId = `0x${chain.id.toString(16)}`;
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (err) {
    if (codeOf(err) !== 4902) throw err;
    const rpcUrls = chain.rpcUrls.default.http;
    if (!rpcUrls.length) {
      throw new WalletError(
        "unknown_chain",
        `Your wallet does not know ${chain.name} (chain ${chain.id}). Add it in your wallet with its RPC URL, then switch.`,
      );
    }
    await provider.request({
      method: "wallet_addEthereumChain",
      params: [{ chainId, chainName: chain.name, nativeCurrency: chain.nativeCurrency, rpcUrls: [...rpcUrls] }],
    });
  }
}

/** A failure with a kind the page turns into its own message and way forward. */
export class WalletError extends Error {
  /**
   * @param {string} kind  rejected | wrong_chain | not_enough_tokens | not_enough_gas | paused | quota | relayer |
   *                       reverted | unknown_chain | no_account | no_wallet | input
   * @param {string} message
   * @param {{chainId?: number, retryAfter?: number | null}} [extra]
   */
  constructor(kind, message, extra = {}) {
    super(message);
    this.name = "WalletError";
    this.kind = kind;
    this.chainId = extra.chainId;
    this.retryAfter = extra.retryAfter ?? null;
  }
}

/**
 * The EIP-1193 error code anywhere in an error's cause chain (viem wraps the wallet's error).
 * @param {unknown} err
 * @returns {number | undefined}
 */
export function codeOf(err) {
  for (let e = /** @type {any} */ (err), depth = 0; e && depth < 10; e = e.cause, depth++) {
    if (typeof e.code === "number") return e.code;
  }
  return undefined;
}

/**
 * A WalletError for anything a wallet, viem or a contract threw.
 * @param {unknown} err
 * @returns {WalletError}
 */
export function explain(err) {
  if (err instanceof WalletError) return err;
  const code = codeOf(err);
  if (code === 4001) {
    return new WalletError("rejected", "You declined the request in your wallet. Nothing was signed or sent; try again when ready.");
  }
  if (code === 4100) return new WalletError("no_account", "Your wallet has not allowed this page yet: connect again.");
  /** @type {any} */
  const e = err;
  const reason = findReason(e);
  if (reason) return new WalletError("reverted", `The contract refused: ${reason}.`);
  const text = String(e?.shortMessage ?? e?.message ?? err);
  if (/insufficient funds/i.test(text)) {
    return new WalletError("not_enough_gas", "Your account has no ether for gas on this chain. Fund it, or use the gasless option where offered.");
  }
  return new WalletError("failed", text.split("\n")[0]);
}

/** @param {any} err @returns {string | null} */
function findReason(err) {
  for (let e = err, depth = 0; e && depth < 10; e = e.cause, depth++) {
    if (typeof e.reason === "string" && e.reason) return e.reason;
    if (e.data?.errorName === "Error" && typeof e.data.args?.[0] === "string") return e.data.args[0];
  }
  return null;
}
