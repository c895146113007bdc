#pragma once
// Loads tests/data/tensority.json (a copy of ../shared/vectors/tensority.json). The
// TENSORITY_TEST_DATA_DIR environment variable overrides the build-time path, for test
// binaries carried to another machine (scripts/gpu-check).
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tensority::test {

inline const nlohmann::json& vectors() {
  static const nlohmann::json doc = [] {
    const char* env = std::getenv("TENSORITY_TEST_DATA_DIR");
    const std::string dir = env != nullptr && *env != '\0' ? env : TENSORITY_TEST_DATA_DIR;
    const std::string path = dir + "/tensority.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
  }();
  return doc;
}

}  // namespace tensority::test
