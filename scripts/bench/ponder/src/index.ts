// Registers one indexing function per event of every contract in the
// config, each inserting the log into the raw `events` table.
import { ponder } from "ponder:registry";
import { events } from "ponder:schema";
import config from "../ponder.config";

type AbiParam = { name?: string; type: string; indexed?: boolean };
type AbiEvent = { type: "event"; name: string; inputs: AbiParam[]; anonymous?: boolean };

const signature = (e: AbiEvent) => `${e.name}(${e.inputs.map((i) => i.type).join(",")})`;

// Ponder's key for an event: its name, or for an overloaded name the
// human-readable ABI form ("Name(type indexed name, ...)").
const keyOf = (e: AbiEvent, all: AbiEvent[]) =>
  all.filter((x) => x.name === e.name).length > 1
    ? `${e.name}(${e.inputs
        .map((i) => [i.type, i.indexed ? "indexed" : "", i.name ?? ""].filter(Boolean).join(" "))
        .join(", ")})`
    : e.name;

// uint256 values arrive as bigint: store them as decimal strings.
const plain = (v: unknown): unknown => {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]));
  }
  return v;
};

for (const [contract, c] of Object.entries((config as any).contracts as Record<string, any>)) {
  const evs = (c.abi as any[]).filter((x) => x.type === "event" && !x.anonymous) as AbiEvent[];
  const only: string | undefined = c.filter?.event;
  for (const ev of evs) {
    const key = keyOf(ev, evs);
    if (only && key !== only) continue;
    const sig = signature(ev);
    (ponder as any).on(`${contract}:${key}`, async ({ event, context }: any) => {
      const log = event.log;
      const tx = event.transaction;
      await context.db.insert(events).values({
        id: event.id,
        chainId: context.chain.id,
        blockNumber: event.block.number,
        blockHash: event.block.hash,
        blockTime: event.block.timestamp,
        txHash: tx.hash,
        txIndex: tx.transactionIndex,
        logIndex: log.logIndex,
        address: log.address,
        topic0: log.topics[0] ?? null,
        topic1: log.topics[1] ?? null,
        topic2: log.topics[2] ?? null,
        topic3: log.topics[3] ?? null,
        data: log.data,
        event: sig,
        eventName: ev.name,
        args: plain(event.args),
      });
    });
  }
}
