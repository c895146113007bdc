#pragma once
// FIPS 202 SHA3-256 (padding byte 0x06), the only hash Tensority uses.
#include <cstdint>
#include <span>

#include "tensority/core/types.hpp"

namespace tensority::core {

Hash sha3_256(std::span<const std::uint8_t> data);

}  // namespace tensority::core
