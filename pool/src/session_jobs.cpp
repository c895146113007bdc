#include "tensority/pool/session_jobs.hpp"

#include <algorithm>

namespace tensority::pool {

SessionJobs::SessionJobs(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void SessionJobs::add(std::string job_id, ShareJob job) {
  std::erase_if(jobs_, [&](const Entry& e) { return e.id == job_id; });
  jobs_.push_back(Entry{std::move(job_id), std::move(job)});
  while (jobs_.size() > capacity_) jobs_.pop_front();
}

SessionJobs::Lookup SessionJobs::find(std::string_view job_id, std::uint64_t oldest_live_template) const {
  for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
    if (it->id != job_id) continue;
    return Lookup{it->job.template_id < oldest_live_template ? Status::stale : Status::live, &it->job};
  }
  return Lookup{};
}

JobIds::JobIds() {
  std::random_device rd;
  next_ = ((std::uint64_t{rd()} << 32) ^ rd()) % kJobIdSpan;
}

// At most 12 digits: short enough to live inside std::string without a heap allocation,
// which a broadcast to 10,000 sessions notices; 10^12 ids before wrapping.
std::string JobIds::next() { return std::to_string(next_++ % kJobIdSpan); }

}  // namespace tensority::pool
