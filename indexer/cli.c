/* cli.c: the command table, and what every command shares before it runs:
 * option parsing, --help, argument counts, logging, the network file and
 * the checks of what it needs (see cli.h). */
#include "common.h"

#include "cli.h"
#include "log.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

typedef struct cli_command_s {
  const char *name;
  unsigned options; /* config.h's IDX_CMD_* bit: the options it takes */
  unsigned needs;   /* IDX_NEEDS_* */
  int min_args, max_args;
  const char *args_missing; /* said when fewer than min_args are given */
  const char *summary;      /* one line in `dimo-indexer --help` */
  const char *synopsis;     /* `dimo-indexer NAME --help`, before the options */
  int (*run)(const idx_cmd_ctx_t *ctx);
  int (*run_words)(int argc, char **argv); /* instead of run: parses its own words */
} cli_command_t;

static const cli_command_t commands[] = {
    {
        .name = "run",
        .options = IDX_CMD_RUN,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_RPC,
        .summary = "follow the chain into PostgreSQL until stopped (backfill, then live)",
        .synopsis = "usage: dimo-indexer run [OPTIONS]\n\n"
                    "Follows the chain: backfills from the cursor, then follows the head,\n"
                    "rolling back reorgs; runs until SIGINT/SIGTERM.",
        .run = idx_cmd_run,
    },
    {
        .name = "serve",
        .options = IDX_CMD_SERVE,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .summary =
            "the HTTP API alone, on a database it never writes (hot standby or read-only role)",
        .synopsis = "usage: dimo-indexer serve --db CONNINFO [OPTIONS]\n\n"
                    "Serves the HTTP API (the routes of `run`) from a database it never writes:\n"
                    "a hot standby, or the primary through a read-only role. No writer lock, no\n"
                    "JSON-RPC, no migration; polls the model cursor to empty its answer cache;\n"
                    "/readyz judges the schema, the model's lag and a standby's replay lag.",
        .run = idx_cmd_serve,
    },
    {
        .name = "sync",
        .options = IDX_CMD_SYNC,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_RPC,
        .summary = "backfill up to --to N|head, then exit",
        .synopsis = "usage: dimo-indexer sync [--to N|head] [OPTIONS]\n\n"
                    "Backfills up to block N (or the confirmed head), then exits.",
        .run = idx_cmd_sync,
    },
    {
        .name = "status",
        .options = IDX_CMD_STATUS,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .summary = "cursor, head, lag and stored events per kind",
        .synopsis = "usage: dimo-indexer status --db CONNINFO [--rpc URL] [--network N]\n\n"
                    "Prints the cursor, the chain head and lag (with --rpc), and the\n"
                    "number of stored events of each kind.",
        .run = idx_cmd_status,
    },
    {
        .name = "migrate",
        .options = IDX_CMD_MIGRATE,
        .needs = IDX_NEEDS_DB,
        .summary = "apply the SQL migrations in schema/",
        .synopsis = "usage: dimo-indexer migrate --db CONNINFO\n\n"
                    "Applies the numbered SQL migrations of --schema-dir not yet applied, then\n"
                    "the files of --schema-dir/functions/ that changed since last applied.\n"
                    "An applied migration whose file changed is refused (exit 2).",
        .run = idx_cmd_migrate,
    },
    {
        .name = "rederive",
        .options = IDX_CMD_REDERIVE,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB,
        .summary = "rebuild the derived model from the stored logs alone",
        .synopsis = "usage: dimo-indexer rederive --db CONNINFO [--network N]\n\n"
                    "Rebuilds every derived table of the network's chain (licenses, stakes,\n"
                    "opt-ins, ...) from the stored logs alone, in one transaction, and builds\n"
                    "the license documents. The result equals what the follower derived batch\n"
                    "by batch. Refused while another instance writes the chain (writer lock).",
        .run = idx_cmd_rederive,
    },
    {
        .name = "license",
        .options = IDX_CMD_LICENSE,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .min_args = 1,
        .max_args = 1,
        .args_missing = "no KEY: give a token id, a 0x address or an alias",
        .summary = "a license's state and history (KEY: token id, 0x address or alias)",
        .synopsis =
            "usage: dimo-indexer license KEY [--class app|client|manufacturer|node|connection]\n"
            "                            [--at-block N] [--json] --db CONNINFO [--network N]\n"
            "\n"
            "Prints the license(s) KEY matches: KEY is a token id, a 0x address (an app's\n"
            "client id, or an owner) or an alias; with --class node also a storage node's\n"
            "label, with --class connection a connection's name (nodes and connections are\n"
            "found only when their class is given). As of the last indexed block, or of\n"
            "--at-block N. --json prints the license document (a JSON array of them when\n"
            "several match), else a summary: status, owner, stake, trust ratio, signers\n"
            "and their validity, slashes. Exit status 1 when nothing matches.",
        .run = idx_cmd_license,
    },
    {
        .name = "audit",
        .options = IDX_CMD_AUDIT,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .min_args = 1,
        .max_args = 2,
        .args_missing = "give actions [CONTRACT], roles CONTRACT or books [CONTRACT]",
        .summary = "who did each admin action under which role; roles; the books",
        .synopsis = "usage: dimo-indexer audit actions [CONTRACT] [--at-block N] [--json]\n"
                    "                          --db CONNINFO [--network N]\n"
                    "       dimo-indexer audit roles CONTRACT     [--at-block N] [--json] ...\n"
                    "       dimo-indexer audit books [CONTRACT]   [--at-block N] [--json] ...\n"
                    "\n"
                    "Accountability for auditors, as of the last indexed block or --at-block N.\n"
                    "actions: the admin actions (freezes, forfeits, revokes, settings, upgrades,\n"
                    "adminWithdraw), newest first (the last 1000), each with its executor, the\n"
                    "role it held and the sender it came `via` (a multisig), or `unattributed`.\n"
                    "roles: who held which role of a license contract from which block, granted\n"
                    "(and revoked) by whom. books: the contract's DIMO held and staked, the stray\n"
                    "difference, every adminWithdraw and each forfeit against its transfer (of\n"
                    "every license contract without CONTRACT; GET /v1/books answers the same).\n"
                    "CONTRACT is a license contract's 0x address.",
        .run = idx_cmd_audit,
    },
    {
        .name = "verify",
        .options = IDX_CMD_VERIFY,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .summary = "check a signed request: is this app and signer licensed now?",
        .synopsis =
            "usage: dimo-indexer verify --client-id 0x... --message TEXT --signature 0x...\n"
            "                           --db CONNINFO [--network N] [--at-block N] [--json]\n"
            "                           [--asset 0x... --token-id N --permission P]\n"
            "\n"
            "Checks a signed request as a node operator would: recovers the signer of\n"
            "the EIP-191 personal_sign SIGNATURE over TEXT (its UTF-8 bytes), then asks\n"
            "the index whether the app license with that client id is active and the\n"
            "signer one of its enabled, unexpired signers: now (the wall clock, as\n"
            "POST /v1/verify), or as of --at-block N (the license at that block, the\n"
            "signer's validity at that block's time, as the contract's isSigner).\n"
            "Prints valid, reason (ok, unknown_client_id, license_revoked,\n"
            "license_suspended, license_understaked, signer_not_enabled,\n"
            "signer_expired), signer and license; --json prints POST /v1/verify's JSON.\n"
            "With --asset, --token-id and --permission (now only), also the access\n"
            "question for that signer, as POST /v1/verify with a vehicle: may the app\n"
            "read permission P of that vehicle (see `dimo-indexer access`); valid\n"
            "then also needs access allowed for exit status 0.\n"
            "Exit status: 0 valid, 1 not valid, 2 bad input, 3 the check could not be\n"
            "made (database unavailable).",
        .run = idx_cmd_verify,
    },
    {
        .name = "access",
        .options = IDX_CMD_ACCESS,
        .needs = IDX_NEEDS_NETWORK | IDX_NEEDS_DB | IDX_NEEDS_KNOWN_SCHEMA,
        .summary = "may this app read this permission of this vehicle (license, signer, opt-in)?",
        .synopsis =
            "usage: dimo-indexer access --client-id 0x... --asset 0x... --token-id N --permission "
            "P\n"
            "                           [--signer 0x...] [--at-block N] [--at-time T] [--json]\n"
            "                           --db CONNINFO [--network N]\n"
            "       dimo-indexer access --client-id 0x... --grantor 0x... --permission P [...]\n"
            "\n"
            "The DIP-5 access question: may the app with this client id read permission\n"
            "P of vehicle N of the asset contract? Allowed when the app's license is\n"
            "active, the signer (when given) is one of its valid signers, and SACD's\n"
            "own view says yes: the vehicle's owner granted the app permission P,\n"
            "unexpired, not reset by a transfer of the vehicle since, not renounced,\n"
            "its template (if any) active; since SACD's templateId upgrade, never for a\n"
            "burned vehicle and always for the vehicle's owner itself. With --grantor\n"
            "instead of --asset and --token-id: the account grant of that grantor\n"
            "(SACD's hasAccountPermission). As of the last indexed block with\n"
            "expiries judged now (the wall clock, as GET /v1/access), or as of --at-block\n"
            "N at that block's time; --at-time judges expiries at another time. Prints\n"
            "the verdict and every failing condition (unknown_client_id,\n"
            "license_revoked, license_suspended, license_understaked,\n"
            "signer_not_enabled, signer_expired, token_not_minted, token_burned,\n"
            "grant_missing, grant_renounced, grant_reset_by_transfer, grant_expired,\n"
            "template_inactive, permission_not_granted); --json prints GET\n"
            "/v1/access's JSON.\n"
            "Exit status: 0 allowed, 1 not allowed, 2 bad input, 3 not answered\n"
            "(database unavailable or nothing indexed).",
        .run = idx_cmd_access,
    },
    {
        .name = "abi",
        .summary = "ABI tools: `abi topics FILE` prints topic0<TAB>signature per event",
        .run_words = idx_cmd_abi,
    },
};

static void usage(FILE *out) {
  fprintf(out, "usage: dimo-indexer [--help] [--version] COMMAND [ARGS]\n"
               "\n"
               "Follows the DIMO license contracts on Polygon PoS and keeps their\n"
               "history of licenses, stakes and slashes in PostgreSQL.\n"
               "\n"
               "commands:\n");
  for (size_t i = 0; i < IDX_ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n`dimo-indexer COMMAND --help` describes each command.\n");
}

/* The positional arguments: as many as the command takes. */
static int check_args(const cli_command_t *c, const idx_config_t *cfg) {
  if (cfg->nargs < c->min_args) {
    fprintf(stderr, "dimo-indexer %s: %s (see --help)\n", c->name,
            c->args_missing ? c->args_missing : "missing argument");
    return IDX_EXIT_USAGE;
  }
  if (cfg->nargs > c->max_args) {
    fprintf(stderr, "dimo-indexer %s: unexpected argument \"%s\" (see --help)\n", c->name,
            cfg->args[c->max_args]);
    return IDX_EXIT_USAGE;
  }
  return IDX_EXIT_OK;
}

/* A database some newer dimo-indexer migrated is refused by the reading
 * commands. An unreachable database is left to the command's own query,
 * which reports it its own way (and its own exit status). */
static int check_schema(const cli_command_t *c, const idx_config_t *cfg) {
  char err[1024];
  idx_store_t *store = NULL;
  bool newer = false;
  if (idx_store_open(&store, cfg->db, err, sizeof err) == 0 &&
      idx_store_check_schema(store, cfg->schema_dir, &newer, err, sizeof err) != 0)
    newer = false; /* could not tell: the command's own query says why */
  idx_store_close(store);
  if (newer) {
    fprintf(stderr, "dimo-indexer %s: %s\n", c->name, err);
    return IDX_EXIT_USAGE;
  }
  return IDX_EXIT_OK;
}

/* Everything a command needs, in the order a user fixes it: the network
 * file, then the endpoints, then the database. */
static int check_needs(const cli_command_t *c, const idx_config_t *cfg, idx_network_t *net,
                       bool *net_loaded) {
  char err[1024];
  if (c->needs & IDX_NEEDS_NETWORK) {
    if (idx_network_load(net, cfg->network, cfg->abi_dir, err, sizeof err)) {
      fprintf(stderr, "dimo-indexer %s: %s\n", c->name, err);
      return IDX_EXIT_USAGE;
    }
    *net_loaded = true;
  }
  if ((c->needs & IDX_NEEDS_RPC) && cfg->nrpc == 0) {
    fprintf(stderr, "dimo-indexer %s: no JSON-RPC endpoint: give --rpc URL (or DIMO_RPC)\n",
            c->name);
    return IDX_EXIT_USAGE;
  }
  if ((c->needs & IDX_NEEDS_DB) && !cfg->db) {
    fprintf(stderr, "dimo-indexer %s: no database: give --db CONNINFO (or DATABASE_URL)\n",
            c->name);
    return IDX_EXIT_USAGE;
  }
  if (c->needs & IDX_NEEDS_KNOWN_SCHEMA)
    return check_schema(c, cfg);
  return IDX_EXIT_OK;
}

static int run_command(const cli_command_t *c, int argc, char **argv) {
  if (c->run_words)
    return c->run_words(argc, argv);
  idx_config_t cfg;
  char err[1024];
  if (idx_config_parse(&cfg, c->options, argc, argv, err, sizeof err)) {
    fprintf(stderr, "dimo-indexer %s: %s\n", c->name, err);
    return IDX_EXIT_USAGE;
  }
  int code = IDX_EXIT_OK;
  idx_network_t net;
  bool net_loaded = false;
  if (cfg.help) {
    idx_config_usage(c->options, c->synopsis);
  } else if ((code = check_args(c, &cfg)) == IDX_EXIT_OK) {
    idx_log_setup(cfg.log_level, cfg.log_format);
    code = check_needs(c, &cfg, &net, &net_loaded);
    if (code == IDX_EXIT_OK) {
      idx_cmd_ctx_t ctx = {c->name, &cfg, net_loaded ? &net : NULL};
      code = c->run(&ctx);
    }
  }
  if (net_loaded)
    idx_network_free(&net);
  idx_config_free(&cfg);
  return code;
}

int idx_cli_main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return IDX_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return IDX_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("dimo-indexer %s\n", IDX_VERSION);
    return IDX_EXIT_OK;
  }
  for (size_t i = 0; i < IDX_ARRAY_LEN(commands); i++) {
    if (strcmp(cmd, commands[i].name) == 0)
      return run_command(&commands[i], argc - 1, argv + 1);
  }
  fprintf(stderr, "dimo-indexer: unknown command '%s' (see --help)\n", cmd);
  return IDX_EXIT_USAGE;
}
