#pragma once
// The pool's verdict on one submitted share (docs/spec/stratum.md 3 and 5.3 item 4): the header
// rebuilt from the job the session was sent and the submitted nonce, its block ID, Tensority
// through the engine, then the share target the miner was told (the rounded 4-byte field)
// and the network target of the job's bits, the node's own comparison. Duplicates are caught
// across the whole pool on (template, nonce) before any hashing.
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "tensority/core/block_header.hpp"
#include "tensority/core/target.hpp"
#include "tensority/kernels/hal/checked_worker.hpp"

namespace tensority::pool {

// What the pool sent one session as one job.
struct ShareJob {
  std::uint64_t template_id = 0;  // the node template (one per height and parent) it came from
  core::BlockHeader header;       // nonce ignored
  core::Hash seed{};
  std::uint64_t nonce_start = 0;  // the session's range
  std::uint64_t difficulty = 0;   // what the share is credited at
  core::Target256 share_target;   // decoded from the target field actually sent
};

enum class ShareVerdict {
  share,           // meets the share target
  block,           // meets the network target too: submit to the node at once (and credit it)
  low_difficulty,  // misses the share target
  duplicate,       // this template and nonce were already submitted to this pool
  wrong_result,    // the miner's `result` differs from the recomputed one
};

struct ShareCheck {
  ShareVerdict verdict = ShareVerdict::low_difficulty;
  core::BlockHeader header;  // with the nonce: what a block submission carries
  core::Hash block_id{};
  core::Hash result{};
  bool in_range = true;  // the nonce lies in the session's range (logged, not enforced)
};

// Pool-wide set of submitted (template, nonce) pairs; templates older than the ones kept
// are forgotten, since shares for them are stale anyway.
class DuplicateFilter {
 public:
  // False when the pair was already there.
  bool insert(std::uint64_t template_id, std::uint64_t nonce);
  // Drops every template below `oldest_kept`.
  void forget_before(std::uint64_t oldest_kept);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::unordered_set<std::uint64_t>> seen_;
};

// `hasher` computes Tensority on the host (the CPU engine); `claimed_result` is the submit's
// optional `result`.
ShareCheck check_share(const ShareJob& job, std::uint64_t nonce, const std::optional<core::Hash>& claimed_result,
                       const kernels::hal::HostHasher& hasher, DuplicateFilter& duplicates);

}  // namespace tensority::pool
