#include "tensority/kernels/hal/paths.hpp"

#include <cstdlib>
#include <string>

namespace tensority::kernels::hal {
namespace {

std::filesystem::path from_env(const char* own, const char* xdg, const char* home_suffix) {
  if (const char* v = std::getenv(own); v != nullptr && *v != '\0') return v;
  if (const char* v = std::getenv(xdg); v != nullptr && *v != '\0') return std::filesystem::path(v) / "tensority";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / home_suffix / "tensority";
  }
  // No home (a bare service account): keep state beside the working directory.
  return std::filesystem::current_path() / ".tensority";
}

}  // namespace

std::filesystem::path state_directory() {
  return from_env("TENSORITY_STATE_DIR", "XDG_STATE_HOME", ".local/state");
}

std::filesystem::path cache_directory() {
  return from_env("TENSORITY_CACHE_DIR", "XDG_CACHE_HOME", ".cache");
}

std::filesystem::path data_directory() {
  return from_env("TENSORITY_DATA_DIR", "XDG_DATA_HOME", ".local/share");
}

}  // namespace tensority::kernels::hal
