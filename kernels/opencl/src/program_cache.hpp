#pragma once
// Compiled OpenCL programs on disk: cache_directory()/opencl/<key>.bin, where the key is the
// SHA3 (hex) of everything that can change the binary. A file is a small header (magic,
// payload length, SHA3 of the payload) followed by the driver's binary, so a truncated or
// damaged file is detected here before the driver ever sees it.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tensority::kernels::opencl {

struct ProgramIdentity {
  std::string platform_name;
  std::string platform_version;
  std::string device_name;
  std::string driver_version;
  std::string build_options;
  std::string source;
};

// SHA3-256 hex over the identity's fields, each length-prefixed so no two identities collide
// by concatenation.
std::string program_cache_key(const ProgramIdentity& id);

// cache_directory()/opencl/<key>.bin
std::filesystem::path program_cache_file(const std::string& key);

// The payload of a cache file, or nothing with why (missing, short, bad checksum).
std::optional<std::vector<unsigned char>> read_program_cache(const std::filesystem::path& file, std::string& why);

// Writes the file atomically (a temporary beside it, then rename). Returns false with why.
bool write_program_cache(const std::filesystem::path& file, const std::vector<unsigned char>& payload,
                         std::string& why);

}  // namespace tensority::kernels::opencl
