/**
 * Client of the dm3 registry read API and of its relayer (`POST /v1/relay`), for browsers and Node.js (>= 18,
 * global `fetch`). No DOM: a Node.js delivery service can import it as it is.
 *
 *     import { Dm3Api } from "./api.js";
 *     const api = new Dm3Api("http://127.0.0.1:8080");
 *     const answer = await api.eligibility("0xSender…", "alice.op.dm3.eth");
 *     if (!answer.eligible) console.log(answer.reason, answer.chains.map((c) => c.minDeposit)); // bigint
 *
 * Amounts come back as bigint; every failure is a `Dm3ApiError` with the HTTP status (0 when the API could not be
 * reached) and the API's own message.
 *
 * @module api
 */

/**
 * @typedef {object} Envelope
 * @property {number} chain_id
 * @property {number | null} block_number
 * @property {string | null} block_hash
 * @property {"latest" | "safe" | "finalized"} finality
 */

/**
 * @typedef {object} ChainStatus
 * @property {number} chain_id
 * @property {string} name
 * @property {string} parent_name
 * @property {string | null} registry_address
 * @property {string | null} deposits_address
 * @property {string} status
 * @property {number | null} head_block
 * @property {number | null} indexed_block
 * @property {number | null} lag
 */

/**
 * @typedef {object} ChainEligibility
 * @property {boolean} eligible
 * @property {string} reason
 * @property {boolean} inbox_configured
 * @property {bigint} bond
 * @property {bigint} min_deposit
 * @property {boolean} accepted
 * @property {boolean} withdrawal_pending
 * @property {number | null} unlock_time
 * @property {Envelope} envelope
 */

/**
 * @typedef {object} Eligibility
 * @property {string} sender
 * @property {string} recipient
 * @property {string | null} sender_address
 * @property {string | null} recipient_address
 * @property {boolean} eligible
 * @property {string} reason
 * @property {number[]} eligible_chain_ids
 * @property {ChainEligibility[]} chains
 */

/**
 * @typedef {object} Dm3Profile
 * @property {"data" | "url" | null} kind
 * @property {string | null} [url]
 * @property {string | null} [dm3_hash]
 * @property {string | null} [public_encryption_key]
 * @property {string | null} [public_signing_key]
 * @property {string[]} delivery_services
 * @property {string | null} [signature]
 * @property {boolean | null} [signature_valid]
 * @property {string | null} [error]
 */

/**
 * @typedef {object} Profile
 * @property {string} name
 * @property {string} node
 * @property {string | null} owner
 * @property {string | null} address
 * @property {Record<string, string>} addresses
 * @property {Record<string, string>} texts
 * @property {string | null} contenthash
 * @property {Dm3Profile | null} dm3_profile
 * @property {Envelope} envelope
 */

/**
 * @typedef {object} Bond
 * @property {number} chain_id
 * @property {string} sender
 * @property {string} recipient
 * @property {bigint} bond
 * @property {boolean} accepted
 * @property {boolean} withdrawal_pending
 * @property {number | null} unlock_time
 * @property {number} block_number
 * @property {string} finality
 */

/**
 * @typedef {object} RecipientChain
 * @property {bigint} min_deposit
 * @property {boolean} open_inbox
 * @property {boolean} inbox_configured
 * @property {number} open_bonds
 * @property {bigint} bonded_total
 * @property {number} deposits
 * @property {bigint} deposited_total
 * @property {number} burns
 * @property {bigint} burned_total
 * @property {number} releases
 * @property {number} withdrawals
 * @property {number | null} burn_rate
 * @property {Envelope} envelope
 */

/**
 * One change of the feed. Relay rows (`action` "relay", only when `kinds` names "relay" or a `signer` is given)
 * have no log and, until mined, no block or transaction; `event` is the request's new state (docs/relay-api.md).
 * @typedef {object} Change
 * @property {number} id
 * @property {"apply" | "rollback" | "relay"} action
 * @property {number | null} ref_id
 * @property {string} kind
 * @property {string} event
 * @property {number} chain_id
 * @property {number | null} block_number
 * @property {string | null} block_hash
 * @property {string | null} tx_hash
 * @property {number | null} log_index
 * @property {string} finality
 * @property {string | null} sender
 * @property {string | null} recipient
 * @property {string | null} node
 * @property {string | null} [signer]
 * @property {Record<string, unknown>} args
 */

/**
 * @typedef {object} RelayRequest
 * @property {number} chain_id
 * @property {string} function
 * @property {Record<string, string | boolean>} message
 * @property {string} signature
 * @property {{v: number, r: string, s: string}} [permit]
 */

/**
 * @typedef {object} RelayStatus
 * @property {string} id
 * @property {"queued" | "sent" | "mined" | "failed" | "expired"} state
 * @property {number} chain_id
 * @property {string} function
 * @property {string} signer
 * @property {string | null} [tx_hash]
 * @property {number | null} [block_number]
 * @property {string | null} [error]
 */

/** An API answer that is not a success: `status` 0 means the API could not be reached at all. */
export class Dm3ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {{retryAfter?: number | null, path?: string}} [extra]
   */
  constructor(status, message, extra = {}) {
    super(message);
    this.name = "Dm3ApiError";
    this.status = status;
    /** Seconds the server asked us to wait (429 and 503), when it said. */
    this.retryAfter = extra.retryAfter ?? null;
    this.path = extra.path ?? "";
  }
}

/** @param {unknown} value */
const big = (value) => BigInt(/** @type {string} */ (value ?? "0"));

/**
 * @template {Record<string, any>} T
 * @param {T} row
 * @param {string[]} fields
 * @returns {any}
 */
function withBigInts(row, fields) {
  /** @type {Record<string, unknown>} */
  const out = { ...row };
  for (const field of fields) if (field in out) out[field] = big(out[field]);
  return out;
}

const TERMINAL_RELAY_STATES = new Set(["mined", "failed", "expired"]);

export class Dm3Api {
  /**
   * @param {string} baseUrl  e.g. "http://127.0.0.1:8080" (a trailing slash is fine; "" means this page's origin)
   * @param {{fetch?: typeof globalThis.fetch, timeoutMs?: number}} [options]
   */
  constructor(baseUrl, options = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /**
   * @param {string} path
   * @param {Record<string, string | number | boolean | null | undefined>} [query]
   */
  url(path, query = {}) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const text = params.toString();
    return `${this.baseUrl}${path}${text ? `?${text}` : ""}`;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{query?: Record<string, string | number | boolean | null | undefined>, body?: unknown}} [request]
   * @returns {Promise<any>}
   */
  async request(method, path, { query, body } = {}) {
    const signal = AbortSignal.timeout(this.timeoutMs);
    /** @type {Response} */
    let response;
    try {
      response = await this.fetch(this.url(path, query), {
        method,
        signal,
        headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === "TimeoutError" ? "did not answer in time" : "could not be reached";
      throw new Dm3ApiError(0, `the registry API ${why} (${hostOf(this.baseUrl)})`, { path });
    }
    const text = await response.text();
    /** @type {any} */
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const message =
        data && typeof data.message === "string" ? data.message : `the registry API answered ${response.status}`;
      const retry = Number(response.headers.get("retry-after"));
      throw new Dm3ApiError(response.status, message, {
        retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
        path,
      });
    }
    if (data === null) throw new Dm3ApiError(response.status, "the registry API sent no JSON", { path });
    return data;
  }

  /** @returns {Promise<ChainStatus[]>} every indexed chain with its contracts */
  async chains() {
    return (await this.request("GET", "/v1/status")).data;
  }

  /**
   * May `sender` reach `recipient`? Names or addresses.
   * @param {string} sender
   * @param {string} recipient
   * @param {{chainId?: number}} [options]
   * @returns {Promise<Eligibility>}
   */
  async eligibility(sender, recipient, { chainId } = {}) {
    const answer = await this.request("GET", "/v1/eligibility", { query: { sender, recipient, chain_id: chainId } });
    return {
      ...answer,
      chains: answer.chains.map((/** @type {any} */ c) => withBigInts(c, ["bond", "min_deposit"])),
    };
  }

  /**
   * The profile of a name, or null when the name has none (404).
   * @param {string} name
   * @returns {Promise<Profile | null>}
   */
  async profile(name) {
    return this.orNull(this.request("GET", `/v1/profiles/${encodeURIComponent(name)}`));
  }

  /**
   * The profile of an address (its primary name, else its address name), or null when it publishes none.
   * @param {string} address
   * @returns {Promise<Profile | null>}
   */
  async addressProfile(address) {
    return this.orNull(this.request("GET", `/v1/addresses/${encodeURIComponent(address)}/profile`));
  }

  /**
   * @template T
   * @param {Promise<T>} answer
   * @returns {Promise<T | null>}
   */
  async orNull(answer) {
    try {
      return await answer;
    } catch (err) {
      if (err instanceof Dm3ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /**
   * One page of bonds by sender or by recipient.
   * @param {{sender?: string, recipient?: string, limit?: number, cursor?: string | null}} filter
   * @returns {Promise<{data: Bond[], count: number, next_cursor: string | null}>}
   */
  async depositsPage({ sender, recipient, limit, cursor }) {
    const page = await this.request("GET", "/v1/deposits", { query: { sender, recipient, limit, cursor } });
    return { ...page, data: page.data.map((/** @type {any} */ b) => withBigInts(b, ["bond"])) };
  }

  /**
   * Every bond by sender or by recipient (all pages).
   * @param {{sender?: string, recipient?: string}} filter
   * @returns {Promise<Bond[]>}
   */
  async deposits(filter) {
    /** @type {Bond[]} */
    const all = [];
    /** @type {string | null} */
    let cursor = null;
    do {
      const page = await this.depositsPage({ ...filter, limit: 500, cursor });
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  /**
   * A recipient's price and statistics per chain.
   * @param {string} address
   * @returns {Promise<{address: string, chains: RecipientChain[]}>}
   */
  async recipient(address) {
    const answer = await this.request("GET", `/v1/recipients/${encodeURIComponent(address)}`);
    const amounts = ["min_deposit", "bonded_total", "deposited_total", "burned_total"];
    return { ...answer, chains: answer.chains.map((/** @type {any} */ c) => withBigInts(c, amounts)) };
  }

  /**
   * One long-poll page of the change stream. `cursor` 0 replays from the start; omitted, it starts from now.
   * @param {{cursor?: number, sender?: string, recipient?: string, kinds?: string[], signer?: string, chainId?: number, timeout?: number, limit?: number}} [filter]
   * @returns {Promise<{data: Change[], count: number, next_cursor: number}>}
   */
  async changes({ cursor, sender, recipient, kinds, signer, chainId, timeout, limit } = {}) {
    return this.request("GET", "/v1/changes/poll", {
      query: { cursor, sender, recipient, kinds: kinds?.join(","), signer, chain_id: chainId, timeout, limit },
    });
  }

  /**
   * The URL of the Server-Sent Events stream of changes (for `new EventSource(url)`).
   * @param {{sender?: string, recipient?: string, kinds?: string[], signer?: string}} [filter]
   */
  changesUrl({ sender, recipient, kinds, signer } = {}) {
    return this.url("/v1/changes", { sender, recipient, kinds: kinds?.join(","), signer });
  }

  /**
   * The relayer's configuration for a chain, or null when this server runs no relayer (404).
   * @param {number} chainId
   * @returns {Promise<{chain_id: number, relayer: string, functions: string[], enabled: boolean} | null>}
   */
  async relayConfig(chainId) {
    return this.orNull(this.request("GET", "/v1/relay/config", { query: { chain_id: chainId } }));
  }

  /**
   * Hand a signed write to the relayer. 409 = wrong nonce, 429 = quota (see `retryAfter`), 503 = relayer out of
   * funds or not configured: all as Dm3ApiError.
   * @param {RelayRequest} request
   * @returns {Promise<RelayStatus>}
   */
  async relay(request) {
    return this.request("POST", "/v1/relay", { body: request });
  }

  /**
   * @param {string} id
   * @returns {Promise<RelayStatus>}
   */
  async relayStatus(id) {
    return this.request("GET", `/v1/relay/${encodeURIComponent(id)}`);
  }

  /**
   * Poll a relay request until it is mined, failed or expired.
   * @param {string} id
   * @param {{intervalMs?: number, timeoutMs?: number, onUpdate?: (status: RelayStatus) => void}} [options]
   * @returns {Promise<RelayStatus>}
   */
  async waitForRelay(id, { intervalMs = 500, timeoutMs = 120_000, onUpdate } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.relayStatus(id);
      onUpdate?.(status);
      if (TERMINAL_RELAY_STATES.has(status.state)) return status;
      if (Date.now() > deadline) {
        throw new Dm3ApiError(0, `the relayer has not finished request ${id} in ${Math.round(timeoutMs / 1000)} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Only the host of a URL: URLs of hosted services can carry keys. @param {string} url */
export function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return "this page's server";
  }
}
