#pragma once
// Who is owed what for a block or a share, under the scheme the operator chose. Pure integer
// arithmetic in neu: every split is exact (the parts plus the fee equal the reward), so
// rounding can never create or lose money.
//
//   PPLNS  a block's reward, less the fee, is shared in proportion to the difficulty of the
//          last N share-difficulty units before it (N = window factor x network difficulty).
//   PPS    every accepted share is paid at once: reward x D / network difficulty, less the
//          fee; block rewards stay with the pool, which carries the variance.
//   SOLO   the finder of a block gets its reward, less the fee.
// The fee is what no miner is credited: it stays in the pool's wallet.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/pool/store.hpp"

namespace tensority::pool {

enum class Scheme { pplns, pps, solo };
std::string_view scheme_name(Scheme scheme);  // "pplns", "pps", "solo"
std::optional<Scheme> parse_scheme(std::string_view name);

struct AccountingOptions {
  Scheme scheme = Scheme::pplns;
  std::uint32_t fee_basis_points = 100;  // 1% = 100; at most 10000
  double pplns_window_factor = 2.0;      // N in network difficulties
};

// floor(2^256 / (T + 1)) of the bits' target (the node's CalcWork), at least 1, at most 2^63.
std::uint64_t network_difficulty(std::uint64_t bits);

// The fee's part of an amount (rounded down, so miners never lose a neu to rounding).
std::uint64_t fee_of(std::uint64_t amount, std::uint32_t fee_basis_points);

// The PPLNS window in share-difficulty units for a network difficulty (at least 1).
std::uint64_t pplns_window(std::uint64_t network_difficulty, double factor);

// PPLNS: reward less fee, split by difficulty; remainders of the division go one neu each to
// the largest contributors (ties by address), so the credits sum exactly to reward - fee.
// Empty shares: no credits.
std::vector<Credit> pplns_credits(std::uint64_t reward, std::span<const AddressDifficulty> window,
                                  std::uint32_t fee_basis_points);

// SOLO: the finder gets reward less fee.
std::vector<Credit> solo_credits(std::uint64_t reward, std::string_view finder, std::uint32_t fee_basis_points);

// PPS: the value of one share of difficulty `share_difficulty` when a block of `reward` needs
// `network_difficulty` hashes on average, less the fee; rounded down.
std::uint64_t pps_share_value(std::uint64_t share_difficulty, std::uint64_t network_difficulty, std::uint64_t reward,
                              std::uint32_t fee_basis_points);

}  // namespace tensority::pool
