#include "tensority/miner/work.hpp"

namespace tensority::miner {

std::string_view to_string(SubmitStatus status) {
  switch (status) {
    case SubmitStatus::accepted: return "accepted";
    case SubmitStatus::rejected: return "rejected";
    case SubmitStatus::stale: return "stale";
    case SubmitStatus::lost: return "lost";
  }
  return "unknown";
}

}  // namespace tensority::miner
