#pragma once
// Loads the known answers in tests/data: tensority.json (a copy of ../shared/vectors/
// tensority.json) and stratum_examples.json (of ../shared/stratum/examples.json). The
// TENSORITY_TEST_DATA_DIR environment variable overrides the build-time path, for test
// binaries carried to another machine (scripts/gpu-check).
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tensority::test {

inline nlohmann::json load_test_data(const std::string& name) {
  const char* env = std::getenv("TENSORITY_TEST_DATA_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : TENSORITY_TEST_DATA_DIR;
  const std::string path = dir + "/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

inline const nlohmann::json& vectors() {
  static const nlohmann::json doc = load_test_data("tensority.json");
  return doc;
}

inline const nlohmann::json& stratum_examples() {
  static const nlohmann::json doc = load_test_data("stratum_examples.json");
  return doc;
}

}  // namespace tensority::test
