/**
 * The inbox app: the page's wiring. Every talk with the API goes through api.js, every write through actions.js;
 * this module only renders state and turns each failure into its own message and way forward.
 *
 * @module app
 */

import { formatUnits, getAddress, isAddress, namehash, parseUnits } from "viem";

import { addressNameNode, chainTime, clientsFor, deposit, direct, ensureChain, relayed, title, tokenInfo } from "./actions.js";
import { Dm3Api, Dm3ApiError } from "./api.js";
import { PROFILE_KEY, createKeyPairs, keysFile, signProfile } from "./profile.js";
import { WalletError, connect, discoverWallets, explain, switchChain, viemChain } from "./wallet.js";

/** @typedef {import("./api.js").ChainStatus} ChainStatus */
/** @typedef {import("./actions.js").TokenInfo} TokenInfo */
/** @typedef {{label: string, onClick: () => void | Promise<void>, secondary?: boolean}} Action */
/** @typedef {{functionName: string, args: readonly unknown[], fn: string, message: Record<string, string | bigint | boolean>, done: string}} InboxCall */

const api = new Dm3Api(window.location.origin);

const state = {
  /** @type {ChainStatus[]} */ chains: [],
  /** @type {import("./actions.js").Session | null} */ session: null,
  /** @type {number | null} */ walletChainId: null,
  /** @type {Map<number, TokenInfo>} */ tokens: new Map(),
  /** @type {Map<number, number>} chain clock minus this browser's clock, in seconds */ clockOffset: new Map(),
  /** @type {{address: `0x${string}`, label: string} | null} */ recipient: null,
  /** @type {EventSource | null} */ stream: null,
  /** @type {Map<string, string>} address -> display name */ names: new Map(),
};

// --- small DOM helpers -------------------------------------------------------------------------------------------

/**
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/**
 * Replace a container's content, keeping what the person typed and the messages shown (inputs and status areas
 * with the same id move over), so live refreshes never swallow a message.
 * @param {HTMLElement} container
 * @param {HTMLElement[]} nodes
 */
function replaceKeeping(container, nodes) {
  const previous = new Map([...container.querySelectorAll("input[id], .status[id]")].map((el) => [el.id, el]));
  /** @type {{el: HTMLInputElement, start: number | null, end: number | null} | null} */
  let typing = null;
  for (const node of nodes) {
    for (const el of node.querySelectorAll("input[id], .status[id]")) {
      const old = previous.get(el.id);
      if (!old) continue;
      if (el instanceof HTMLInputElement && old instanceof HTMLInputElement) {
        if (old.value !== old.defaultValue) el.value = old.value; // typed by the person: keep it
        if (old === document.activeElement) typing = { el, start: old.selectionStart, end: old.selectionEnd };
      } else if (el instanceof HTMLElement && old instanceof HTMLElement) {
        el.replaceChildren(...old.childNodes);
        if (old.dataset.state) el.dataset.state = old.dataset.state;
      }
    }
  }
  container.replaceChildren(...nodes);
  if (typing) {
    // The field being typed in keeps the focus and the caret: the next keystroke goes where the last one went.
    typing.el.focus();
    if (typing.start !== null && typing.end !== null) typing.el.setSelectionRange(typing.start, typing.end);
  }
}

/**
 * Mark `panel` busy (`aria-busy`) while `render` runs: assistive technology waits for the update, and so can a
 * test before it types into a form that is about to be replaced. Renders may overlap; the last one clears it.
 * @template T
 * @param {string} panel
 * @param {() => Promise<T>} render
 * @returns {Promise<T>}
 */
async function rendering(panel, render) {
  const el = $(panel);
  const count = Number(el.dataset.renders ?? 0) + 1;
  el.dataset.renders = String(count);
  el.setAttribute("aria-busy", "true");
  try {
    return await render();
  } finally {
    const left = Number(el.dataset.renders ?? 1) - 1;
    el.dataset.renders = String(left);
    if (left <= 0) el.removeAttribute("aria-busy");
  }
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Show a message (and the buttons that are its way forward) in a status area.
 * @param {string | HTMLElement} target
 * @param {"info" | "pending" | "ok" | "error" | null} kind
 * @param {string} [text]
 * @param {Action[]} [actions]
 */
function say(target, kind, text = "", actions = []) {
  const el = typeof target === "string" ? $(target) : target;
  el.replaceChildren();
  if (!kind) {
    delete el.dataset.state;
    return;
  }
  el.dataset.state = kind;
  el.append(h("span", { class: "message", text }));
  if (actions.length) {
    el.append(
      h("div", { class: "row" }, ...actions.map((a) => h("button", { type: "button", class: a.secondary ? "secondary" : undefined, onclick: a.onClick, text: a.label }))),
    );
  }
}

/**
 * Run one user action: progress in `target`, success text, or the failure with its way forward.
 * @param {string | HTMLElement} target
 * @param {(step: (text: string) => void) => Promise<string | void>} work  returns the success message
 * @param {{retry?: () => void, direct?: () => void, fallback?: string}} [ways]  fallback: where success shows when
 *        the target left the page (its row is gone after the write)
 */
async function act(target, work, ways = {}) {
  // Resolved by id at every write: a live refresh may have re-rendered the area since (replaceKeeping).
  const id = typeof target === "string" ? target : target.id;
  const area = () => document.getElementById(id) ?? (ways.fallback ? $(ways.fallback) : null);
  const show = (/** @type {"pending" | "ok" | "error"} */ kind, /** @type {string} */ text, /** @type {Action[]} */ actions = []) => {
    const el = area();
    if (el) say(el, kind, text, actions);
  };
  show("pending", "Working…");
  try {
    const done = await work((text) => show("pending", text));
    show("ok", done || "Done.");
  } catch (err) {
    const e = err instanceof Dm3ApiError ? new WalletError("api", err.message) : explain(err);
    show("error", e.message, waysForward(e, ways));
  }
}

/**
 * @param {WalletError} e
 * @param {{retry?: () => void, direct?: () => void}} ways
 * @returns {Action[]}
 */
function waysForward(e, ways) {
  /** @type {Action[]} */
  const actions = [];
  if (e.kind === "wrong_chain" && e.chainId !== undefined) {
    const chain = chainById(e.chainId);
    if (chain) actions.push({ label: `Switch to ${title(chain)}`, onClick: () => switchTo(chain) });
  }
  if ((e.kind === "quota" || e.kind === "relayer") && ways.direct) {
    actions.push({ label: "Send as my own transaction", onClick: ways.direct });
  }
  if (e.kind === "no_account" || e.kind === "no_wallet") actions.push({ label: "Connect wallet", onClick: connectWallet });
  if (ways.retry && ["rejected", "wrong_chain", "failed", "api", "relayer"].includes(e.kind)) {
    actions.push({ label: "Try again", onClick: ways.retry, secondary: true });
  }
  return actions;
}

/** @param {number} id */
const chainById = (id) => state.chains.find((c) => c.chain_id === id);



/** @param {string} address */
function short(address) {
  const a = getAddress(address);
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

/** An address as people read it: its name where we know one, and the checksummed address. @param {string} address */
function who(address) {
  const a = getAddress(address);
  const name = state.names.get(a.toLowerCase());
  return h("span", { class: "who" }, name ? h("strong", { text: name }) : null, name ? " " : null, h("span", { class: "address", title: a, text: a }));
}

/** Format an amount with the chain's token when known (always exact: bigint → decimal string). */
function amount(/** @type {number} */ chainId, /** @type {bigint} */ value) {
  if (value === 0n) return "0";
  const token = state.tokens.get(chainId);
  return token ? `${formatUnits(value, token.decimals)} ${token.symbol}` : `${value} base units`;
}

/** @param {string} text @param {TokenInfo} token */
function parseAmount(text, token) {
  const cleaned = text.trim();
  if (!/^\d+(\.\d+)?$/.test(cleaned)) throw new WalletError("input", `Enter an amount like 10 or 2.5 (${token.symbol}).`);
  const [, fraction = ""] = cleaned.split(".");
  if (fraction.length > token.decimals) throw new WalletError("input", `${token.symbol} has only ${token.decimals} decimals.`);
  return parseUnits(cleaned, token.decimals);
}

/** The session, or a WalletError telling the person to connect. */
function needSession() {
  if (!state.session) throw new WalletError("no_wallet", "Connect your wallet first.");
  return state.session;
}

/** Token info for a chain, read through the wallet (which must be on that chain). @param {ChainStatus} chain */
async function tokenFor(chain) {
  const session = needSession();
  await ensureChain(session, chain);
  let token = state.tokens.get(chain.chain_id);
  if (!token) {
    token = await tokenInfo(session, chain);
    state.tokens.set(chain.chain_id, token);
  }
  return token;
}

/** Seconds now by a chain's clock (the browser's when the wallet is elsewhere). @param {number} chainId */
function nowOn(chainId) {
  return Math.floor(Date.now() / 1000) + (state.clockOffset.get(chainId) ?? 0);
}

/** @param {number} seconds */
function duration(seconds) {
  const d = Math.floor(seconds / 86400), hh = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return [d && `${d} d`, (d || hh) && `${hh} h`, `${m} min`, `${s} s`].filter(Boolean).join(" ");
}

// --- wallet ------------------------------------------------------------------------------------------------------

async function connectWallet() {
  const wallets = await discoverWallets(window);
  if (!wallets.length) {
    showBanner("No wallet found in this browser. Install a browser wallet (any EIP-1193 / EIP-6963 extension) or open this page in your wallet's browser, then reload.", []);
    return;
  }
  if (wallets.length === 1) return useWallet(wallets[0].provider);
  renderWallet(wallets.map((w) => ({ label: `Connect ${w.info.name}`, onClick: () => useWallet(w.provider) })));
}

/** @param {import("viem").EIP1193Provider} provider */
async function useWallet(provider) {
  try {
    const { account, chainId } = await connect(provider);
    state.session = { provider, account, api };
    state.walletChainId = chainId;
    provider.on?.("chainChanged", (/** @type {string} */ id) => {
      state.walletChainId = Number(id);
      void onWalletChanged();
    });
    provider.on?.("accountsChanged", (/** @type {string[]} */ accounts) => {
      if (!accounts.length) state.session = null;
      else if (state.session) state.session = { ...state.session, account: getAddress(accounts[0]) };
      void onWalletChanged();
    });
    await onWalletChanged();
  } catch (err) {
    const e = explain(err);
    showBanner(e.kind === "rejected" ? "You declined the connection in your wallet. Connect again when ready." : e.message, [
      { label: "Connect wallet", onClick: connectWallet },
    ]);
  }
}

async function onWalletChanged() {
  delete document.body.dataset.wallet;
  const chain = state.walletChainId === null ? undefined : chainById(state.walletChainId);
  if (state.session && chain) {
    try {
      state.tokens.set(chain.chain_id, await tokenInfo(state.session, chain));
      state.clockOffset.set(chain.chain_id, Number(await chainTime(state.session, chain)) - Math.floor(Date.now() / 1000));
    } catch {
      /* the token is read again when it is needed, with a message then */
    }
  }
  renderWallet();
  await refreshAll();
  if (state.session) document.body.dataset.wallet = "ready";
}

/** @param {ChainStatus} chain */
async function switchTo(chain) {
  if (!state.session) return connectWallet();
  try {
    await switchChain(state.session.provider, viemChain(chain));
    state.walletChainId = chain.chain_id;
    await onWalletChanged();
  } catch (err) {
    const e = explain(err);
    showBanner(e.kind === "rejected" ? `You declined the switch to ${title(chain)}. Switch in your wallet, or try again.` : e.message, [
      { label: `Switch to ${title(chain)}`, onClick: () => switchTo(chain) },
    ]);
  }
}

/** @param {Action[]} [choices] */
function renderWallet(choices) {
  const el = $("wallet");
  if (choices) {
    el.replaceChildren(...choices.map((c) => h("button", { type: "button", onclick: c.onClick, text: c.label })));
    return;
  }
  if (!state.session) {
    el.replaceChildren(h("button", { type: "button", id: "connect", onclick: connectWallet, text: "Connect wallet" }));
    hideBanner();
    return;
  }
  const chain = state.walletChainId === null ? undefined : chainById(state.walletChainId);
  el.replaceChildren(
    h("span", { id: "account", class: "address", title: state.session.account, text: state.session.account }),
    " on ",
    h("span", { id: "network", text: chain ? `${title(chain)} (${chain.chain_id})` : `chain ${state.walletChainId}` }),
  );
  if (chain) hideBanner();
  else {
    showBanner(
      `Wrong network: your wallet is on chain ${state.walletChainId}, where this registry has no contracts. Switch to one of its chains:`,
      state.chains.map((c) => ({ label: `Switch to ${title(c)}`, onClick: () => switchTo(c) })),
    );
  }
}

/** @param {string} text @param {Action[]} actions */
function showBanner(text, actions) {
  const el = $("banner");
  el.hidden = false;
  el.replaceChildren(
    h("span", { text }),
    h("div", { class: "row" }, ...actions.map((a) => h("button", { type: "button", onclick: a.onClick, text: a.label }))),
  );
}

function hideBanner() {
  const el = $("banner");
  el.hidden = true;
  el.replaceChildren();
}

// --- tabs --------------------------------------------------------------------------------------------------------

function setupTabs() {
  for (const tab of document.querySelectorAll("button.tab")) {
    tab.addEventListener("click", () => showTab(/** @type {HTMLElement} */ (tab).dataset.tab ?? "reach"));
  }
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));
  if (location.hash) showTab(location.hash.slice(1));
}

/** @param {string} name */
function showTab(name) {
  if (!["reach", "bonds", "inbox", "profile"].includes(name)) return;
  for (const tab of document.querySelectorAll("button.tab")) {
    const el = /** @type {HTMLElement} */ (tab);
    if (el.dataset.tab === name) el.setAttribute("aria-current", "page");
    else el.removeAttribute("aria-current");
  }
  for (const panel of document.querySelectorAll("section.panel")) {
    /** @type {HTMLElement} */ (panel).hidden = panel.id !== name;
  }
  if (location.hash.slice(1) !== name) history.replaceState(null, "", `#${name}`);
  void refreshTab(name);
}

const currentTab = () => document.querySelector("button.tab[aria-current]")?.getAttribute("data-tab") ?? "reach";

async function refreshAll() {
  await refreshTab(currentTab());
}

/** @param {string} name */
async function refreshTab(name) {
  if (name === "reach") return state.recipient ? renderRecipient() : undefined;
  if (name === "bonds") return renderBonds();
  if (name === "inbox") return renderInbox();
  if (name === "profile") return renderProfile();
}

// --- reach someone -----------------------------------------------------------------------------------------------

/** @param {SubmitEvent} event */
async function onLookup(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("reach-target")).value.trim();
  $("reach-result").replaceChildren();
  state.stream?.close();
  state.stream = null;
  state.recipient = null;
  if (isAddress(input, { strict: false })) {
    state.recipient = { address: getAddress(input), label: getAddress(input) };
  } else if (/^[^\s/]+\.[^\s/]+$/.test(input)) {
    say("reach-status", "pending", `Looking up ${input}…`);
    let profile;
    try {
      profile = await api.profile(input.toLowerCase());
    } catch (err) {
      return say("reach-status", "error", errorText(err), [{ label: "Try again", onClick: () => /** @type {HTMLFormElement} */ ($("reach-form")).requestSubmit() }]);
    }
    if (!profile) {
      return say("reach-status", "error", `No name ${input} in this registry. Check the spelling, or enter the address instead.`);
    }
    if (!profile.address) return say("reach-status", "error", `${input} exists but points to no address yet, so it cannot receive messages.`);
    state.recipient = { address: getAddress(profile.address), label: profile.name };
    state.names.set(profile.address.toLowerCase(), profile.name);
  } else {
    return say("reach-status", "error", "Enter a name like alice.op.dm3.eth or a 0x address (40 hex digits).");
  }
  say("reach-status", null);
  await renderRecipient();
  followRecipient();
}

/** Live updates: the change stream of my pairs with this recipient (and its price). */
function followRecipient() {
  state.stream?.close();
  const recipient = state.recipient;
  if (!recipient) return;
  const stream = new EventSource(api.changesUrl({ recipient: recipient.address }));
  stream.addEventListener("change", () => void renderRecipient());
  state.stream = stream;
}

async function renderRecipient() {
  const recipient = state.recipient;
  if (!recipient) return;
  const me = state.session?.account;
  let profile, stats, eligibility;
  try {
    [profile, stats, eligibility] = await Promise.all([
      api.addressProfile(recipient.address),
      api.recipient(recipient.address),
      me ? api.eligibility(me, recipient.address) : Promise.resolve(null),
    ]);
  } catch (err) {
    return say("reach-status", "error", errorText(err), [{ label: "Try again", onClick: renderRecipient }]);
  }
  if (recipient !== state.recipient) return; // another lookup started meanwhile
  const dm3 = profile?.dm3_profile;
  const card = h(
    "div",
    { class: "card", id: "recipient-card" },
    h(
      "dl",
      {},
      h("dt", { text: "Name" }), h("dd", { id: "recipient-name", text: recipient.label !== recipient.address ? recipient.label : profile?.name ?? "no primary name" }),
      h("dt", { text: "Address" }), h("dd", { class: "address", id: "recipient-address", text: recipient.address }),
      h("dt", { text: "Delivery services" }), h("dd", { text: dm3?.delivery_services?.length ? dm3.delivery_services.join(", ") : "none published" }),
      h("dt", { text: "dm3 profile" }),
      h("dd", { id: "recipient-signature", text: !dm3 ? "none published" : dm3.signature_valid === true ? "signature valid ✓" : dm3.signature_valid === false ? "signature INVALID ✗: do not trust this profile" : `not checked (${dm3.error ?? dm3.kind})` }),
    ),
  );
  /** @type {HTMLElement[]} */
  const rows = [];
  for (const chainStats of stats.chains) {
    const chain = chainById(chainStats.envelope.chain_id);
    if (!chain) continue;
    const mine = eligibility?.chains.find((c) => c.envelope.chain_id === chain.chain_id);
    const owed = mine ? (chainStats.min_deposit > mine.bond ? chainStats.min_deposit - mine.bond : 0n) : chainStats.min_deposit;
    const token = state.tokens.get(chain.chain_id);
    const input = /** @type {HTMLInputElement} */ (h("input", {
      id: `deposit-amount-${chain.chain_id}`, inputmode: "decimal", autocomplete: "off",
      value: token ? formatUnits(owed, token.decimals) : "",
      placeholder: token ? token.symbol : "amount",
    }));
    const status = h("div", { class: "status", role: "status", id: `deposit-status-${chain.chain_id}` });
    const run = () =>
      act(status, async (step) => {
        const session = needSession();
        const tok = await tokenFor(chain);
        const value = parseAmount(input.value, tok);
        await deposit(session, { chain, recipient: recipient.address, amount: value, token: tok, onStep: step });
        step("Mined. Waiting for the registry to see it…");
        return `Deposited ${formatUnits(value, tok.decimals)} ${tok.symbol} for ${recipient.label}.`;
      }, { retry: run });
    rows.push(
      h(
        "div",
        { class: "item", "data-chain": chain.chain_id },
        h("strong", { text: title(chain) }),
        h("span", { class: "price", id: `price-${chain.chain_id}`, text: chainStats.open_inbox ? "Open inbox: no deposit needed" : `Price: ${amount(chain.chain_id, chainStats.min_deposit)}` }),
        mine ? h("span", { class: "meta", id: `mybond-${chain.chain_id}`, text: `Your bond: ${amount(chain.chain_id, mine.bond)} · ${chainVerdict(mine, /** @type {import("./api.js").Eligibility} */ (eligibility))}` }) : null,
        chainStats.min_deposit > 0n || (mine && mine.bond > 0n)
          ? h("form", { class: "row", onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), run()) },
              h("label", { for: input.id, text: "Amount" }), input,
              h("button", { type: "submit", text: `Deposit on ${title(chain)}` }))
          : null,
        status,
      ),
    );
  }
  const verdict = eligibility
    ? h("p", { class: "verdict", id: "reach-verdict", "data-eligible": String(eligibility.eligible), text: eligibility.eligible ? `You can reach ${recipient.label} (${reasonText(eligibility.reason)}).` : `You cannot reach ${recipient.label} yet: ${reasonText(eligibility.reason)}.` })
    : h("p", { class: "verdict", id: "reach-verdict", text: "Connect your wallet to see whether you can reach this inbox." });
  replaceKeeping($("reach-result"), [card, verdict, h("h3", { text: "Price per chain" }), ...rows]);
}

/**
 * One chain's answer for me, in words: a chain the recipient never configured does not decide while another does.
 * @param {import("./api.js").ChainEligibility} mine
 * @param {import("./api.js").Eligibility} all
 */
function chainVerdict(mine, all) {
  if (!mine.inbox_configured && all.chains.some((c) => c.inbox_configured)) return "no price set here: the price on another chain decides";
  return mine.eligible ? "you are through" : reasonText(mine.reason);
}

/** @param {string} reason */
function reasonText(reason) {
  return ({
    accepted: "the owner accepted you",
    open_inbox: "the inbox is open",
    deposit: "your deposit covers the price",
    insufficient_deposit: "your deposit is below the price",
    withdrawal_pending: "you asked for your deposit back, so it no longer counts",
    no_deposit: "you have no deposit",
    unknown_recipient: "this name points to no address",
    unknown_sender: "your address is unknown",
  })[reason] ?? reason;
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

// --- my bonds ----------------------------------------------------------------------------------------------------

/** @type {ReturnType<typeof setInterval> | undefined} */
let countdownTimer;

async function renderBonds() {
  const list = $("bonds-list");
  if (!state.session) {
    list.replaceChildren();
    return say("bonds-status", "info", "Connect your wallet to see your bonds.", [{ label: "Connect wallet", onClick: connectWallet }]);
  }
  const me = state.session.account;
  let bonds;
  try {
    bonds = await api.deposits({ sender: me });
  } catch (err) {
    return say("bonds-status", "error", errorText(err), [{ label: "Try again", onClick: renderBonds }]);
  }
  await learnNames(bonds.map((b) => b.recipient));
  if (!bonds.length) say("bonds-status", "info", "You hold no bonds yet. Look someone up under “Reach someone” to deposit.");
  else say("bonds-status", null);
  /** @type {Array<() => void>} */
  const tickers = [];
  const items = bonds.map((b) => {
    const chain = chainById(b.chain_id);
    const name = chain ? title(chain) : `chain ${b.chain_id}`;
    const id = `${b.chain_id}-${b.recipient.toLowerCase()}`;
    const status = h("div", { class: "status", role: "status", id: `bond-status-${id}` });
    const stateText = h("span", { class: "meta", id: `bond-state-${id}` });
    const unlocked = () => b.accepted || (b.unlock_time !== null && nowOn(b.chain_id) >= b.unlock_time);
    const withdrawButton = /** @type {HTMLButtonElement} */ (h("button", { type: "button", id: `withdraw-${id}`, text: "Withdraw" }));
    const tick = () => {
      if (b.accepted) stateText.textContent = "Accepted by the recipient: withdraw any time.";
      else if (b.unlock_time !== null) {
        const left = b.unlock_time - nowOn(b.chain_id);
        stateText.textContent = left > 0 ? `Withdrawal requested: unlocks in ${duration(left)}.` : "Unlocked: withdraw now.";
      } else stateText.textContent = "Active: it lets your messages in.";
      withdrawButton.disabled = b.bond === 0n || !unlocked();
    };
    tick();
    tickers.push(tick);
    const topUp = /** @type {HTMLInputElement} */ (h("input", { id: `topup-${id}`, inputmode: "decimal", autocomplete: "off", placeholder: "amount" }));
    if (!chain) return h("div", { class: "item" }, h("span", { text: `${name}: not served by this API` }));
    const topUpRun = () =>
      act(status, async (step) => {
        const session = needSession();
        const tok = await tokenFor(chain);
        const value = parseAmount(topUp.value, tok);
        const receipt = await deposit(session, { chain, recipient: b.recipient, amount: value, token: tok, onStep: step });
        await settle(chain.chain_id, receipt.blockNumber, renderBonds);
        return `Topped up by ${formatUnits(value, tok.decimals)} ${tok.symbol}.`;
      }, { retry: topUpRun });
    const requestRun = () =>
      act(status, async (step) => {
        const receipt = await direct(needSession(), { chain, contract: "InboxDeposits", functionName: "request_withdrawal", args: [getAddress(b.recipient)], onStep: step });
        await settle(chain.chain_id, receipt.blockNumber, renderBonds);
        return "Withdrawal requested: the countdown runs; withdraw when it reaches zero.";
      }, { retry: requestRun });
    const withdrawRun = () =>
      act(status, async (step) => {
        const session = needSession();
        const receipt = await direct(session, { chain, contract: "InboxDeposits", functionName: "withdraw", args: [getAddress(b.recipient), session.account], onStep: step });
        await settle(chain.chain_id, receipt.blockNumber, renderBonds);
        return `Withdrawn to ${session.account}.`;
      }, { retry: withdrawRun });
    withdrawButton.addEventListener("click", withdrawRun);
    const canRequest = !b.accepted && b.unlock_time === null && b.bond > 0n;
    return h(
      "div",
      { class: "item", "data-bond": id },
      h("div", {}, h("strong", { text: `${amount(b.chain_id, b.bond)} ` }), "for ", who(b.recipient), ` on ${name}`),
      stateText,
      h("form", { class: "row", onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), topUpRun()) },
        h("label", { for: topUp.id, text: "Top up" }), topUp,
        h("button", { type: "submit", id: `topup-button-${id}`, disabled: b.accepted || b.unlock_time !== null, text: "Top up" })),
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", id: `request-${id}`, disabled: !canRequest, onclick: requestRun, text: "Request withdrawal" }),
        withdrawButton),
      status,
    );
  });
  replaceKeeping(list, items);
  clearInterval(countdownTimer);
  countdownTimer = setInterval(() => tickers.forEach((t) => t()), 1000);
}

/**
 * Wait until the indexer has seen the block of a write (it follows the head within a block or so), then re-render.
 * @param {number} chainId
 * @param {bigint | number | null | undefined} block
 * @param {() => Promise<void>} render
 */
async function settle(chainId, block, render) {
  const target = Number(block ?? 0);
  for (let i = 0; i < 60; i++) {
    const chain = (await api.chains()).find((c) => c.chain_id === chainId);
    if ((chain?.indexed_block ?? -1) >= target) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await render();
}

/** Names for addresses from their profiles (best effort, cached). @param {string[]} addresses */
async function learnNames(addresses) {
  const unknown = [...new Set(addresses.map((a) => a.toLowerCase()))].filter((a) => !state.names.has(a));
  await Promise.all(
    unknown.map(async (a) => {
      try {
        const profile = await api.addressProfile(a);
        if (profile && !profile.name.includes(".addr.")) state.names.set(a, profile.name);
      } catch {
        /* a name is a nicety */
      }
    }),
  );
}

// --- my inbox ----------------------------------------------------------------------------------------------------

const inboxMode = () =>
  /** @type {HTMLInputElement | null} */ (document.querySelector('input[name="inbox-mode"]:checked'))?.value === "relay" ? "relay" : "direct";

/**
 * Run an inbox write the chosen way: as the wallet's transaction, or signed and relayed.
 * @param {HTMLElement} status
 * @param {ChainStatus} chain
 * @param {InboxCall | (() => Promise<InboxCall>)} what the call, or how to make it from the form (made inside
 *   `act`, so the status says "Working…" the moment the form is sent and a bad amount is reported like any error)
 * @param {"direct" | "relay"} [how]
 */
function inboxWrite(status, chain, what, how = inboxMode()) {
  // Made once: "Try again" and "Send as my own transaction" repeat the request that was sent, not what the form
  // (perhaps redrawn meanwhile) holds now.
  /** @type {InboxCall | null} */
  let made = typeof what === "function" ? null : what;
  const again = () => inboxWrite(status, chain, made ?? what, how);
  const asDirect = () => inboxWrite(status, chain, made ?? what, "direct");
  return act(status, async (step) => {
    const call = (made ??= typeof what === "function" ? await what() : what);
    const session = needSession();
    const block =
      how === "relay"
        ? (await relayed(session, { chain, fn: call.fn, message: call.message, onStep: step })).block_number
        : (await direct(session, { chain, contract: "InboxDeposits", functionName: call.functionName, args: call.args, onStep: step })).blockNumber;
    await settle(chain.chain_id, block, renderInbox);
    return call.done;
  }, { retry: again, direct: how === "relay" ? asDirect : undefined, fallback: "inbox-status" });
}

function renderInbox() {
  return rendering("inbox", drawInbox);
}

async function drawInbox() {
  if (!state.session) {
    $("inbox-prices").replaceChildren();
    $("inbox-senders").replaceChildren();
    $("inbox-history").replaceChildren();
    return say("inbox-status", "info", "Connect your wallet to manage your inbox.", [{ label: "Connect wallet", onClick: connectWallet }]);
  }
  const me = state.session.account;
  let stats, bonds, history;
  try {
    [stats, bonds, history] = await Promise.all([
      api.recipient(me),
      api.deposits({ recipient: me }),
      api.changes({ cursor: 0, recipient: me, kinds: ["burn", "release"], limit: 200, timeout: 0 }),
    ]);
  } catch (err) {
    return say("inbox-status", "error", errorText(err), [{ label: "Try again", onClick: renderInbox }]);
  }
  if ($("inbox-status").dataset.state !== "ok") say("inbox-status", null);
  await learnNames([...bonds.map((b) => b.sender), ...history.data.flatMap((c) => (c.sender ? [c.sender] : []))]);

  const prices = stats.chains.map((c) => {
    const chain = chainById(c.envelope.chain_id);
    if (!chain) return null;
    const id = chain.chain_id;
    const input = /** @type {HTMLInputElement} */ (h("input", { id: `price-input-${id}`, inputmode: "decimal", autocomplete: "off", placeholder: "new price" }));
    const status = h("div", { class: "status", role: "status", id: `price-status-${id}` });
    const setPrice = (/** @type {bigint | null} */ fixed) =>
      inboxWrite(status, chain, async () => {
        const value = fixed ?? parseAmount(input.value, await tokenFor(chain));
        return {
          functionName: "set_min_deposit", args: [value], fn: "set_min_deposit_with_sig", message: { amount: value },
          done: value === 0n ? `Your inbox on ${title(chain)} is open: anyone may write.` : `Your price on ${title(chain)} is ${amount(id, value)}.`,
        };
      });
    return h(
      "div",
      { class: "item", "data-chain": id },
      h("strong", { text: title(chain) }),
      h("span", { id: `my-price-${id}`, text: c.open_inbox ? "Open inbox: anyone may write" : `Price: ${amount(id, c.min_deposit)}` }),
      h("span", { class: "meta", text: `${c.open_bonds} open bonds · ${c.burns} burns · ${c.releases} accepted` }),
      h("form", { class: "row", onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), setPrice(null)) },
        h("label", { for: input.id, text: "Price" }), input,
        h("button", { type: "submit", text: "Set price" }),
        h("button", { type: "button", class: "secondary", id: `open-${id}`, onclick: () => setPrice(0n), text: "Make inbox open" })),
      status,
    );
  });
  replaceKeeping($("inbox-prices"), /** @type {HTMLElement[]} */ (prices.filter((p) => p !== null)));

  const live = bonds.filter((b) => b.bond > 0n || b.accepted);
  replaceKeeping($("inbox-senders"),
    (live.length
      ? live.map((b) => {
          const chain = chainById(b.chain_id);
          if (!chain) return h("div", { class: "item", text: `chain ${b.chain_id}: not served by this API` });
          const id = `${b.chain_id}-${b.sender.toLowerCase()}`;
          const token = state.tokens.get(b.chain_id);
          const input = /** @type {HTMLInputElement} */ (h("input", { id: `burn-amount-${id}`, inputmode: "decimal", autocomplete: "off", value: token ? formatUnits(b.bond, token.decimals) : "" }));
          const status = h("div", { class: "status", role: "status", id: `sender-status-${id}` });
          const sender = getAddress(b.sender);
          const burn = () =>
            inboxWrite(status, chain, async () => {
              const value = parseAmount(input.value, await tokenFor(chain));
              if (value > b.bond) throw new WalletError("input", `The bond holds only ${amount(b.chain_id, b.bond)}.`);
              return {
                functionName: "burn", args: [sender, value], fn: "burn_with_sig", message: { sender, amount: value },
                done: `Burned ${amount(b.chain_id, value)} of ${short(sender)}'s bond. Burned tokens are destroyed.`,
              };
            });
          const accept = () =>
            inboxWrite(status, chain, {
              functionName: "release", args: [sender], fn: "release_with_sig", message: { sender },
              done: `Accepted ${short(sender)}: their messages get through for good, and their bond is theirs again.`,
            });
          const stateText = b.accepted ? "accepted" : b.withdrawal_pending ? "asked for the bond back (you can still burn until it unlocks)" : "waiting for your judgement";
          return h(
            "div",
            { class: "item", "data-sender": id },
            h("div", {}, who(sender), ` on ${title(chain)}`),
            h("span", { class: "meta", text: `Bond ${amount(b.chain_id, b.bond)} · ${stateText}` }),
            b.accepted ? null : h("form", { class: "row", onsubmit: (/** @type {Event} */ e) => (e.preventDefault(), burn()) },
              h("label", { for: input.id, text: "Burn" }), input,
              h("button", { type: "submit", id: `burn-${id}`, text: "Burn (spam)" }),
              h("button", { type: "button", class: "secondary", id: `accept-${id}`, onclick: accept, text: "Accept sender" })),
            status,
          );
        })
      : [h("p", { class: "hint", text: "No sender holds a bond for you." })]),
  );

  const entries = history.data.filter((c) => c.action === "apply");
  $("inbox-history").replaceChildren(
    entries.length
      ? h("ul", { id: "history-list" }, ...entries.reverse().map((c) => {
          const known = chainById(c.chain_id);
          const chain = known ? title(known) : `chain ${c.chain_id}`;
          const sender = c.sender ? who(c.sender) : "?";
          return c.kind === "burn"
            ? h("li", {}, `Burned ${amount(c.chain_id, BigInt(String(c.args.amount ?? "0")))} of `, sender, ` on ${chain} (block ${c.block_number})`)
            : h("li", {}, "Accepted ", sender, ` on ${chain} (block ${c.block_number})`);
        }))
      : h("p", { class: "hint", text: "Nothing burned or accepted yet." }),
  );
}

// --- my profile --------------------------------------------------------------------------------------------------

/** @type {{record: string, keys: string, profile: import("./profile.js").UserProfile} | null} */
let created = null;

async function renderProfile() {
  fillChainSelect(/** @type {HTMLSelectElement} */ ($("register-chain")));
  if (!state.session) {
    $("profile-current").replaceChildren();
    return say("profile-status", "info", "Connect your wallet to see and create your profile.", [{ label: "Connect wallet", onClick: connectWallet }]);
  }
  let profile;
  try {
    profile = await api.addressProfile(state.session.account);
  } catch (err) {
    return say("profile-status", "error", errorText(err), [{ label: "Try again", onClick: renderProfile }]);
  }
  say("profile-status", null);
  const dm3 = profile?.dm3_profile;
  $("profile-current").replaceChildren(
    profile
      ? h("div", { class: "card", id: "my-profile" },
          h("dl", {},
            h("dt", { text: "Name" }), h("dd", { id: "my-profile-name", text: profile.name }),
            h("dt", { text: "Delivery services" }), h("dd", { text: dm3?.delivery_services.join(", ") || "none" }),
            h("dt", { text: "Encryption key" }), h("dd", { class: "mono", text: dm3?.public_encryption_key ?? "none" }),
            h("dt", { text: "Signing key" }), h("dd", { class: "mono", text: dm3?.public_signing_key ?? "none" }),
            h("dt", { text: "Signature" }), h("dd", { id: "my-profile-signature", text: !dm3 ? "no dm3 profile record" : dm3.signature_valid ? "valid ✓" : `not valid (${dm3.error ?? "it does not match your address"})` })))
      : h("p", { class: "hint", id: "my-profile", text: "You publish no dm3 profile yet. Create one below." }),
  );
}

/** @param {HTMLSelectElement} select */
function fillChainSelect(select) {
  if (select.options.length === state.chains.length) return;
  select.replaceChildren(...state.chains.map((c) => h("option", { value: String(c.chain_id), text: `${title(c)} (${c.parent_name})` })));
}

/** @param {SubmitEvent} event */
async function onCreateProfile(event) {
  event.preventDefault();
  const names = /** @type {HTMLInputElement} */ ($("profile-ds")).value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (!names.length || names.some((n) => !/^[^\s/]+\.[^\s/]+$/.test(n))) {
    return say("profile-status", "error", "Enter one or more delivery service names like ds.op.dm3.eth, separated by commas.");
  }
  await act("profile-status", async (step) => {
    const session = needSession();
    step("Making your key pairs in this browser…");
    const keys = await createKeyPairs();
    const profile = { publicEncryptionKey: keys.encryption.publicKey, publicSigningKey: keys.signing.publicKey, deliveryServices: names };
    step("Sign your profile in your wallet (a message, no transaction)…");
    const { walletClient } = clientsFor(session, state.chains[0]);
    const signed = await signProfile({
      address: session.account,
      profile,
      signMessage: (message) => walletClient.signMessage({ account: session.account, message }),
    });
    created = { record: signed.record, profile, keys: keysFile({ address: session.account, profile, signature: signed.signature, keys }) };
    renderCreated();
    return "Profile signed. Download your keys, then publish it.";
  }, { retry: () => /** @type {HTMLFormElement} */ ($("profile-form")).requestSubmit() });
}

function renderCreated() {
  if (!created || !state.session) return;
  const account = state.session.account;
  const url = URL.createObjectURL(new Blob([created.keys], { type: "application/json" }));
  const chainSelect = /** @type {HTMLSelectElement} */ (h("select", { id: "publish-chain" }));
  fillChainSelect(chainSelect);
  const nameInput = /** @type {HTMLInputElement} */ (h("input", { id: "publish-name", autocomplete: "off", spellcheck: "false" }));
  const addressName = () => {
    const chain = chainById(Number(chainSelect.value));
    return chain ? `${account.slice(2).toLowerCase()}.addr.${chain.parent_name}` : "";
  };
  nameInput.value = addressName();
  chainSelect.addEventListener("change", () => (nameInput.value = addressName()));
  const status = h("div", { class: "status", role: "status", id: "publish-status" });
  const record = /** @type {{record: string}} */ (created).record;
  /** @type {(how: "direct" | "relay") => Promise<void>} */
  const publish = (how) =>
    act(status, async (step) => {
      const session = needSession();
      const chain = chainById(Number(chainSelect.value));
      const name = nameInput.value.trim().toLowerCase();
      if (!chain) throw new WalletError("input", "Choose a chain.");
      if (!name.endsWith(`.${chain.parent_name}`)) {
        throw new WalletError("input", `${name || "That name"} is not in ${title(chain)}'s registry: names there end in .${chain.parent_name}.`);
      }
      const node = name === addressName() ? await addressNameNode(session, chain) : namehash(name);
      if (how === "relay") {
        await relayed(session, { chain, fn: "setTextWithSig", message: { node, key: PROFILE_KEY, value: record }, onStep: step });
      } else {
        await direct(session, { chain, contract: "ProfileRegistry", functionName: "setText", args: [node, PROFILE_KEY, record], onStep: step });
      }
      step("Published. Waiting for the registry to show it…");
      for (let i = 0; i < 40; i++) {
        const seen = await api.profile(name);
        if (seen?.texts[PROFILE_KEY] === record) {
          void renderProfile();
          return `Published on ${name}: every ENS client now reads it (signature ${seen.dm3_profile?.signature_valid ? "valid" : "not valid"}).`;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      return "Published; the registry has not shown it yet. Reload in a moment.";
    }, { retry: () => publish(how), direct: how === "relay" ? () => publish("direct") : undefined });
  $("profile-created").replaceChildren(
    h("div", { class: "card" },
      h("p", {}, h("strong", { text: "Your new profile is signed. " }), "Your private keys exist only in this page: download them now."),
      h("a", { class: "button", id: "download-keys", href: url, download: `dm3-keys-${account}.json`, text: "Download my keys" }),
      h("p", { text: "The record to publish (public):" }),
      h("pre", { id: "profile-record", text: record }),
      h("div", { class: "stack" },
        h("label", { for: "publish-chain", text: "Chain" }), chainSelect,
        h("label", { for: "publish-name", text: "Publish on name (your address name, or a name you registered)" }), nameInput,
        h("div", { class: "row" },
          h("button", { type: "button", id: "publish-relay", onclick: () => publish("relay"), text: "Publish gasless" }),
          h("button", { type: "button", class: "secondary", id: "publish-direct", onclick: () => publish("direct"), text: "Publish as my transaction" }))),
      status),
  );
}

/** @param {SubmitEvent} event */
async function onRegister(event) {
  event.preventDefault();
  const how = /** @type {HTMLButtonElement | null} */ (event.submitter)?.value === "relay" ? "relay" : "direct";
  const label = /** @type {HTMLInputElement} */ ($("register-label")).value.trim().toLowerCase();
  const chain = chainById(Number(/** @type {HTMLSelectElement} */ ($("register-chain")).value));
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label)) {
    return say("register-status", "error", "Names use a-z, 0-9 and inner hyphens only, like alice or bob-42.");
  }
  if (!chain) return say("register-status", "error", "Choose a chain.");
  const name = `${label}.${chain.parent_name}`;
  /** @type {(mode: "direct" | "relay") => Promise<void>} */
  const run = (mode) =>
    act("register-status", async (step) => {
      const session = needSession();
      const existing = await api.profile(name);
      if (existing?.owner) throw new WalletError("input", `${name} is taken (owner ${existing.owner}). Choose another name.`);
      if (mode === "relay") {
        await relayed(session, { chain, fn: "registerWithSig", message: { label, owner: session.account }, onStep: step });
      } else {
        await direct(session, { chain, contract: "ProfileRegistry", functionName: "register", args: [label, session.account], onStep: step });
      }
      const nameInput = /** @type {HTMLInputElement | null} */ (document.getElementById("publish-name"));
      const chainSelect = /** @type {HTMLSelectElement | null} */ (document.getElementById("publish-chain"));
      if (nameInput && chainSelect) {
        chainSelect.value = String(chain.chain_id);
        nameInput.value = name;
      }
      return `${name} is yours. Publish your profile on it, or keep using your address name.`;
    }, { retry: () => run(mode), direct: mode === "relay" ? () => run("direct") : undefined });
  await run(how);
}

// --- start -------------------------------------------------------------------------------------------------------

async function start() {
  setupTabs();
  $("reach-form").addEventListener("submit", (e) => void onLookup(/** @type {SubmitEvent} */ (e)));
  $("profile-form").addEventListener("submit", (e) => void onCreateProfile(/** @type {SubmitEvent} */ (e)));
  $("register-form").addEventListener("submit", (e) => void onRegister(/** @type {SubmitEvent} */ (e)));
  for (const radio of document.querySelectorAll('input[name="inbox-mode"]')) radio.addEventListener("change", () => void renderInbox());
  renderWallet();
  try {
    state.chains = (await api.chains()).filter((c) => c.deposits_address || c.registry_address);
  } catch (err) {
    say("reach-status", "error", `${errorText(err)}. Reload when the registry is back.`, [{ label: "Reload", onClick: () => location.reload() }]);
    return;
  }
  if (!state.chains.length) say("reach-status", "error", "This registry indexes no chain yet. Reload once its indexer runs.");
  fillChainSelect(/** @type {HTMLSelectElement} */ ($("register-chain")));
  document.body.dataset.ready = "true";
  const wallets = await discoverWallets(window, 100);
  if (wallets.length === 1 && (await wallets[0].provider.request({ method: "eth_accounts" }).catch(() => [])).length) {
    await useWallet(wallets[0].provider); // already allowed: reconnect silently
  }
  await refreshAll();
}

void start();
