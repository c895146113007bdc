#include "tensority/pool/accounting.hpp"

#include <algorithm>
#include <limits>

#include "tensority/core/target.hpp"

namespace tensority::pool {
namespace {
__extension__ using u128 = unsigned __int128;  // amount x difficulty needs 128 bits
}  // namespace

std::string_view scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::pplns:
      return "pplns";
    case Scheme::pps:
      return "pps";
    case Scheme::solo:
      return "solo";
  }
  return "pplns";
}

std::optional<Scheme> parse_scheme(std::string_view name) {
  if (name == "pplns") return Scheme::pplns;
  if (name == "pps") return Scheme::pps;
  if (name == "solo") return Scheme::solo;
  return std::nullopt;
}

std::uint64_t network_difficulty(std::uint64_t bits) {
  const core::BigInt work = core::calc_work(bits);
  const core::BigInt cap = core::BigInt(std::numeric_limits<std::int64_t>::max());
  if (work > cap) return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (work < 1) return 1;
  return work.convert_to<std::uint64_t>();
}

std::uint64_t fee_of(std::uint64_t amount, std::uint32_t fee_basis_points) {
  const std::uint32_t bp = std::min<std::uint32_t>(fee_basis_points, 10000);
  return static_cast<std::uint64_t>(static_cast<u128>(amount) * bp / 10000);
}

std::uint64_t pplns_window(std::uint64_t network_difficulty, double factor) {
  const double n = static_cast<double>(network_difficulty) * std::max(factor, 0.0);
  if (!(n >= 1.0)) return 1;
  if (n >= 9.0e18) return 9'000'000'000'000'000'000ull;
  return static_cast<std::uint64_t>(n);
}

std::vector<Credit> pplns_credits(std::uint64_t reward, std::span<const AddressDifficulty> window,
                                  std::uint32_t fee_basis_points) {
  u128 total = 0;
  for (const auto& w : window) total += w.difficulty;
  std::vector<Credit> out;
  if (total == 0) return out;
  const std::uint64_t pot = reward - fee_of(reward, fee_basis_points);

  struct Part {
    std::size_t index;
    u128 remainder;
  };
  std::vector<Part> parts;
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < window.size(); ++i) {
    if (window[i].difficulty == 0) continue;
    const u128 scaled = static_cast<u128>(pot) * window[i].difficulty;
    const auto amount = static_cast<std::uint64_t>(scaled / total);
    out.push_back(Credit{window[i].address, amount});
    parts.push_back(Part{out.size() - 1, scaled % total});
    given += amount;
  }
  // Largest remainders first, then by address: deterministic.
  std::sort(parts.begin(), parts.end(), [&](const Part& a, const Part& b) {
    if (a.remainder != b.remainder) return a.remainder > b.remainder;
    return out[a.index].address < out[b.index].address;
  });
  for (std::size_t i = 0; given < pot && i < parts.size(); ++i, ++given) ++out[parts[i].index].amount;
  std::erase_if(out, [](const Credit& c) { return c.amount == 0; });
  std::sort(out.begin(), out.end(), [](const Credit& a, const Credit& b) { return a.address < b.address; });
  return out;
}

std::vector<Credit> solo_credits(std::uint64_t reward, std::string_view finder, std::uint32_t fee_basis_points) {
  const std::uint64_t amount = reward - fee_of(reward, fee_basis_points);
  if (amount == 0 || finder.empty()) return {};
  return {Credit{std::string(finder), amount}};
}

std::uint64_t pps_share_value(std::uint64_t share_difficulty, std::uint64_t network_difficulty, std::uint64_t reward,
                              std::uint32_t fee_basis_points) {
  if (network_difficulty == 0) return 0;
  const std::uint64_t net_reward = reward - fee_of(reward, fee_basis_points);
  const u128 value = static_cast<u128>(net_reward) * share_difficulty / network_difficulty;
  // A share harder than the network is still worth at most one block.
  return static_cast<std::uint64_t>(std::min<u128>(value, net_reward));
}

}  // namespace tensority::pool
