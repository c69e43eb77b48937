// Resolve an ENS name with ethers v6, a client that knows nothing about dm3: ENSIP-10 wildcard resolution and
// EIP-3668 CCIP-read against a local chain whose ENS registry is at a custom address.
//   node resolve.mjs <l1 rpc url> <chain id> <ens registry> <name> [text key]
// Prints {"resolver", "address", "text"} as JSON.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const { ethers } = require("ethers");

const [rpcUrl, chainId, ensAddress, name, key = "network.dm3.profile"] = process.argv.slice(2);
const network = new ethers.Network("dm3-devnet", BigInt(chainId));
network.attachPlugin(new ethers.EnsPlugin(ensAddress));
const provider = new ethers.JsonRpcProvider(rpcUrl, network, { staticNetwork: network });

const resolver = await provider.getResolver(name);
if (!resolver) {
  console.error(`no resolver for ${name}`);
  process.exit(1);
}
const [address, text] = await Promise.all([resolver.getAddress(), resolver.getText(key)]);
console.log(JSON.stringify({ resolver: resolver.address, address, text }));
provider.destroy();
