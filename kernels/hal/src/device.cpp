#include "tensority/kernels/hal/device.hpp"

#include <cstring>

namespace tensority::kernels::hal {

std::string_view to_string(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::not_prepared: return "not prepared";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::out_of_memory: return "out of memory";
    case StatusCode::device_error: return "device error";
    case StatusCode::self_test_failed: return "self-test failed";
  }
  return "unknown";
}

SearchJob SearchJob::from_header(const core::BlockHeader& header, const core::Hash& seed) {
  SearchJob job;
  job.id_body = core::id_body(header);
  job.seed = seed;
  return job;
}

core::Hash SearchJob::block_id(std::uint64_t nonce) const {
  auto body = id_body;
  for (std::size_t i = 0; i < 8; ++i) {
    body[core::kIdBodyNonceOffset + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
  }
  return core::block_id_from_body(body);
}

}  // namespace tensority::kernels::hal
