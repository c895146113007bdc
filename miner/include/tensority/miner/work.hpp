#pragma once
// What the miner hashes and what it hands back: one unit of work from an upstream (a pool
// job or a node's block template), the solutions the devices find in it, and the verdicts
// the upstream gives them. Shared by the job sources, the device scheduler and reporting.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tensority/core/block_header.hpp"
#include "tensority/core/target.hpp"
#include "tensority/core/types.hpp"

namespace tensority::miner {

enum class LogLevel { debug, info, warn, error };
// Libraries log through this, never to stdout: (level, category such as "net" or "cpu",
// one line of text). An empty function drops the line.
using LogFn = std::function<void(LogLevel, std::string_view category, std::string_view message)>;

struct Work {
  std::string upstream;           // which upstream gave it (its URL), for logs and stats
  std::string job_id;             // the upstream's name for it (stratum job_id; solo: a counter)
  core::BlockHeader header;       // everything but the nonce is fixed by the job
  core::Hash seed{};              // the epoch seed the devices must be prepared for
  std::uint64_t nonce_start = 0;  // first nonce of the range this miner may search
  std::uint64_t nonce_span = 0;   // nonces from nonce_start (wrapping at 2^64); 0 = all 2^64
  core::Target256 share_target;   // a result meeting it is submitted (solo: the block target)
  double share_difficulty = 0;    // what the share target means, for display; 0 when solo
  core::Target256 block_target;   // Target256::from_bits(header.bits)
  // True when the job builds on a different parent than the upstream's previous job: any
  // earlier work from it is stale and its results must be dropped, not submitted.
  bool new_block = true;
  std::chrono::steady_clock::time_point received{};
};

struct Solution {
  std::shared_ptr<const Work> work;
  std::uint64_t nonce = 0;
  core::Hash block_id{};
  core::Hash result{};
  std::string device_id;  // "cpu:0", "cuda:1", ...
  bool meets_block_target = false;
};

enum class SubmitStatus {
  accepted,
  rejected,  // the upstream refused it (low difficulty, duplicate, invalid, ...)
  stale,     // the upstream said the job or block had expired
  lost,      // no verdict: the connection ended or the reply timed out
};
std::string_view to_string(SubmitStatus status);

struct SubmitReply {
  SubmitStatus status = SubmitStatus::lost;
  std::string message;  // the upstream's words, for the log
  std::chrono::milliseconds latency{0};
};
using SubmitHandler = std::function<void(const SubmitReply&)>;

}  // namespace tensority::miner
