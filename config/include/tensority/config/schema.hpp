#pragma once
// One schema per command (`tensority mine`, later `tensority pool`) drives everything a user can
// set: YAML keys, CLI flags, --help text, the Markdown reference and validation. A setting
// declared once cannot drift between the file, the flags and the docs.
//
// Precedence: schema default <- YAML file (--config FILE) <- command-line flags. Every value, from
// any source, passes the same checks (type, range, choices, Option::check), and a bad value is
// refused with one line naming where it came from, the key, the value and what is allowed.
// Bad user input never throws out of this API (core::Result); misuse by code (unknown key,
// wrong getter, a schema that contradicts itself) throws std::logic_error.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/types.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tensority::config {

enum class Type { boolean, integer, number, string, list };  // list = list of strings

// Every member has an initializer so designated initializers may leave any out without
// -Wmissing-field-initializers noise in the commands that declare schemas.
struct Option {
  std::string key{};   // YAML path, dots = nesting: "api.port" is `api: {port: ..}`; segments [A-Za-z0-9_-]
  std::string flag{};  // long CLI flag without dashes, e.g. "api-port"; unique; [a-z0-9-]
  Type type = Type::string;
  // Default as text ("" = no default / unset); shown in help. Lists: comma-separated items.
  std::string default_text{};
  std::optional<double> min{}, max{};  // integer/number ranges (inclusive)
  std::vector<std::string> choices{};  // string (or each list item): allowed values; empty = any
  std::string help{};                  // one line
  std::string group{};                 // help/reference section, e.g. "Devices"; "" = "Options"
  std::string value_name{};            // e.g. "URL", "N", shown in help; "" = derived from the type
  // Extra validation for one value (a URL, a device selector; each item of a list): "" if fine, else
  // what is allowed. Called with the raw text after the type/range/choices checks passed.
  std::function<std::string(const std::string&)> check{};
  // What `check` accepts, for --help and the reference (e.g. "stratum+tcp://HOST:PORT"); optional.
  std::string allowed{};
};

class Schema {
 public:
  // Throws std::logic_error on a programmer error: duplicate key or flag, a key that is both a
  // setting and a group ("api" and "api.port"), a flag clashing with --config/--help or with a
  // boolean's --no-<flag>, range/choices on a type that has none, a default that fails validation.
  Schema(std::string command, std::vector<Option> options);

  const std::string& command() const;
  const std::vector<Option>& options() const;
  const Option* find_key(std::string_view key) const;
  const Option* find_flag(std::string_view flag) const;  // without dashes
  // True when `prefix` names a YAML map holding settings ("api" for "api.port").
  bool is_group(std::string_view prefix) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // shared: Values and CliBinding keep the schema alive cheaply
};

// A resolved configuration. Every stored value has passed validation.
class Values {
 public:
  explicit Values(Schema schema);  // everything at its default

  const Schema& schema() const { return schema_; }
  bool is_set(std::string_view key) const;         // set by file, flag or set() (not only default)
  std::string source(std::string_view key) const;  // "default", "FILE:LINE", "--flag" or set()'s source

  // Default applied. Throw std::logic_error for an unknown key, the wrong type (get_number also reads
  // integers), or a boolean/integer/number that is unset and has no default. An unset string without
  // default is "", an unset list without default is empty.
  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_number(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::vector<std::string> get_list(std::string_view key) const;
  // The effective value as text (list items joined with ", "), "" when unset without default.
  std::string text(std::string_view key) const;

  // Set by code (tests, computed defaults). Non-list types take exactly one item. try_set returns
  // "SOURCE: KEY: 'v' is ... (allowed)" for a bad value; set throws std::logic_error with that line.
  core::Result<bool> try_set(std::string_view key, std::vector<std::string> raw, std::string source);
  void set(std::string_view key, std::vector<std::string> raw, std::string source);

 private:
  friend struct ValuesAccess;
  struct Entry {
    std::vector<std::string> raw;
    std::string source;
  };
  const Option& option(std::string_view key) const;
  std::vector<std::string> effective(const Option& opt) const;

  Schema schema_;
  std::map<std::string, Entry, std::less<>> set_;
};

// Parses a YAML document against the schema. Bad config gets ONE line naming the file and line,
// the key, the value and what is allowed, e.g.
//   "miner.yaml:7: api.port: '70000' is out of range (integer 0..65535)"
//   "miner.yaml:3: unknown key 'devcie' (did you mean 'device'?)"
// A scalar where a list is expected is a one-element list. Booleans: true/false/yes/no/on/off (any
// case). Integers: decimal, optional leading '-', exact int64. A group key with no value (`api:`
// with every child commented out) is an empty group; a setting with no value is an error. The
// whole file is checked before anything is returned; the user's file is never written.
core::Result<Values> load_yaml_text(const Schema& schema, std::string_view text, std::string_view file_name);
core::Result<Values> load_yaml_file(const Schema& schema, const std::filesystem::path& path);

// Registers on a CLI11 app or subcommand: `--config FILE` plus one option per schema entry
// (boolean -> `--name` and `--no-name`, the last given wins; list -> repeatable, items in
// command-line order; others take one value, the last given wins), with help text from the schema.
// After app.parse(), resolve() returns defaults <- file <- flags. A list given by flags replaces
// the file's list. Flag errors name the flag: "--api-port: 'x' is not an integer (integer 0..65535)".
// Values are taken as text and checked by resolve(), so every source gets the same messages.
// The binding must not outlive `app`; re-parsing the app is fine.
class CliBinding {
 public:
  CliBinding(const Schema& schema, CLI::App& app);
  core::Result<Values> resolve() const;
  std::optional<std::filesystem::path> config_file() const;

 private:
  struct Bound {
    const Option* option;   // into schema_
    CLI::Option* cli;       // --flag
    CLI::Option* negative;  // --no-flag for booleans, else nullptr
  };
  struct Order;  // when each boolean flag was last seen, to let the later of --x / --no-x win

  Schema schema_;
  CLI::Option* config_ = nullptr;
  std::vector<Bound> bound_;
  std::shared_ptr<Order> order_;
};

// Commented YAML with every key at its default, nested as the file wants it; uncommenting a line
// (dropping its leading "# ") gives a valid setting. Keys without a default are shown as comments.
std::string yaml_example(const Schema& schema);
// A Markdown table per group: key, flag, type, default, allowed, help.
std::string markdown_reference(const Schema& schema);
// "integer 0..65535", "one of: a, b", "list of text", ...: what a value of this option may be.
std::string describe_allowed(const Option& option);
// One line per key: "api.port = 4028  (default)"; for start-up logs and --print-config style output.
std::string describe(const Values& values);

}  // namespace tensority::config
