/*
 * redecode.h: logs kept raw that the loaded ABIs now decode.
 *
 * A log no ABI of its contract decodes is stored raw in unknown_logs
 * (schema/013); a fresh index with an ABI that knows its event stores it
 * decoded in `logs`, and the model parts read it. So when an ABI file
 * gains an event (the manufacturer license's AccessControl events, #25),
 * a database indexed before holds those logs raw, where a fresh index
 * holds them decoded. At the start of `run` and `sync` (after the schema
 * and the model declarations are checked, before anything is followed),
 * idx_redecode_run asks which kinds of raw logs the database holds, and
 * decodes every log of a kind its contract's loaded ABI now knows with the
 * indexer's own decoder (abi.c, as the follower does), in rounds of at
 * most IDX_REDECODE_ROUND logs or IDX_REDECODE_ROUND_BYTES of their data
 * and arguments: each round is one transaction that COPYs
 * them into `logs`, removes them from unknown_logs and re-derives the
 * model parts that read them (schema/functions/redecode.sql). A crash
 * loses at most the round in hand, which the next start does again; a
 * start when no raw kind is known costs one grouped scan of unknown_logs.
 * A raw log whose bytes do not decode under the event its topic0 and
 * topic count name (or whose arguments do not encode) stays raw (another
 * generation of that event); such kept logs are read again at every
 * start, as long as their kind is known (a cost of one read of them).
 *
 * Each round's re-derivation is a reorg's, bounded below: the parts from
 * the first one declaring any event of a moved log's role (by role: a part
 * may read a role's events by pattern) are undone above the round's lowest
 * block and applied again from it (schema/functions/redecode.sql).
 *
 * Tests may set DIMO_REDECODE_ROUND (1..IDX_REDECODE_ROUND) and
 * DIMO_REDECODE_PAGE (1..100000) to cut a small chain's raw logs into
 * several rounds and pages; each round logs a debug line ("round N: ...").
 */
#ifndef IDX_REDECODE_H
#define IDX_REDECODE_H

#include "common.h"

#include "network.h"
#include "store.h"

/* Most logs decoded per transaction (memory bound: their data and
 * decoded arguments are held until the round is written). */
#define IDX_REDECODE_ROUND 20000

/* A round is also written once the bytes it holds (data, arguments, the
 * log structs) reach this, whatever its count (logs with large data). */
#define IDX_REDECODE_ROUND_BYTES ((size_t)64 << 20)

/* Raw logs read per query (a page of one kind). */
#define IDX_REDECODE_PAGE 1000

/* Most kinds of raw logs considered in one start (contract, topic0,
 * topic count); more are left to the next start, with a warning. */
#define IDX_REDECODE_MAX_SHAPES 4096

typedef struct idx_redecode_stats_s {
  uint64_t decoded; /* logs moved from unknown_logs to `logs` */
  uint64_t kept;    /* raw logs of a known kind whose bytes do not decode */
  uint64_t rounds;  /* transactions written */
  char parts[256];  /* model parts re-derived (the last round's), comma-separated */
} idx_redecode_stats_t;

/* The round and page sizes: IDX_REDECODE_ROUND and IDX_REDECODE_PAGE, or
 * DIMO_REDECODE_ROUND (1..IDX_REDECODE_ROUND) and DIMO_REDECODE_PAGE
 * (1..100000) when set. Returns 0, or IDX_ERR_INVAL (a value out of range
 * or not a whole number) with the reason in err. */
IDX_WARN_UNUSED int idx_redecode_sizes(size_t *round, size_t *page, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 3);

/* Whether the raw logs of this kind are now known: its contract is in net
 * and that contract's loaded ABI has an event with its topic0 and topic
 * count (as the follower matches them; an anonymous log never is). Pure. */
bool idx_redecode_known(const idx_network_t *net, const idx_store_unknown_shape_t *shape)
    IDX_NONNULL(1, 2);

/* Decodes the chain's raw logs that net's ABIs now know, as described
 * above; logs one info line when it decoded any ("unknown logs now known:
 * N decoded ..."; a debug line when it only kept raw ones). st (if not NULL) receives the counts.
 * Returns 0, IDX_ERR_NOMEM, or the store's error with the reason in err. */
IDX_WARN_UNUSED int idx_redecode_run(idx_store_t *store, const idx_network_t *net,
                                     idx_redecode_stats_t *st, char *err, size_t errlen)
    IDX_NONNULL(1, 2, 4);

#endif
