// Config files come from users: any bytes either load into values that every getter can read, or
// are refused with one line that names the file. Never a crash, never an exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tensority/config/schema.hpp"

namespace {

using namespace tensority::config;

std::string url_check(const std::string& v) {
  return v.rfind("stratum+tcp://", 0) == 0 ? "" : "stratum+tcp://HOST:PORT";
}

Schema make_schema() {
  return Schema(
      "fuzz",
      {
          {.key = "device",
           .flag = "device",
           .default_text = "all",
           .check =
               [](const std::string& v) {
                 return v.find_first_not_of("0123456789,") == std::string::npos || v == "all" ? "" : "all or 0,1";
               }},
          {.key = "cpu.enabled", .flag = "cpu", .type = Type::boolean, .default_text = "true"},
          {.key = "cpu.threads", .flag = "threads", .type = Type::integer, .default_text = "0", .min = 0, .max = 1024},
          {.key = "intensity", .flag = "intensity", .type = Type::number, .default_text = "0.5", .min = 0, .max = 1},
          {.key = "pools", .flag = "pool", .type = Type::list, .check = url_check},
          {.key = "tags", .flag = "tag", .type = Type::list, .default_text = "x", .choices = {"x", "y", "z"}},
          {.key = "api.port",
           .flag = "api-port",
           .type = Type::integer,
           .default_text = "4028",
           .min = 0,
           .max = 65535},
          {.key = "api.bind", .flag = "api-bind", .default_text = "127.0.0.1"},
          {.key = "api.token", .flag = "api-token"},
          {.key = "level", .flag = "level", .default_text = "info", .choices = {"debug", "info"}},
          {.key = "offset", .flag = "offset", .type = Type::integer},
          {.key = "scale", .flag = "scale", .type = Type::number},
          {.key = "verbose", .flag = "verbose", .type = Type::boolean},
      });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Schema schema = make_schema();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto values = load_yaml_text(schema, text, "fuzz.yaml");
  if (!values) {
    const std::string& e = values.error();
    FUZZ_CHECK(e.rfind("fuzz.yaml", 0) == 0);
    FUZZ_CHECK(e.find('\n') == std::string::npos && e.find('\r') == std::string::npos);
    return 0;
  }
  // Whatever loaded passed validation, so reading it back cannot fail.
  const Values& v = *values;
  (void)v.get_string("device");
  (void)v.get_bool("cpu.enabled");
  const auto threads = v.get_int("cpu.threads");
  FUZZ_CHECK(threads >= 0 && threads <= 1024);
  const double intensity = v.get_number("intensity");
  FUZZ_CHECK(intensity >= 0 && intensity <= 1);
  for (const auto& pool : v.get_list("pools")) FUZZ_CHECK(pool.rfind("stratum+tcp://", 0) == 0);
  for (const auto& tag : v.get_list("tags")) FUZZ_CHECK(tag == "x" || tag == "y" || tag == "z");
  FUZZ_CHECK(v.get_int("api.port") >= 0 && v.get_int("api.port") <= 65535);
  (void)v.get_string("api.bind");
  (void)v.get_string("api.token");
  FUZZ_CHECK(v.get_string("level") == "debug" || v.get_string("level") == "info");
  if (v.is_set("offset")) (void)v.get_int("offset");
  if (v.is_set("scale")) (void)v.get_number("scale");
  if (v.is_set("verbose")) (void)v.get_bool("verbose");
  for (const auto& o : schema.options()) FUZZ_CHECK(v.is_set(o.key) == (v.source(o.key) != "default"));
  (void)describe(v);
  return 0;
}
