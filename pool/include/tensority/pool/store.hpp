#pragma once
// The pool's durable state: accepted shares, found blocks and their credits, balances,
// payouts, and leases that let several pool instances share one database. Every call is one
// database transaction: it happens whole or not at all, so a `kill -9` between two calls
// loses nothing a caller was told had been stored.
//
// Backends, chosen by URL:
//   sqlite:PATH                      embedded (the default), WAL mode, one process
//   postgresql://USER@HOST:PORT/DB   several pool instances against one database (libpq
//                                    conninfo URIs, including ?host=/socket/dir)
//
// Amounts are neu (1 BTM = 10^8 neu) and stay below 2^63. Times are Unix milliseconds.
// A Store is not thread-safe: callers serialize access (the pool keeps one writer thread).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tensority/core/types.hpp"

namespace tensority::pool {

using StoreStatus = core::Result<std::monostate>;

struct ShareRecord {
  std::string address;           // the account part of the login (payout address)
  std::string worker;            // the part after the first '.', "0" when none
  std::uint64_t difficulty = 0;  // the difficulty the job was assigned (credited at)
  std::uint64_t height = 0;
  std::int64_t time_ms = 0;
  std::uint32_t instance = 0;  // pool instance that accepted it
  std::string block_hash;      // non-empty when this share was also a block
};

// A change to one address's spendable balance (PPS credits a share at once).
struct BalanceDelta {
  std::string address;
  std::uint64_t amount = 0;
};

enum class BlockStatus {
  submitted,  // sent to the node, verdict not yet known
  rejected,   // the node refused it
  immature,   // accepted, in the main chain, coinbase not yet spendable: credits held
  orphaned,   // left the main chain before maturity: credits reversed
  matured,    // coinbase spendable: credits moved into balances
};
std::string_view block_status_name(BlockStatus status);
std::optional<BlockStatus> parse_block_status(std::string_view name);

struct BlockRecord {
  std::string hash;  // block ID, hex
  std::uint64_t height = 0;
  std::string finder_address;
  std::string finder_worker;
  std::int64_t share_id = 0;  // the share that found it (its id from add_shares)
  std::uint64_t network_difficulty = 0;
  std::uint64_t reward = 0;  // coinbase amount (subsidy + fees), 0 until known
  std::string scheme;        // "pplns", "pps" or "solo" at the time it was found
  std::int64_t found_ms = 0;
  std::int64_t updated_ms = 0;
  BlockStatus status = BlockStatus::submitted;
  std::string note;  // the node's words on a rejection, etc.
  std::uint32_t instance = 0;
};

struct Credit {
  std::string address;
  std::uint64_t amount = 0;
};

struct Balance {
  std::string address;
  std::uint64_t balance = 0;   // spendable: matured credits and PPS credits, less payouts
  std::uint64_t immature = 0;  // credits of blocks not yet mature
  std::uint64_t paid = 0;      // sum of payout items not failed
};

// Per (address, worker) totals of accepted share difficulty, for hashrate windows.
struct WorkerTotal {
  std::string address;
  std::string worker;
  std::uint64_t difficulty = 0;  // sum
  std::uint64_t shares = 0;
  std::int64_t last_share_ms = 0;
};

struct AddressDifficulty {
  std::string address;
  std::uint64_t difficulty = 0;
};

enum class PayoutStatus {
  pending,    // balances debited, no transaction yet (safe to build one)
  signed_tx,  // transaction built and its raw bytes and ID stored, not known to be sent
  submitted,  // the node took it
  confirmed,  // in a block
  failed,     // never sent, or refused while no copy of it can be on chain: balances restored
};
std::string_view payout_status_name(PayoutStatus status);
std::optional<PayoutStatus> parse_payout_status(std::string_view name);

struct PayoutItem {
  std::string address;
  std::uint64_t amount = 0;
};

struct Payout {
  std::int64_t id = 0;
  PayoutStatus status = PayoutStatus::pending;
  std::string tx_id;   // hex, set from signed_tx on
  std::string raw_tx;  // hex, set from signed_tx on
  std::uint64_t fee = 0;
  std::uint64_t total = 0;  // sum of items
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::uint64_t> confirmed_height;
  std::string note;
  std::vector<PayoutItem> items;
};

class Store {
 public:
  // Opens (creating the database file or schema when missing) and migrates the schema.
  // SQLite: WAL, synchronous=FULL (a committed transaction survives the process being killed,
  // and a power cut), a busy timeout, and an exclusive lock file so a second process cannot open it.
  static core::Result<std::unique_ptr<Store>> open(std::string_view url);
  virtual ~Store() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgresql"

  // Shares: inserts every share and applies the PPS credits, in one transaction. Answers the
  // new share ids in order (increasing).
  virtual core::Result<std::vector<std::int64_t>> add_shares(std::span<const ShareRecord> shares,
                                                             std::span<const BalanceDelta> credits) = 0;
  // PPLNS: walks back from share `last_share_id` (included), newest first, summing difficulty
  // per address until `window` is reached; the share that crosses the window counts only for
  // the part inside it. Fewer shares than the window: all of them.
  virtual core::Result<std::vector<AddressDifficulty>> pplns_window(std::int64_t last_share_id,
                                                                    std::uint64_t window) = 0;
  // Share totals per (address, worker) with time_ms >= since_ms.
  virtual core::Result<std::vector<WorkerTotal>> totals_since(std::int64_t since_ms) = 0;
  // Deletes shares older than before_ms whose id is below keep_from_id (the oldest share a
  // PPLNS window may still need). Answers how many went.
  virtual core::Result<std::uint64_t> prune_shares(std::int64_t before_ms, std::int64_t keep_from_id) = 0;
  virtual core::Result<std::int64_t> last_share_id() = 0;  // 0 when none

  // Blocks.
  virtual StoreStatus add_block(const BlockRecord& block) = 0;  // fails if the hash exists
  // submitted -> rejected | immature (with `reward`), other moves refused.
  virtual StoreStatus set_block_verdict(std::string_view hash, BlockStatus status, std::uint64_t reward,
                                        std::string_view note, std::int64_t now_ms) = 0;
  // Stores the credits of an immature block and adds them to each address's `immature`.
  // Refused unless the block is immature and has no credits yet.
  virtual StoreStatus set_block_credits(std::string_view hash, std::span<const Credit> credits,
                                        std::int64_t now_ms) = 0;
  // submitted -> immature with its reward and credits, in one transaction (a crash cannot
  // leave an accepted block without its credits). False (and no change) when the block is not
  // in submitted state.
  virtual core::Result<bool> accept_block(std::string_view hash, std::uint64_t reward, std::span<const Credit> credits,
                                          std::string_view note, std::int64_t now_ms) = 0;
  // immature -> matured: each credit moves from `immature` to `balance`. False (and no
  // change) when the block is not immature.
  virtual core::Result<bool> mature_block(std::string_view hash, std::int64_t now_ms) = 0;
  // submitted | immature -> orphaned: credits leave `immature`. False when in another state.
  virtual core::Result<bool> orphan_block(std::string_view hash, std::string_view note, std::int64_t now_ms) = 0;
  virtual core::Result<std::optional<BlockRecord>> block(std::string_view hash) = 0;
  // Newest first; all statuses when none given.
  virtual core::Result<std::vector<BlockRecord>> blocks(std::optional<BlockStatus> status, std::size_t limit) = 0;
  virtual core::Result<std::vector<Credit>> block_credits(std::string_view hash) = 0;

  // Balances.
  virtual core::Result<std::vector<Balance>> balances() = 0;  // every address, by address
  virtual core::Result<std::optional<Balance>> balance(std::string_view address) = 0;

  // Payouts. create_payout debits every item's balance and records the payout as pending,
  // or changes nothing and fails when any balance is short.
  virtual core::Result<std::int64_t> create_payout(std::span<const PayoutItem> items, std::int64_t now_ms) = 0;
  // pending -> signed_tx
  virtual StoreStatus payout_signed(std::int64_t id, std::string_view tx_id, std::string_view raw_tx, std::uint64_t fee,
                                    std::int64_t now_ms) = 0;
  // signed_tx -> submitted
  virtual StoreStatus payout_submitted(std::int64_t id, std::int64_t now_ms) = 0;
  // signed_tx | submitted -> confirmed
  virtual StoreStatus payout_confirmed(std::int64_t id, std::uint64_t height, std::int64_t now_ms) = 0;
  // pending | signed_tx | submitted -> failed, crediting every item back once.
  virtual StoreStatus payout_failed(std::int64_t id, std::string_view note, std::int64_t now_ms) = 0;
  // Payouts not yet confirmed or failed, oldest first, with items.
  virtual core::Result<std::vector<Payout>> open_payouts() = 0;
  // Newest first, with items; only those paying `address` when given.
  virtual core::Result<std::vector<Payout>> payouts(std::optional<std::string_view> address, std::size_t limit) = 0;

  // Leases: one holder per name until it expires; the holder renews by acquiring again.
  // Used for the pool instance id (two instances must not share a nonce space) and for the
  // single instance that runs maturity and payouts.
  virtual core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t ttl_ms,
                                           std::int64_t now_ms) = 0;
  virtual StoreStatus release_lease(std::string_view name, std::string_view holder) = 0;
};

}  // namespace tensority::pool
