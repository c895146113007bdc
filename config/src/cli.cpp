// Schema -> CLI11 options. CLI11 only collects text; resolve() checks it with the same rules and
// messages as the YAML loader, so a flag and a file line fail the same way.
#include <CLI/CLI.hpp>

#include "detail.hpp"

namespace tensority::config {

// Boolean flags are two CLI11 options (--x, --no-x), and CLI11 keeps no order across options that
// survives a re-parse, so each records a tick when it fires (trigger_on_parse). A tick is only read
// while CLI11 still counts the flag as given, which it resets on every parse.
struct CliBinding::Order {
  std::uint64_t clock = 0;
  std::vector<std::uint64_t> seen;  // 2 per option: [2i] = --x, [2i+1] = --no-x
};

namespace {

// "Pools [stratum+tcp://HOST:PORT; repeat for more; replaces the file's list; YAML pools]"
std::string help_text(const Option& o) {
  std::vector<std::string> notes;
  if (!o.default_text.empty()) {
    notes.push_back("default: " +
                    (o.type == Type::list ? detail::join(detail::default_items(o), ", ") : o.default_text));
  }
  if (o.type == Type::integer || o.type == Type::number) {
    const std::string allowed = detail::allowed_item(o);
    if (allowed != detail::type_name(o.type)) notes.push_back(allowed);
  } else if (o.type == Type::string || o.type == Type::list) {
    if (!o.choices.empty() || !o.allowed.empty()) notes.push_back(detail::allowed_item(o));
  }
  if (o.type == Type::list) notes.emplace_back("repeat for more; replaces the file's list");
  notes.push_back("YAML " + o.key);
  return o.help + " [" + detail::join(notes, "; ") + "]";
}

}  // namespace

CliBinding::CliBinding(const Schema& schema, CLI::App& app) : schema_(schema), order_(std::make_shared<Order>()) {
  config_ = app.add_option("--config", CLI::callback_t{}, "YAML settings file; flags override what it sets");
  config_->type_name("FILE")->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  order_->seen.assign(schema_.options().size() * 2, 0);
  for (std::size_t i = 0; i < schema_.options().size(); ++i) {
    const Option& o = schema_.options()[i];
    Bound b{&o, nullptr, nullptr};
    if (o.type == Type::boolean) {
      const auto tick = [order = order_](std::size_t slot) {
        return [order, slot] { order->seen[slot] = ++order->clock; };
      };
      b.cli = app.add_flag_callback("--" + o.flag, tick(2 * i), help_text(o));
      b.negative = app.add_flag_callback("--no-" + o.flag, tick(2 * i + 1), "Turn off --" + o.flag);
      for (CLI::Option* flag : {b.cli, b.negative}) {
        // --x=false would make CLI11 skip the callback and silently drop the flag; refuse it instead.
        flag->trigger_on_parse()->disable_flag_override();
        if (!o.group.empty()) flag->group(o.group);
      }
    } else {
      b.cli = app.add_option("--" + o.flag, CLI::callback_t{}, help_text(o));
      // Raw results keep every occurrence in command-line order; resolve() takes the last for one-value types.
      b.cli->type_name(detail::value_name(o))
          ->expected(1)
          ->multi_option_policy(o.type == Type::list ? CLI::MultiOptionPolicy::TakeAll
                                                     : CLI::MultiOptionPolicy::TakeLast);
      if (!o.group.empty()) b.cli->group(o.group);
    }
    bound_.push_back(b);
  }
}

std::optional<std::filesystem::path> CliBinding::config_file() const {
  if (config_->count() == 0 || config_->results().empty()) return std::nullopt;
  return std::filesystem::path(config_->results().back());
}

core::Result<Values> CliBinding::resolve() const {
  Values values(schema_);
  if (const auto file = config_file()) {
    auto loaded = load_yaml_file(schema_, *file);
    if (!loaded) return loaded;
    values = std::move(loaded).value();
  }
  for (std::size_t i = 0; i < bound_.size(); ++i) {
    const Bound& b = bound_[i];
    const Option& o = *b.option;
    if (o.type == Type::boolean) {
      const bool on = b.cli->count() > 0;
      const bool off = b.negative->count() > 0;
      if (!on && !off) continue;
      const bool value = on && (!off || order_->seen[2 * i] > order_->seen[2 * i + 1]);
      ValuesAccess::put(values, o.key, {value ? "true" : "false"}, value ? "--" + o.flag : "--no-" + o.flag);
      continue;
    }
    if (b.cli->count() == 0) continue;
    std::vector<std::string> raw = b.cli->results();
    if (o.type != Type::list && raw.size() > 1) raw.erase(raw.begin(), raw.end() - 1);
    const std::string flag = "--" + o.flag;
    for (const auto& item : raw) {
      if (std::string problem = detail::value_problem(o, item); !problem.empty()) {
        return core::Result<Values>::failure(flag + ": " + problem);
      }
    }
    ValuesAccess::put(values, o.key, std::move(raw), flag);
  }
  return values;
}

}  // namespace tensority::config
