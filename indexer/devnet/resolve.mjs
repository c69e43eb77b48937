// Resolve ENS names with ethers v6, a real ENS client, against a devnet's own ENS registry.
//
//   node indexer/devnet/resolve.mjs < request.json
//
// The request (JSON on stdin):
//   rpcUrl, chainId, ensAddress   the L1 node and its ENS registry
//   providerOptions               optional JsonRpcProvider options (the benchmark uses them; see bench/ens)
//   queries: [{name, text: key} | {name, address: true} | {name, multicall: [{text: key} | {address: true}]}]
//     -> {"results": [{resolver, value}]}: `resolver` is the address ethers found (ENSIP-10 walk), `value` the
//        answer (`multicall`: a list of answers, fetched as one `resolve(name, multicall(...))` call).
//   bench: {name, key, expected, iterations, warmup, fresh}
//     -> {"timings_ms": [...]}: one text lookup per iteration, each checked against `expected`; `fresh` looks
//        the resolver up again every time (registry walk + supportsInterface + resolve + gateway + proof).
//
// ethers follows OffchainLookup (EIP-3668) itself: EnsResolver passes `enableCcipRead: true` on every call and
// the provider's `disableCcipRead` is false by default. Any failure prints {"error"} and exits 1.
import { performance } from "node:perf_hooks";
import { ethers } from "ethers";

const RECORDS = new ethers.Interface([
  "function text(bytes32 node, string key) view returns (string)",
  "function addr(bytes32 node) view returns (address)",
  "function multicall(bytes[] data) view returns (bytes[])",
  "function resolve(bytes name, bytes data) view returns (bytes)",
]);

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function providerFor(request) {
  // A custom network with an EnsPlugin for the devnet registry (Network.from turns `ensAddress` into one).
  const network = { name: "devnet", chainId: request.chainId, ensAddress: request.ensAddress };
  const provider = new ethers.JsonRpcProvider(request.rpcUrl, network, request.providerOptions ?? {});
  if (provider.disableCcipRead) throw new Error("CCIP-read is disabled on the provider");
  return provider;
}

// One `resolve(dnsName, multicall([...]))` call through the resolver ethers found: ethers does the CCIP-read.
async function multicall(provider, resolver, name, calls) {
  const node = ethers.namehash(name);
  const encoded = calls.map((call) =>
    call.text !== undefined
      ? RECORDS.encodeFunctionData("text", [node, call.text])
      : RECORDS.encodeFunctionData("addr", [node]),
  );
  const data = RECORDS.encodeFunctionData("resolve", [
    ethers.dnsEncode(name, 255),
    RECORDS.encodeFunctionData("multicall", [encoded]),
  ]);
  const raw = await provider.call({ to: resolver.address, data, enableCcipRead: true });
  const [inner] = RECORDS.decodeFunctionResult("resolve", raw);
  const [answers] = RECORDS.decodeFunctionResult("multicall", inner);
  return answers.map((answer, i) => RECORDS.decodeFunctionResult(calls[i].text !== undefined ? "text" : "addr", answer)[0]);
}

async function query(provider, q) {
  const resolver = await provider.getResolver(q.name);
  if (resolver == null) return { resolver: null, value: null };
  let value;
  if (q.text !== undefined) value = await resolver.getText(q.text);
  else if (q.address) value = await resolver.getAddress();
  else if (q.multicall) value = await multicall(provider, resolver, q.name, q.multicall);
  else throw new Error(`unknown query ${JSON.stringify(q)}`);
  return { resolver: resolver.address, value };
}

async function bench(provider, b) {
  const timings = [];
  let resolver = await provider.getResolver(b.name);
  for (let i = 0; i < b.warmup + b.iterations; i++) {
    const start = performance.now();
    if (b.fresh) resolver = await provider.getResolver(b.name);
    const value = await resolver.getText(b.key);
    const elapsed = performance.now() - start;
    if (value !== b.expected) throw new Error(`lookup ${i} returned ${JSON.stringify(value)?.slice(0, 80)}`);
    if (i >= b.warmup) timings.push(elapsed);
  }
  return { timings_ms: timings };
}

async function main() {
  const request = await readStdin();
  const provider = providerFor(request);
  try {
    if (request.bench) return await bench(provider, request.bench);
    const results = [];
    for (const q of request.queries) results.push(await query(provider, q));
    return { results };
  } finally {
    provider.destroy();
  }
}

main().then(
  (out) => process.stdout.write(JSON.stringify(out) + "\n"),
  (error) => {
    process.stdout.write(JSON.stringify({ error: String(error?.shortMessage ?? error?.message ?? error) }) + "\n");
    process.exit(1);
  },
);
