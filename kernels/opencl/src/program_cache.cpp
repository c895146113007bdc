#include "program_cache.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <fstream>
#include <system_error>

#include "tensority/core/hex.hpp"
#include "tensority/core/sha3.hpp"
#include "tensority/kernels/hal/paths.hpp"

namespace tensority::kernels::opencl {
namespace {

constexpr std::array<char, 8> kMagic{'T', 'N', 'S', 'R', 'C', 'L', 'B', '1'};
constexpr std::size_t kHeaderBytes = 8 + 8 + 32;

void append_field(std::vector<std::uint8_t>& out, std::string_view field) {
  const std::uint64_t n = field.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  out.insert(out.end(), field.begin(), field.end());
}

}  // namespace

std::string program_cache_key(const ProgramIdentity& id) {
  std::vector<std::uint8_t> bytes;
  append_field(bytes, "tensority-opencl-program-v1");
  append_field(bytes, id.platform_name);
  append_field(bytes, id.platform_version);
  append_field(bytes, id.device_name);
  append_field(bytes, id.driver_version);
  append_field(bytes, id.build_options);
  append_field(bytes, id.source);
  return core::to_hex(core::sha3_256(bytes));
}

std::filesystem::path program_cache_file(const std::string& key) {
  return hal::cache_directory() / "opencl" / (key + ".bin");
}

std::optional<std::vector<unsigned char>> read_program_cache(const std::filesystem::path& file, std::string& why) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    why = "no cached program";
    return std::nullopt;
  }
  std::vector<unsigned char> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() < kHeaderBytes || std::memcmp(all.data(), kMagic.data(), kMagic.size()) != 0) {
    why = "cached program " + file.string() + " has no valid header";
    return std::nullopt;
  }
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t{all[8 + i]} << (8 * i);
  if (n != all.size() - kHeaderBytes || n == 0) {
    why = "cached program " + file.string() + " is truncated";
    return std::nullopt;
  }
  std::vector<unsigned char> payload(all.begin() + kHeaderBytes, all.end());
  const core::Hash sum = core::sha3_256(payload);
  if (std::memcmp(sum.data(), all.data() + 16, 32) != 0) {
    why = "cached program " + file.string() + " fails its checksum";
    return std::nullopt;
  }
  return payload;
}

bool write_program_cache(const std::filesystem::path& file, const std::vector<unsigned char>& payload,
                         std::string& why) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    why = "cannot create " + file.parent_path().string() + ": " + ec.message();
    return false;
  }
  static std::atomic<unsigned> counter{0};
  const auto tmp = file.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const core::Hash sum = core::sha3_256(payload);
    const std::uint64_t n = payload.size();
    std::array<char, kHeaderBytes> header{};
    std::memcpy(header.data(), kMagic.data(), kMagic.size());
    for (int i = 0; i < 8; ++i) header[8 + i] = static_cast<char>(n >> (8 * i));
    std::memcpy(header.data() + 16, sum.data(), 32);
    out.write(header.data(), header.size());
    out.write(reinterpret_cast<const char*>(payload.data()), static_cast<std::streamsize>(payload.size()));
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp, ec);
      why = "cannot write " + tmp;
      return false;
    }
  }
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    why = "cannot replace " + file.string() + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace tensority::kernels::opencl
