// One table of raw events, the counterpart of dimo-indexer's `logs` table:
// position, raw topics and data, and the decoded arguments as JSON (uint256
// as decimal strings, like dimo-indexer's args).
import { onchainTable } from "ponder";

export const events = onchainTable("events", (t) => ({
  id: t.text().primaryKey(),
  chainId: t.integer().notNull(),
  blockNumber: t.bigint().notNull(),
  blockHash: t.hex().notNull(),
  blockTime: t.bigint().notNull(),
  txHash: t.hex().notNull(),
  txIndex: t.integer().notNull(),
  logIndex: t.integer().notNull(),
  address: t.hex().notNull(),
  topic0: t.hex(),
  topic1: t.hex(),
  topic2: t.hex(),
  topic3: t.hex(),
  data: t.hex().notNull(),
  event: t.text().notNull(),
  eventName: t.text().notNull(),
  args: t.json().notNull(),
}));
