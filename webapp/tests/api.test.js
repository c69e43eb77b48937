// The API client against a local HTTP server that answers like the API and the relayer (RELAY_API.md) do; the
// browser tests use the client against the real API on the devnet.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { Dm3Api, Dm3ApiError, hostOf } from "../src/api.js";

/** @type {import("node:http").Server} */
let server;
/** @type {string} */
let base;
/** @type {string[]} */
const seen = [];
let relayPolls = 0;

const json = (/** @type {import("node:http").ServerResponse} */ res, /** @type {number} */ status, /** @type {unknown} */ body, headers = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

before(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/v1/eligibility") {
      return json(res, 200, { eligible: false, reason: "insufficient_deposit", eligible_chain_ids: [], chains: [{ chain_id: 10, bond: "340282366920938463463374607431768211455", min_deposit: "1" }] });
    }
    if (url.pathname.startsWith("/v1/profiles/")) return json(res, 404, { message: "no such name" });
    if (url.pathname === "/v1/deposits") {
      const cursor = url.searchParams.get("cursor");
      return json(res, 200, { data: [{ bond: cursor ? "2" : "1" }], count: 1, next_cursor: cursor ? null : "next", chains: [] });
    }
    if (url.pathname === "/v1/relay" && req.method === "POST") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const request = JSON.parse(body);
        if (request.signature === "0xquota") return json(res, 429, { message: "10 requests an hour" }, { "retry-after": "120" });
        json(res, 202, { id: "r1", state: "queued", chain_id: request.chain_id, function: request.function, signer: "0xabc" });
      });
      return;
    }
    if (url.pathname === "/v1/relay/r1") {
      relayPolls += 1;
      return json(res, 200, { id: "r1", state: relayPolls < 3 ? "sent" : "mined", tx_hash: "0x01", block_number: 7 });
    }
    if (url.pathname === "/v1/broken") {
      res.writeHead(502, { "content-type": "text/html" });
      return res.end("<html>bad gateway</html>");
    }
    return json(res, 404, { message: "Not Found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(null)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  base = `http://127.0.0.1:${address.port}/`;
});

after(() => server.close());

test("amounts come back as exact bigints and query values are encoded", async () => {
  const api = new Dm3Api(base);
  const answer = await api.eligibility("0xAbC", "a b&c.eth", { chainId: 10 });
  assert.equal(answer.chains[0].bond, 2n ** 128n - 1n);
  assert.equal(answer.chains[0].min_deposit, 1n);
  assert.equal(seen.at(-1), "GET /v1/eligibility?sender=0xAbC&recipient=a+b%26c.eth&chain_id=10");
});

test("a 404 profile is null; other errors carry the status and the API's message", async () => {
  const api = new Dm3Api(base);
  assert.equal(await api.profile("nobody/../x.eth"), null);
  assert.equal(seen.at(-1), "GET /v1/profiles/nobody%2F..%2Fx.eth");
  await assert.rejects(api.request("GET", "/v1/broken"), (err) => err instanceof Dm3ApiError && err.status === 502 && err.message === "the registry API answered 502");
});

test("every page of deposits is read", async () => {
  const bonds = await new Dm3Api(base).deposits({ recipient: "0x1" });
  assert.deepEqual(bonds.map((b) => b.bond), [1n, 2n]);
});

test("relay: 202, then polled until mined; 429 carries Retry-After", async () => {
  const api = new Dm3Api(base);
  const accepted = await api.relay({ chain_id: 10, function: "burn_with_sig", message: { amount: "1" }, signature: "0x00" });
  assert.equal(accepted.state, "queued");
  /** @type {string[]} */
  const states = [];
  const done = await api.waitForRelay(accepted.id, { intervalMs: 1, onUpdate: (s) => states.push(s.state) });
  assert.equal(done.state, "mined");
  assert.deepEqual(states, ["sent", "sent", "mined"]);
  await assert.rejects(
    api.relay({ chain_id: 10, function: "burn_with_sig", message: {}, signature: "0xquota" }),
    (err) => err instanceof Dm3ApiError && err.status === 429 && err.retryAfter === 120 && err.message === "10 requests an hour",
  );
  assert.equal(await api.relayConfig(10), null); // no relayer on this server: 404
});

test("an unreachable API is status 0 with the host only (URLs can carry keys)", async () => {
  const api = new Dm3Api("http://127.0.0.1:9/secret-key-in-path", { timeoutMs: 2000 });
  await assert.rejects(api.chains(), (err) => err instanceof Dm3ApiError && err.status === 0 && !err.message.includes("secret") && err.message.includes("127.0.0.1:9"));
  assert.equal(hostOf("https://user:pw@rpc.example/v1/KEY"), "rpc.example");
});
