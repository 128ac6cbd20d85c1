// Ponder configuration for scripts/bench.sh, section (b).
//
// Everything comes from the environment so that the same project indexes
// whatever chain the benchmark has just built:
//   BENCH_NETWORK      the dimo-indexer network file (contracts, roles, ABIs,
//                      start blocks) of the devnet under test
//   BENCH_ABI_DIR      directory of the ABI files it names (the repo's abi/)
//   PONDER_RPC_URL_137 the anvil JSON-RPC URL
// It indexes exactly what dimo-indexer indexes: every event of the license
// contracts, and the DIMO token's Transfer only when `from` is a license
// contract (stake leaving a license: withdrawals and forfeits).
import { readFileSync } from "node:fs";
import path from "node:path";
import { createConfig } from "ponder";

type NetContract = {
  role: string;
  class?: string;
  address: `0x${string}`;
  abi: string;
  start_block?: number;
};

const networkFile = process.env.BENCH_NETWORK;
const abiDir = process.env.BENCH_ABI_DIR;
if (!networkFile || !abiDir) throw new Error("BENCH_NETWORK and BENCH_ABI_DIR must be set");
const net = JSON.parse(readFileSync(networkFile, "utf8")) as { chain_id: number; contracts: NetContract[] };

const loadAbi = (file: string) => {
  const j = JSON.parse(readFileSync(path.join(abiDir, file), "utf8"));
  return (Array.isArray(j) ? j : j.abi) as any[];
};
const startOf = (cs: NetContract[]) => Math.min(...cs.map((c) => c.start_block ?? 0));

const apps = net.contracts.filter((c) => c.role === "app_license");
const nodes = net.contracts.filter((c) => c.role === "manufacturer_license");
const token = net.contracts.find((c) => c.role === "dimo_token");
const licenseAddresses = [...apps, ...nodes].map((c) => c.address);

const contracts: Record<string, any> = {};
if (apps.length) {
  contracts.DevLicenseDimo = {
    chain: "devnet",
    abi: loadAbi(apps[0].abi),
    address: apps.map((c) => c.address),
    startBlock: startOf(apps),
  };
}
if (nodes.length) {
  contracts.ManufacturerLicenseStake = {
    chain: "devnet",
    abi: loadAbi(nodes[0].abi),
    address: nodes.map((c) => c.address),
    startBlock: startOf(nodes),
  };
}
if (token) {
  contracts.DimoToken = {
    chain: "devnet",
    abi: loadAbi(token.abi),
    address: token.address,
    startBlock: token.start_block ?? 0,
    filter: { event: "Transfer", args: { from: licenseAddresses } },
  };
}

export default createConfig({
  chains: {
    devnet: { id: net.chain_id, rpc: process.env[`PONDER_RPC_URL_${net.chain_id}`] },
  },
  contracts: contracts as any,
});
