// The config schema end to end: YAML files, CLI11 flags parsed from a real argv, the generated
// help/example/reference, and the exact one-line messages users see for each kind of mistake.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "tensority/config/schema.hpp"

namespace tensority::config {
namespace {

// --- helpers --------------------------------------------------------------------------------

std::string device_check(const std::string& v) {
  if (v == "all") return "";
  for (const char c : v) {
    if (!((c >= '0' && c <= '9') || c == ',')) return "'all' or device indexes like 0,2";
  }
  return v.empty() ? "'all' or device indexes like 0,2" : "";
}

std::string pool_check(const std::string& v) {
  return v.rfind("stratum+tcp://", 0) == 0 && v.size() > 14 ? "" : "a URL like stratum+tcp://HOST:PORT";
}

Schema test_schema() {
  return Schema("mine",
                {
                    {.key = "device",
                     .flag = "device",
                     .type = Type::string,
                     .default_text = "all",
                     .help = "Devices to mine on",
                     .group = "Devices",
                     .value_name = "SEL",
                     .check = device_check,
                     .allowed = "all or indexes like 0,2"},
                    {.key = "cpu.enabled",
                     .flag = "cpu",
                     .type = Type::boolean,
                     .default_text = "true",
                     .help = "Mine on the CPU",
                     .group = "Devices"},
                    {.key = "cpu.threads",
                     .flag = "cpu-threads",
                     .type = Type::integer,
                     .default_text = "0",
                     .min = 0,
                     .max = 1024,
                     .help = "CPU threads (0 = one per core)",
                     .group = "Devices"},
                    {.key = "intensity",
                     .flag = "intensity",
                     .type = Type::number,
                     .default_text = "0.5",
                     .min = 0,
                     .max = 1,
                     .help = "Share of each device to use",
                     .group = "Devices"},
                    {.key = "pools",
                     .flag = "pool",
                     .type = Type::list,
                     .help = "Pools in failover order",
                     .group = "Pools",
                     .value_name = "URL",
                     .check = pool_check,
                     .allowed = "stratum+tcp://HOST:PORT"},
                    {.key = "worker", .flag = "worker", .type = Type::string, .help = "Worker name", .group = "Pools"},
                    {.key = "api.port",
                     .flag = "api-port",
                     .type = Type::integer,
                     .default_text = "4028",
                     .min = 0,
                     .max = 65535,
                     .help = "HTTP API port",
                     .group = "API",
                     .value_name = "PORT"},
                    {.key = "api.bind",
                     .flag = "api-bind",
                     .type = Type::string,
                     .default_text = "127.0.0.1",
                     .help = "HTTP API address",
                     .group = "API"},
                    {.key = "api.read-only",
                     .flag = "api-read-only",
                     .type = Type::boolean,
                     .default_text = "false",
                     .help = "Refuse changes through the API",
                     .group = "API"},
                    {.key = "log.level",
                     .flag = "log-level",
                     .type = Type::string,
                     .default_text = "info",
                     .choices = {"debug", "info", "warn", "error"},
                     .help = "Log detail"},
                    {.key = "log.tags",
                     .flag = "log-tag",
                     .type = Type::list,
                     .default_text = "cpu,net",
                     .help = "Log categories to show"},
                    {.key = "offset", .flag = "offset", .type = Type::integer, .default_text = "-3", .help = "Signed"},
                    {.key = "retries", .flag = "retries", .type = Type::integer, .help = "No default"},
                });
}

core::Result<Values> load(std::string_view text) { return load_yaml_text(test_schema(), text, "miner.yaml"); }

std::string load_error(std::string_view text) {
  const auto r = load(text);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << text;
  return r.ok() ? std::string() : r.error();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A CLI11 app with the binding on the "mine" subcommand, parsed from an argv like main() gets.
struct Cli {
  CLI::App app{"tensority"};
  CLI::App* mine = app.add_subcommand("mine", "Mine");
  Schema schema = test_schema();
  CliBinding binding{schema, *mine};

  void parse(std::vector<std::string> args) {
    args.insert(args.begin(), {"tensority", "mine"});
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
  }
};

// --- schema ---------------------------------------------------------------------------------

TEST(ConfigSchema, FindsKeysFlagsAndGroups) {
  const Schema s = test_schema();
  EXPECT_EQ(s.command(), "mine");
  ASSERT_NE(s.find_key("api.port"), nullptr);
  EXPECT_EQ(s.find_key("api.port")->flag, "api-port");
  EXPECT_EQ(s.find_flag("api-port"), s.find_key("api.port"));
  EXPECT_EQ(s.find_key("api"), nullptr);
  EXPECT_TRUE(s.is_group("api"));
  EXPECT_FALSE(s.is_group("api.port"));
}

TEST(ConfigSchema, ProgrammerErrorsThrow) {
  const auto make = [](std::vector<Option> options) { return Schema("x", std::move(options)); };
  EXPECT_THROW(make({{.key = "a", .flag = "a"}, {.key = "a", .flag = "b"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "a"}, {.key = "b", .flag = "a"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "api", .flag = "a"}, {.key = "api.port", .flag = "b"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "config"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "x", .type = Type::boolean}, {.key = "b", .flag = "no-x"}}),
               std::logic_error);
  EXPECT_THROW(make({{.key = "a..b", .flag = "a"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "--a"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "a", .type = Type::string, .min = 1}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "a", .type = Type::integer, .choices = {"1"}}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "a", .type = Type::integer, .default_text = "9", .max = 5}}),
               std::logic_error);
  EXPECT_THROW(make({{.key = "a", .flag = "a", .type = Type::boolean, .default_text = "maybe"}}), std::logic_error);
  EXPECT_THROW(make({{.key = "a",
                      .flag = "a",
                      .default_text = "x",
                      .check = [](const std::string&) { return std::string("never"); }}}),
               std::logic_error);
  EXPECT_NO_THROW(make({{.key = "a.b", .flag = "a"}, {.key = "a.c.d", .flag = "b"}}));
}

// --- values and defaults ----------------------------------------------------------------------

TEST(ConfigValues, DefaultsApply) {
  const Values v(test_schema());
  EXPECT_EQ(v.get_string("device"), "all");
  EXPECT_TRUE(v.get_bool("cpu.enabled"));
  EXPECT_EQ(v.get_int("cpu.threads"), 0);
  EXPECT_DOUBLE_EQ(v.get_number("intensity"), 0.5);
  EXPECT_EQ(v.get_list("pools"), std::vector<std::string>{});
  EXPECT_EQ(v.get_list("log.tags"), (std::vector<std::string>{"cpu", "net"}));
  EXPECT_EQ(v.get_int("offset"), -3);
  EXPECT_EQ(v.get_string("worker"), "");
  EXPECT_FALSE(v.is_set("api.port"));
  EXPECT_EQ(v.source("api.port"), "default");
  EXPECT_DOUBLE_EQ(v.get_number("api.port"), 4028.0);  // integers read as numbers too
}

TEST(ConfigValues, MisuseThrowsLogicError) {
  const Values v(test_schema());
  EXPECT_THROW(v.get_int("nope"), std::logic_error);
  EXPECT_THROW(v.is_set("nope"), std::logic_error);
  EXPECT_THROW(v.get_string("api.port"), std::logic_error);
  EXPECT_THROW(v.get_bool("device"), std::logic_error);
  EXPECT_THROW(v.get_list("device"), std::logic_error);
  EXPECT_THROW(v.get_int("intensity"), std::logic_error);
  EXPECT_THROW(v.get_int("retries"), std::logic_error);  // unset, no default
}

TEST(ConfigValues, SetByCodeIsValidated) {
  Values v(test_schema());
  v.set("api.port", {"8080"}, "computed");
  EXPECT_EQ(v.get_int("api.port"), 8080);
  EXPECT_TRUE(v.is_set("api.port"));
  EXPECT_EQ(v.source("api.port"), "computed");
  v.set("pools", {"stratum+tcp://a:1", "stratum+tcp://b:2"}, "test");
  EXPECT_EQ(v.get_list("pools").size(), 2u);

  const auto bad = v.try_set("api.port", {"70000"}, "state.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "state.yaml: api.port: '70000' is out of range (integer 0..65535)");
  EXPECT_EQ(v.get_int("api.port"), 8080);  // unchanged
  EXPECT_THROW(v.set("api.port", {"x"}, "code"), std::logic_error);
  EXPECT_THROW(v.set("api.port", {"1", "2"}, "code"), std::logic_error);
  EXPECT_THROW(v.set("nope", {"1"}, "code"), std::logic_error);
}

// --- YAML: nesting and types ----------------------------------------------------------------

TEST(ConfigYaml, NestingAndEveryType) {
  const auto r = load(
      "# miner settings\n"
      "device: 0,2\n"
      "cpu:\n"
      "  enabled: no\n"
      "  threads: 8\n"
      "intensity: 0.75\n"
      "pools:\n"
      "  - stratum+tcp://a.example:3333\n"
      "  - stratum+tcp://b.example:3333\n"
      "api: {port: 9000, bind: \"0.0.0.0\"}\n"
      "log:\n"
      "  level: debug\n"
      "offset: -42\n");
  ASSERT_TRUE(r.ok()) << r.error();
  const Values& v = *r;
  EXPECT_EQ(v.get_string("device"), "0,2");
  EXPECT_FALSE(v.get_bool("cpu.enabled"));
  EXPECT_EQ(v.get_int("cpu.threads"), 8);
  EXPECT_DOUBLE_EQ(v.get_number("intensity"), 0.75);
  EXPECT_EQ(v.get_list("pools"),
            (std::vector<std::string>{"stratum+tcp://a.example:3333", "stratum+tcp://b.example:3333"}));
  EXPECT_EQ(v.get_int("api.port"), 9000);
  EXPECT_EQ(v.get_string("api.bind"), "0.0.0.0");
  EXPECT_EQ(v.get_string("log.level"), "debug");
  EXPECT_EQ(v.get_int("offset"), -42);
  EXPECT_EQ(v.source("device"), "miner.yaml:2");
  EXPECT_EQ(v.source("cpu.threads"), "miner.yaml:5");
  EXPECT_EQ(v.source("pools"), "miner.yaml:7");
  EXPECT_EQ(v.source("api.port"), "miner.yaml:10");
  EXPECT_TRUE(v.is_set("cpu.threads"));
  // Not in the file: still the default.
  EXPECT_FALSE(v.is_set("api.read-only"));
  EXPECT_FALSE(v.get_bool("api.read-only"));
  EXPECT_EQ(v.get_list("log.tags"), (std::vector<std::string>{"cpu", "net"}));
}

TEST(ConfigYaml, BooleanSpellings) {
  for (const char* yes : {"true", "yes", "on", "True", "YES", "On"}) {
    const auto r = load(std::string("api:\n  read-only: ") + yes + "\n");
    ASSERT_TRUE(r.ok()) << yes << ": " << r.error();
    EXPECT_TRUE(r->get_bool("api.read-only")) << yes;
  }
  for (const char* no : {"false", "no", "off", "FALSE", "No", "oFF"}) {
    const auto r = load(std::string("cpu:\n  enabled: ") + no + "\n");
    ASSERT_TRUE(r.ok()) << no << ": " << r.error();
    EXPECT_FALSE(r->get_bool("cpu.enabled")) << no;
  }
  EXPECT_EQ(load_error("cpu:\n  enabled: 1\n"),
            "miner.yaml:2: cpu.enabled: '1' is not a boolean (true/false, yes/no, on/off)");
  EXPECT_EQ(load_error("cpu:\n  enabled: maybe\n"),
            "miner.yaml:2: cpu.enabled: 'maybe' is not a boolean (true/false, yes/no, on/off)");
}

TEST(ConfigYaml, IntegersAreExactDecimal) {
  EXPECT_EQ(load("offset: 9223372036854775807\n")->get_int("offset"), 9223372036854775807LL);
  EXPECT_EQ(load("offset: -9223372036854775808\n")->get_int("offset"), -9223372036854775807LL - 1);
  EXPECT_EQ(load("offset: 007\n")->get_int("offset"), 7);
  EXPECT_EQ(load("api: {port: \"80\"}\n")->get_int("api.port"), 80);  // quoting does not matter
  EXPECT_EQ(load_error("api:\n  port: 1.5\n"), "miner.yaml:2: api.port: '1.5' is not an integer (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: 1e3\n"), "miner.yaml:2: api.port: '1e3' is not an integer (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: 0x10\n"), "miner.yaml:2: api.port: '0x10' is not an integer (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: +5\n"), "miner.yaml:2: api.port: '+5' is not an integer (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: ''\n"), "miner.yaml:2: api.port: '' is not an integer (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: -1\n"), "miner.yaml:2: api.port: '-1' is out of range (integer 0..65535)");
  EXPECT_EQ(load_error("offset: 9223372036854775808\n"),
            "miner.yaml:1: offset: '9223372036854775808' is out of range (64-bit integer)");
  EXPECT_EQ(load_error("offset: abc\n"), "miner.yaml:1: offset: 'abc' is not an integer (integer)");
}

TEST(ConfigYaml, OutOfRangeNamesFileLineKeyValueAndRange) {
  EXPECT_EQ(load_error("# a\n# b\n\ndevice: all\ncpu:\n  threads: 2\napi:\n  port: 70000\n"),
            "miner.yaml:8: api.port: '70000' is out of range (integer 0..65535)");
}

TEST(ConfigYaml, Numbers) {
  EXPECT_DOUBLE_EQ(load("intensity: 1e-1\n")->get_number("intensity"), 0.1);
  EXPECT_DOUBLE_EQ(load("intensity: 1\n")->get_number("intensity"), 1.0);
  EXPECT_EQ(load_error("intensity: 1.5\n"), "miner.yaml:1: intensity: '1.5' is out of range (number 0..1)");
  EXPECT_EQ(load_error("intensity: half\n"), "miner.yaml:1: intensity: 'half' is not a number (number 0..1)");
  EXPECT_EQ(load_error("intensity: nan\n"), "miner.yaml:1: intensity: 'nan' is not a number (number 0..1)");
  EXPECT_EQ(load_error("intensity: inf\n"), "miner.yaml:1: intensity: 'inf' is not a number (number 0..1)");
}

TEST(ConfigYaml, ChoicesAndCheck) {
  EXPECT_EQ(load_error("log:\n  level: loud\n"),
            "miner.yaml:2: log.level: 'loud' is not allowed (one of: debug, info, warn, error)");
  EXPECT_EQ(load_error("device: gpu0\n"),
            "miner.yaml:1: device: 'gpu0' is not valid ('all' or device indexes like 0,2)");
}

TEST(ConfigYaml, Lists) {
  // A scalar where a list goes is a one-element list; [] is an explicit empty list.
  const auto one = load("pools: stratum+tcp://a:1\n");
  ASSERT_TRUE(one.ok()) << one.error();
  EXPECT_EQ(one->get_list("pools"), std::vector<std::string>{"stratum+tcp://a:1"});
  const auto none = load("log:\n  tags: []\n");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->get_list("log.tags").empty());
  EXPECT_TRUE(none->is_set("log.tags"));
  const auto flow = load("log: {tags: [c, a, b]}\n");
  EXPECT_EQ(flow->get_list("log.tags"), (std::vector<std::string>{"c", "a", "b"}));

  EXPECT_EQ(load_error("pools:\n  - stratum+tcp://a:1\n  - http://b\n"),
            "miner.yaml:3: pools: 'http://b' is not valid (a URL like stratum+tcp://HOST:PORT)");
  EXPECT_EQ(load_error("pools:\n  - stratum+tcp://a:1\n  - {url: x}\n"),
            "miner.yaml:3: pools: item 2 is a map, expected stratum+tcp://HOST:PORT");
  EXPECT_EQ(load_error("pools:\n  url: x\n"),
            "miner.yaml:2: pools: got a map, expected a list (list of stratum+tcp://HOST:PORT)");
  EXPECT_EQ(load_error("pools:\n"),
            "miner.yaml:1: pools: no value given (list of stratum+tcp://HOST:PORT; [] for none)");
}

// --- YAML: every error class ------------------------------------------------------------------

TEST(ConfigYaml, UnknownKeySuggestsClosest) {
  EXPECT_EQ(load_error("api:\n  port: 1\ndevcie: all\n"),
            "miner.yaml:3: unknown key 'devcie' (did you mean 'device'?)");
  EXPECT_EQ(load_error("api:\n  prot: 1\n"), "miner.yaml:2: unknown key 'api.prot' (did you mean 'api.port'?)");
  EXPECT_EQ(load_error("log:\n  levle: info\n"), "miner.yaml:2: unknown key 'log.levle' (did you mean 'log.level'?)");
  EXPECT_EQ(load_error("apii: {}\n"), "miner.yaml:1: unknown key 'apii' (did you mean 'api'?)");
  EXPECT_EQ(load_error("colour: red\n"),
            "miner.yaml:1: unknown key 'colour' (allowed: device, cpu, intensity, pools, worker, api, log, offset, "
            "retries)");
  EXPECT_EQ(load_error("api:\n  zzzzzzzz: 1\n"),
            "miner.yaml:2: unknown key 'api.zzzzzzzz' (allowed under 'api': port, "
            "bind, read-only)");
}

TEST(ConfigYaml, FlatDottedKeyIsExplained) {
  EXPECT_EQ(load_error("api.port: 80\n"),
            "miner.yaml:1: key 'api.port' must be nested: write 'api:' and under it, indented, 'port: ...'");
}

TEST(ConfigYaml, WrongShapes) {
  EXPECT_EQ(load_error("api:\n  port:\n    x: 1\n"),
            "miner.yaml:3: api.port: got a map, expected one value (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port: [1, 2]\n"),
            "miner.yaml:2: api.port: got a list, expected one value (integer 0..65535)");
  EXPECT_EQ(load_error("api:\n  port:\n"), "miner.yaml:2: api.port: no value given (integer 0..65535)");
  EXPECT_EQ(load_error("api: 5\n"), "miner.yaml:1: api: expected a group of settings (port, bind, read-only), got '5'");
  EXPECT_EQ(load_error("[a]: 1\n"), "miner.yaml:1: a key must be a plain name, got a list");
  EXPECT_EQ(load_error("device: all\ndevice: 0\n"), "miner.yaml:2: device is given twice (first on line 1)");
}

TEST(ConfigYaml, EmptyGroupIsFine) {
  const auto r = load("api:\n#  port: 4028\ncpu: {}\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_int("api.port"), 4028);
}

TEST(ConfigYaml, TopLevelMustBeAMap) {
  EXPECT_EQ(load_error("- a\n- b\n"), "miner.yaml:1: expected settings as 'key: value' lines (a map), got a list");
  EXPECT_EQ(load_error("hello\n"), "miner.yaml:1: expected settings as 'key: value' lines (a map), got 'hello'");
}

TEST(ConfigYaml, MalformedYamlGivesLine) {
  const std::string e = load_error("device: all\napi:\n  port: [1, 2\n");
  EXPECT_EQ(e.rfind("miner.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid YAML: "), std::string::npos) << e;
  const std::string tab = load_error("api:\n  port: 1\n bind: x\n");
  EXPECT_EQ(tab.rfind("miner.yaml:3: not valid YAML: ", 0), 0u) << tab;
  EXPECT_EQ(load_error("a: 1\n---\nb: 2\n"), "miner.yaml:3: a second YAML document ('---'); put all settings in one");
  EXPECT_TRUE(load("api:\n  port: 1\n---\n").ok());  // an empty trailing document is harmless
  // yaml-cpp 0.7 loops forever on a stray top-level ',' when asked for all documents.
  EXPECT_EQ(load_error(","), "miner.yaml:1: not valid YAML: unexpected ','");
  EXPECT_EQ(load_error("\n\"x\",\n"), "miner.yaml:2: not valid YAML: unexpected ','");
}

TEST(ConfigYaml, EmptyFileHasNoSettings) {
  for (const char* text : {"", "\n\n", "# only a comment\n", "---\n", "~\n"}) {
    const auto r = load(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error();
    EXPECT_FALSE(r->is_set("api.port"));
    EXPECT_EQ(r->get_int("api.port"), 4028);
  }
}

TEST(ConfigYaml, MessagesStayOnOneLine) {
  const std::string e = load_error("worker: ok\nlog:\n  level: \"a\\nb\\tc\"\n");
  EXPECT_EQ(e, "miner.yaml:3: log.level: 'a\\nb\\tc' is not allowed (one of: debug, info, warn, error)");
  const std::string long_value(500, 'x');
  const std::string e2 = load_error("log:\n  level: " + long_value + "\n");
  EXPECT_LT(e2.size(), 200u);
  EXPECT_NE(e2.find("..."), std::string::npos);
}

// --- files --------------------------------------------------------------------------------------

TEST(ConfigFile, LoadsAndNamesTheFile) {
  test::TempDir dir("config");
  const auto path = dir.path / "miner.yaml";
  write_file(path, "api:\n  port: 1234\n");
  const auto r = load_yaml_file(test_schema(), path);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_int("api.port"), 1234);
  EXPECT_EQ(r->source("api.port"), path.string() + ":2");

  write_file(path, "api:\n  port: x\n");
  const auto bad = load_yaml_file(test_schema(), path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), path.string() + ":2: api.port: 'x' is not an integer (integer 0..65535)");
}

TEST(ConfigFile, UnreadableFilesAreClearErrors) {
  test::TempDir dir("config");
  const auto missing = load_yaml_file(test_schema(), dir.path / "nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), (dir.path / "nope.yaml").string() + ": cannot read: No such file or directory");

  const auto folder = load_yaml_file(test_schema(), dir.path);
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error(), dir.path.string() + ": cannot read: it is a directory");

  const auto locked = dir.path / "locked.yaml";
  write_file(locked, "device: all\n");
  ::chmod(locked.c_str(), 0);
  if (::geteuid() != 0) {  // root reads anything
    const auto denied = load_yaml_file(test_schema(), locked);
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(denied.error(), locked.string() + ": cannot read: Permission denied");
  }
}

// --- CLI ------------------------------------------------------------------------------------------

TEST(ConfigCli, FlagsOnlyAndDefaults) {
  Cli cli;
  cli.parse({"--api-port", "80", "--intensity=0.25", "--worker", "rig1"});
  const auto r = cli.binding.resolve();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_int("api.port"), 80);
  EXPECT_EQ(r->source("api.port"), "--api-port");
  EXPECT_DOUBLE_EQ(r->get_number("intensity"), 0.25);
  EXPECT_EQ(r->get_string("worker"), "rig1");
  EXPECT_EQ(r->get_string("device"), "all");
  EXPECT_EQ(r->source("device"), "default");
  EXPECT_FALSE(cli.binding.config_file().has_value());
}

TEST(ConfigCli, FlagBeatsFileBeatsDefault) {
  test::TempDir dir("config");
  const auto path = dir.path / "miner.yaml";
  write_file(path,
             "device: 1\n"
             "api:\n"
             "  port: 5000\n"
             "  bind: 0.0.0.0\n"
             "pools:\n"
             "  - stratum+tcp://file:1\n"
             "cpu:\n"
             "  enabled: false\n");
  Cli cli;
  cli.parse({"--config", path.string(), "--api-port", "6000", "--pool", "stratum+tcp://flag:2", "--cpu"});
  ASSERT_EQ(cli.binding.config_file(), path);
  const auto r = cli.binding.resolve();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_int("api.port"), 6000);
  EXPECT_EQ(r->source("api.port"), "--api-port");
  EXPECT_EQ(r->get_string("api.bind"), "0.0.0.0");
  EXPECT_EQ(r->source("api.bind"), path.string() + ":4");
  EXPECT_EQ(r->get_string("device"), "1");
  EXPECT_EQ(r->get_list("pools"), std::vector<std::string>{"stratum+tcp://flag:2"});  // flags replace the file's list
  EXPECT_TRUE(r->get_bool("cpu.enabled"));
  EXPECT_EQ(r->source("cpu.enabled"), "--cpu");
  EXPECT_EQ(r->get_string("log.level"), "info");
  EXPECT_EQ(r->source("log.level"), "default");
}

TEST(ConfigCli, ListFlagsKeepCommandLineOrder) {
  Cli cli;
  cli.parse(
      {"--pool", "stratum+tcp://c:3", "--log-tag", "hw", "--pool=stratum+tcp://a:1", "--pool", "stratum+tcp://b:2"});
  const auto r = cli.binding.resolve();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_list("pools"),
            (std::vector<std::string>{"stratum+tcp://c:3", "stratum+tcp://a:1", "stratum+tcp://b:2"}));
  EXPECT_EQ(r->get_list("log.tags"), std::vector<std::string>{"hw"});
}

TEST(ConfigCli, LastScalarFlagWins) {
  Cli cli;
  cli.parse({"--api-port", "1", "--api-port", "2"});
  const auto r = cli.binding.resolve();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->get_int("api.port"), 2);
}

TEST(ConfigCli, BooleanNoFlags) {
  {
    Cli cli;
    cli.parse({"--no-cpu", "--api-read-only"});
    const auto r = cli.binding.resolve();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_FALSE(r->get_bool("cpu.enabled"));
    EXPECT_EQ(r->source("cpu.enabled"), "--no-cpu");
    EXPECT_TRUE(r->get_bool("api.read-only"));
  }
  {
    Cli cli;  // the later of --x / --no-x wins
    cli.parse({"--cpu", "--no-cpu", "--no-api-read-only", "--api-read-only"});
    const auto r = cli.binding.resolve();
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_FALSE(r->get_bool("cpu.enabled"));
    EXPECT_TRUE(r->get_bool("api.read-only"));
  }
  {
    Cli cli;
    cli.parse({"--no-cpu", "--cpu"});
    EXPECT_TRUE(cli.binding.resolve()->get_bool("cpu.enabled"));
  }
  {
    Cli cli;  // --cpu=false would otherwise be dropped without a word
    EXPECT_THROW(cli.parse({"--cpu=false"}), CLI::ParseError);
  }
}

TEST(ConfigCli, ReparseStartsFresh) {
  Cli cli;
  cli.parse({"--no-cpu", "--pool", "stratum+tcp://a:1"});
  ASSERT_FALSE(cli.binding.resolve()->get_bool("cpu.enabled"));
  cli.parse({"--cpu"});
  const auto r = cli.binding.resolve();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->get_bool("cpu.enabled"));
  EXPECT_TRUE(r->get_list("pools").empty());
}

TEST(ConfigCli, FlagErrorsNameTheFlag) {
  const auto error_for = [](std::vector<std::string> args) {
    Cli cli;
    cli.parse(std::move(args));
    const auto r = cli.binding.resolve();
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error();
  };
  EXPECT_EQ(error_for({"--api-port", "x"}), "--api-port: 'x' is not an integer (integer 0..65535)");
  EXPECT_EQ(error_for({"--api-port", "70000"}), "--api-port: '70000' is out of range (integer 0..65535)");
  EXPECT_EQ(error_for({"--intensity", "2"}), "--intensity: '2' is out of range (number 0..1)");
  EXPECT_EQ(error_for({"--log-level", "loud"}),
            "--log-level: 'loud' is not allowed (one of: debug, info, warn, error)");
  EXPECT_EQ(error_for({"--pool", "stratum+tcp://a:1", "--pool", "b"}),
            "--pool: 'b' is not valid (a URL like stratum+tcp://HOST:PORT)");
  EXPECT_EQ(error_for({"--device", "gpu"}), "--device: 'gpu' is not valid ('all' or device indexes like 0,2)");
}

TEST(ConfigCli, BadConfigFileStopsResolve) {
  test::TempDir dir("config");
  const auto path = dir.path / "miner.yaml";
  write_file(path, "devcie: all\n");
  Cli cli;
  cli.parse({"--config", path.string(), "--api-port", "80"});
  const auto r = cli.binding.resolve();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), path.string() + ":1: unknown key 'devcie' (did you mean 'device'?)");

  Cli missing;
  missing.parse({"--config", (dir.path / "none.yaml").string()});
  ASSERT_FALSE(missing.binding.resolve().ok());
}

TEST(ConfigCli, HelpShowsDefaultsRangesAndGroups) {
  Cli cli;
  const std::string help = cli.mine->help();
  for (const char* expected : {"--config", "FILE", "--api-port", "PORT", "default: 4028", "0..65535", "--cpu",
                               "--no-cpu", "one of: debug, info, warn, error", "default: 0.5", "number 0..1", "Devices",
                               "API", "Pools", "--pool", "URL", "repeat", "YAML api.port"}) {
    EXPECT_NE(help.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << help;
  }
}

// --- generated text ---------------------------------------------------------------------------

TEST(ConfigDocs, YamlExampleUncommentsToTheDefaults) {
  const Schema schema = test_schema();
  const std::string example = yaml_example(schema);
  for (const Option& o : schema.options()) {
    const std::string leaf = o.key.substr(o.key.rfind('.') + 1);
    EXPECT_NE(example.find(leaf + ":"), std::string::npos) << o.key;
  }
  EXPECT_NE(example.find("#   port: 4028\n"), std::string::npos) << example;
  // As shipped it sets nothing; uncommented it sets every key that has a default, to that default.
  const auto as_is = load_yaml_text(schema, example, "example.yaml");
  ASSERT_TRUE(as_is.ok()) << as_is.error();
  EXPECT_FALSE(as_is->is_set("api.port"));

  std::string uncommented;
  std::size_t start = 0;
  while (start < example.size()) {
    const std::size_t end = example.find('\n', start);
    std::string line = example.substr(start, end - start);
    if (line.rfind("# ", 0) == 0) line.erase(0, 2);
    uncommented += line + "\n";
    start = end + 1;
  }
  const auto loaded = load_yaml_text(schema, uncommented, "example.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.error() << "\n" << uncommented;
  const Values defaults(schema);
  for (const Option& o : schema.options()) {
    EXPECT_EQ(loaded->is_set(o.key), !o.default_text.empty() || o.type == Type::list) << o.key;
    EXPECT_EQ(loaded->text(o.key), defaults.text(o.key)) << o.key;
  }
}

TEST(ConfigDocs, MarkdownReference) {
  const std::string md = markdown_reference(test_schema());
  EXPECT_NE(md.find("# `tensority mine` settings"), std::string::npos);
  EXPECT_NE(md.find("\n## API\n"), std::string::npos);
  EXPECT_NE(md.find("\n## Devices\n"), std::string::npos);
  EXPECT_NE(md.find("\n## Options\n"), std::string::npos);  // log.* has no group
  EXPECT_NE(md.find("| `api.port` | `--api-port PORT` | integer | `4028` | 0..65535 | HTTP API port |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `cpu.enabled` | `--cpu` / `--no-cpu` | boolean | `true` |"), std::string::npos) << md;
  EXPECT_NE(md.find("`debug`, `info`, `warn`, `error`"), std::string::npos) << md;
  EXPECT_NE(md.find("| `pools` | `--pool URL` | list | `[]` | stratum+tcp://HOST:PORT |"), std::string::npos) << md;
}

TEST(ConfigDocs, DescribeListsEverySettingWithItsSource) {
  const auto r = load("api:\n  port: 80\n");
  ASSERT_TRUE(r.ok()) << r.error();
  const std::string text = describe(*r);
  EXPECT_NE(text.find("api.port = 80  (miner.yaml:2)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("device = all  (default)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("worker = (unset)  (default)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("log.tags = [cpu, net]  (default)\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace tensority::config
