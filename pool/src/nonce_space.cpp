#include "tensority/pool/nonce_space.hpp"

#include <string>

namespace tensority::pool {

core::Result<std::uint64_t> session_nonce_start(std::uint64_t instance, std::uint64_t session) {
  using R = core::Result<std::uint64_t>;
  if (instance > kMaxInstance) return R::failure("pool instance id " + std::to_string(instance) + " is above " + std::to_string(kMaxInstance));
  if (session > kMaxSession) return R::failure("session id " + std::to_string(session) + " is above " + std::to_string(kMaxSession));
  return (instance << (kSessionBits + 32)) | (session << 32);
}

}  // namespace tensority::pool
