#pragma once
// Loads tests/data/tensority.json (a copy of ../shared/vectors/tensority.json).
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tensority::test {

inline const nlohmann::json& vectors() {
  static const nlohmann::json doc = [] {
    const std::string path = std::string(TENSORITY_TEST_DATA_DIR) + "/tensority.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    return nlohmann::json::parse(in);
  }();
  return doc;
}

}  // namespace tensority::test
