#pragma once
// The jobs one stratum session was sent (docs/spec/stratum.md 5.3 item 2): the last `capacity`,
// each tied to the node template it came from, so a submit names a job the pool can rebuild
// exactly, and a job from a block that has since been replaced is told apart from one the
// session never had.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>

#include "tensority/pool/share_check.hpp"

namespace tensority::pool {

class SessionJobs {
 public:
  explicit SessionJobs(std::size_t capacity = 8);

  // Records a job sent to the session; the oldest falls out beyond capacity. A job id sent
  // again (a repeated push) replaces the earlier entry.
  void add(std::string job_id, ShareJob job);

  enum class Status { live, stale, unknown };
  struct Lookup {
    Status status = Status::unknown;
    const ShareJob* job = nullptr;  // set for live and stale
  };
  // `oldest_live_template`: the first template of the current block; jobs from templates
  // before it belong to a replaced block and are stale.
  Lookup find(std::string_view job_id, std::uint64_t oldest_live_template) const;
  std::size_t size() const { return jobs_.size(); }

 private:
  struct Entry {
    std::string id;
    ShareJob job;
  };
  std::size_t capacity_;
  std::deque<Entry> jobs_;  // oldest first
};

// Job ids: decimal, unique within a pool instance, from a random start so ids of a restarted
// pool do not match what miners still hold. Below 10^12 (Antpool's were 4-6 digits,
// btmcpool's random u64s).
class JobIds {
 public:
  static constexpr std::uint64_t kJobIdSpan = 1'000'000'000'000;
  JobIds();
  std::string next();

 private:
  std::uint64_t next_;
};

}  // namespace tensority::pool
