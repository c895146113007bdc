// docs/rpc.md documents exactly the methods the node serves: every row of its method tables
// names a method in RpcApi's table, and every method in the table has a row.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tensority/node/rpc_api.hpp"

namespace tensority::node {
namespace {

std::multiset<std::string> documented_methods() {
  std::ifstream in(std::string(TENSORITY_SOURCE_DIR) + "/docs/rpc.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/rpc.md";
  std::multiset<std::string> names;
  bool in_method_table = false;
  const std::regex row(R"(^\| `([a-z-]+)` \|)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| Method |", 0) == 0) {
      in_method_table = true;
      continue;
    }
    if (line.rfind('|', 0) != 0) {
      in_method_table = false;
      continue;
    }
    std::smatch m;
    if (in_method_table && std::regex_search(line, m, row)) names.insert(m[1]);
  }
  return names;
}

TEST(RpcDocs, DocumentExactlyTheMethodsServed) {
  const auto documented = documented_methods();
  const auto served_list = RpcApi::methods();
  const std::multiset<std::string> served(served_list.begin(), served_list.end());
  ASSERT_FALSE(documented.empty());
  for (const auto& name : served) EXPECT_EQ(documented.count(name), 1u) << name << ": documented " << documented.count(name) << " times";
  for (const auto& name : documented) EXPECT_EQ(served.count(name), 1u) << name << " is documented but not served";
}

}  // namespace
}  // namespace tensority::node
