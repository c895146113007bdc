// The schema (checked once, when a command declares it) and resolved values.
#include "tensority/config/schema.hpp"

#include <cmath>
#include <set>
#include <stdexcept>

#include "detail.hpp"

namespace tensority::config {

struct Schema::Impl {
  std::string command;
  std::vector<Option> options;
  std::map<std::string, std::size_t, std::less<>> by_key;
  std::map<std::string, std::size_t, std::less<>> by_flag;
  std::set<std::string, std::less<>> groups;
};

namespace {

[[noreturn]] void bad_schema(const std::string& command, const std::string& what) {
  throw std::logic_error("config schema '" + command + "': " + what);
}

bool key_segment_ok(std::string_view segment) {
  if (segment.empty()) return false;
  for (const char c : segment) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool flag_ok(std::string_view flag) {
  if (flag.empty() || flag.front() == '-') return false;
  for (const char c : flag) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void check_option(const std::string& command, const Option& o) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = o.key.find('.', start);
    if (!key_segment_ok(
            std::string_view(o.key).substr(start, dot == std::string::npos ? std::string::npos : dot - start))) {
      bad_schema(command, "key '" + o.key + "' is not dot-separated names of [A-Za-z0-9_-]");
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!flag_ok(o.flag)) bad_schema(command, o.key + ": flag '" + o.flag + "' is not [a-z0-9-] without leading dashes");
  const bool numeric = o.type == Type::integer || o.type == Type::number;
  if ((o.min || o.max) && !numeric) bad_schema(command, o.key + ": min/max need an integer or number option");
  if (o.min && o.max && *o.min > *o.max) bad_schema(command, o.key + ": min > max");
  if (o.type == Type::integer && ((o.min && std::floor(*o.min) != *o.min) || (o.max && std::floor(*o.max) != *o.max))) {
    bad_schema(command, o.key + ": integer range bounds must be whole numbers");
  }
  if (!o.choices.empty() && o.type != Type::string && o.type != Type::list) {
    bad_schema(command, o.key + ": choices need a string or list option");
  }
  // A default that its own checks refuse would only surface when a user happens to leave it alone.
  const std::string problem = detail::values_problem(o, detail::default_items(o));
  if (!problem.empty()) bad_schema(command, o.key + ": default " + problem);
}

}  // namespace

Schema::Schema(std::string command, std::vector<Option> options) {
  auto impl = std::make_shared<Impl>();
  impl->command = std::move(command);
  impl->options = std::move(options);
  const std::string& cmd = impl->command;
  for (std::size_t i = 0; i < impl->options.size(); ++i) {
    const Option& o = impl->options[i];
    check_option(cmd, o);
    if (!impl->by_key.emplace(o.key, i).second) bad_schema(cmd, "duplicate key '" + o.key + "'");
    if (!impl->by_flag.emplace(o.flag, i).second) bad_schema(cmd, "duplicate flag '--" + o.flag + "'");
    for (std::size_t dot = o.key.find('.'); dot != std::string::npos; dot = o.key.find('.', dot + 1)) {
      impl->groups.insert(o.key.substr(0, dot));
    }
  }
  for (const auto& [key, index] : impl->by_key) {
    if (impl->groups.count(key) != 0) bad_schema(cmd, "'" + key + "' is both a setting and a group of settings");
  }
  for (const char* reserved : {"config", "help", "no-config", "no-help"}) {
    if (impl->by_flag.count(reserved) != 0) bad_schema(cmd, std::string("flag '--") + reserved + "' is reserved");
  }
  for (const Option& o : impl->options) {
    if (o.type == Type::boolean && impl->by_flag.count("no-" + o.flag) != 0) {
      bad_schema(cmd, "flag '--no-" + o.flag + "' clashes with the negation of boolean '--" + o.flag + "'");
    }
  }
  impl_ = std::move(impl);
}

const std::string& Schema::command() const { return impl_->command; }
const std::vector<Option>& Schema::options() const { return impl_->options; }

const Option* Schema::find_key(std::string_view key) const {
  const auto it = impl_->by_key.find(key);
  return it == impl_->by_key.end() ? nullptr : &impl_->options[it->second];
}

const Option* Schema::find_flag(std::string_view flag) const {
  const auto it = impl_->by_flag.find(flag);
  return it == impl_->by_flag.end() ? nullptr : &impl_->options[it->second];
}

bool Schema::is_group(std::string_view prefix) const { return impl_->groups.find(prefix) != impl_->groups.end(); }

// --- Values -----------------------------------------------------------------------------------

Values::Values(Schema schema) : schema_(std::move(schema)) {}

const Option& Values::option(std::string_view key) const {
  const Option* o = schema_.find_key(key);
  if (o == nullptr)
    throw std::logic_error("config: no key '" + std::string(key) + "' in schema '" + schema_.command() + "'");
  return *o;
}

std::vector<std::string> Values::effective(const Option& o) const {
  const auto it = set_.find(o.key);
  return it != set_.end() ? it->second.raw : detail::default_items(o);
}

bool Values::is_set(std::string_view key) const {
  option(key);
  return set_.find(key) != set_.end();
}

std::string Values::source(std::string_view key) const {
  option(key);
  const auto it = set_.find(key);
  return it == set_.end() ? "default" : it->second.source;
}

namespace {

[[noreturn]] void wrong_type(const Option& o, const char* getter) {
  throw std::logic_error("config: " + std::string(getter) + "('" + o.key + "') on a " + detail::type_name(o.type) +
                         " setting");
}

const std::string& single(const Option& o, const std::vector<std::string>& items) {
  if (items.size() != 1) {
    throw std::logic_error("config: '" + o.key + "' has no value (no default, not set); check is_set() first");
  }
  return items.front();
}

}  // namespace

bool Values::get_bool(std::string_view key) const {
  const Option& o = option(key);
  if (o.type != Type::boolean) wrong_type(o, "get_bool");
  const auto v = detail::parse_bool(single(o, effective(o)));
  if (!v) throw std::logic_error("config: stored value of '" + o.key + "' is not a boolean");
  return *v;
}

std::int64_t Values::get_int(std::string_view key) const {
  const Option& o = option(key);
  if (o.type != Type::integer) wrong_type(o, "get_int");
  const auto v = detail::parse_int(single(o, effective(o)));
  if (!v) throw std::logic_error("config: stored value of '" + o.key + "' is not an integer");
  return *v;
}

double Values::get_number(std::string_view key) const {
  const Option& o = option(key);
  if (o.type != Type::number && o.type != Type::integer) wrong_type(o, "get_number");
  const auto v = detail::parse_number(single(o, effective(o)));
  if (!v) throw std::logic_error("config: stored value of '" + o.key + "' is not a number");
  return *v;
}

std::string Values::get_string(std::string_view key) const {
  const Option& o = option(key);
  if (o.type != Type::string) wrong_type(o, "get_string");
  auto items = effective(o);
  return items.empty() ? std::string() : std::move(items.front());
}

std::vector<std::string> Values::get_list(std::string_view key) const {
  const Option& o = option(key);
  if (o.type != Type::list) wrong_type(o, "get_list");
  return effective(o);
}

std::string Values::text(std::string_view key) const { return detail::join(effective(option(key)), ", "); }

core::Result<bool> Values::try_set(std::string_view key, std::vector<std::string> raw, std::string source) {
  const Option& o = option(key);
  if (o.type != Type::list && raw.size() != 1) {
    throw std::logic_error("config: set('" + o.key + "') needs exactly one value, got " + std::to_string(raw.size()));
  }
  const std::string problem = detail::values_problem(o, raw);
  if (!problem.empty()) return core::Result<bool>::failure(detail::clean(source) + ": " + o.key + ": " + problem);
  set_[o.key] = Entry{std::move(raw), std::move(source)};
  return true;
}

void Values::set(std::string_view key, std::vector<std::string> raw, std::string source) {
  const auto r = try_set(key, std::move(raw), std::move(source));
  if (!r) throw std::logic_error("config: " + r.error());
}

}  // namespace tensority::config
