#include "tensority/pool/share_check.hpp"

#include "tensority/pool/nonce_space.hpp"

namespace tensority::pool {

bool DuplicateFilter::insert(std::uint64_t template_id, std::uint64_t nonce) {
  std::lock_guard lock(mutex_);
  return seen_[template_id].insert(nonce).second;
}

void DuplicateFilter::forget_before(std::uint64_t oldest_kept) {
  std::lock_guard lock(mutex_);
  std::erase_if(seen_, [&](const auto& kv) { return kv.first < oldest_kept; });
}

std::size_t DuplicateFilter::size() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, nonces] : seen_) n += nonces.size();
  return n;
}

ShareCheck check_share(const ShareJob& job, std::uint64_t nonce, const std::optional<core::Hash>& claimed_result,
                       const kernels::hal::HostHasher& hasher, DuplicateFilter& duplicates) {
  ShareCheck out;
  out.header = job.header;
  out.header.nonce = nonce;
  out.in_range = in_session_range(job.nonce_start, nonce);
  if (!duplicates.insert(job.template_id, nonce)) {
    out.verdict = ShareVerdict::duplicate;
    return out;
  }
  out.block_id = core::block_id(out.header);
  out.result = hasher(job.seed, out.block_id);
  if (claimed_result && *claimed_result != out.result) {
    out.verdict = ShareVerdict::wrong_result;
  } else if (core::check_pow(out.result, out.header.bits)) {
    // The node's comparison (value <= CompactToBig(bits)), not a difficulty derived from it:
    // docs/spec/stratum.md 3.6 shows how the latter loses half of all blocks.
    out.verdict = ShareVerdict::block;
  } else if (job.share_target.met_by(out.result)) {
    out.verdict = ShareVerdict::share;
  } else {
    out.verdict = ShareVerdict::low_difficulty;
  }
  return out;
}

}  // namespace tensority::pool
