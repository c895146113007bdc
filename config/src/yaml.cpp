// YAML files against a schema. yaml-cpp builds the tree; everything here is about refusing a bad
// file with one line that says where, what and what would have been fine.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "detail.hpp"

namespace tensority::config {

namespace {

using detail::quote;

constexpr std::size_t kMaxFileBytes = 16u << 20;  // far above any config; stops a wrong path eating memory

std::string node_kind(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return quote(node.Scalar());
}

class Loader {
 public:
  Loader(const Schema& schema, std::string_view file_name)
      : schema_(schema), file_(detail::clean(file_name, 200)), values_(schema) {}

  core::Result<Values> run(std::string_view text) {
    try {
      const std::string copy(text);
      if (std::string problem = scan_documents(copy); !problem.empty()) return fail(std::move(problem));
      const YAML::Node root = YAML::Load(copy);
      if (root.IsNull()) return values_;  // empty or comments only: no settings
      if (!root.IsMap()) {
        return fail(at(root.Mark()) + ": expected settings as 'key: value' lines (a map), got " + node_kind(root));
      }
      if (!walk(root, "")) return fail(error_);
      return values_;
    } catch (const YAML::Exception& e) {
      return fail(at(e.mark) + ": not valid YAML: " + detail::clean(e.msg, 200));
    } catch (const std::exception& e) {
      return fail(file_ + ": cannot read YAML: " + detail::clean(e.what(), 200));
    }
  }

 private:
  // Records where each document's root is and whether it is empty; nothing is built.
  struct RootOnly : YAML::EventHandler {
    bool seen = false, null = false;
    YAML::Mark mark = YAML::Mark::null_mark();
    void root(const YAML::Mark& m, bool is_null) {
      if (seen) return;
      seen = true;
      mark = m;
      null = is_null;
    }
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { root(m, true); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { root(m, false); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
      root(m, false);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
      root(m, false);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
      root(m, false);
    }
    void OnMapEnd() override {}
  };

  // Walks the document list before YAML::Load reads the first one. A second document would be
  // silently ignored by Load, so it is refused. YAML::LoadAll is not used: yaml-cpp 0.7 never
  // consumes a stray flow token such as a top-level ',' and reports empty documents at the same
  // place forever (jbeder/yaml-cpp#1040), allocating until the process dies. Here that shows up as
  // two empty documents at one position, and becomes an error.
  std::string scan_documents(const std::string& text) const {
    std::istringstream in(text);
    YAML::Parser parser(in);
    std::optional<int> last_empty_at;
    for (std::size_t count = 1;; ++count) {
      RootOnly doc;
      if (!parser.HandleNextDocument(doc)) return "";
      if (doc.seen && doc.null) {
        if (last_empty_at == doc.mark.pos) {
          const auto pos = static_cast<std::size_t>(doc.mark.pos);
          const std::string token = pos < text.size() ? quote(text.substr(pos, 1)) : "token";
          return at(doc.mark) + ": not valid YAML: unexpected " + token;
        }
        last_empty_at = doc.mark.pos;
      } else {
        last_empty_at.reset();
        if (count > 1) return at(doc.mark) + ": a second YAML document ('---'); put all settings in one";
      }
      if (count > 10000) return file_ + ": not valid YAML: too many empty documents";
    }
  }

  std::string at(const YAML::Mark& mark) const {
    return mark.is_null() || mark.line < 0 ? file_ : file_ + ":" + std::to_string(mark.line + 1);
  }

  core::Result<Values> fail(std::string message) const { return core::Result<Values>::failure(std::move(message)); }
  bool error(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // Immediate child names under `prefix` ("" = top level), in schema order.
  std::vector<std::string> children(const std::string& prefix) const {
    std::vector<std::string> names;
    for (const Option& o : schema_.options()) {
      if (!prefix.empty() && o.key.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
      const std::size_t start = prefix.empty() ? 0 : prefix.size() + 1;
      std::string name = o.key.substr(start, o.key.find('.', start) - start);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
    return names;
  }

  std::string children_text(const std::string& prefix) const {
    std::vector<std::string> names = children(prefix);
    if (names.size() > 12) {
      names.resize(12);
      names.emplace_back("...");
    }
    return detail::join(names, ", ");
  }

  std::string unknown_key(const YAML::Mark& mark, const std::string& prefix, const std::string& full) const {
    std::vector<std::string> candidates;
    std::set<std::string> groups;
    for (const Option& o : schema_.options()) {
      candidates.push_back(o.key);
      for (std::size_t dot = o.key.find('.'); dot != std::string::npos; dot = o.key.find('.', dot + 1)) {
        if (groups.insert(o.key.substr(0, dot)).second) candidates.push_back(o.key.substr(0, dot));
      }
    }
    std::string line = at(mark) + ": unknown key " + quote(full);
    if (const auto best = detail::closest(full, candidates)) return line + " (did you mean '" + *best + "'?)";
    const std::string here = children_text(prefix);
    return here.empty() ? line
                        : line + " (allowed" + (prefix.empty() ? "" : " under '" + prefix + "'") + ": " + here + ")";
  }

  bool walk(const YAML::Node& map, const std::string& prefix) {
    std::map<std::string, int> seen;  // name -> line, to refuse a key given twice
    for (const auto& pair : map) {
      const YAML::Node& key = pair.first;
      const YAML::Node& value = pair.second;
      if (!key.IsScalar()) {
        return error(at(key.Mark()) + ": a key must be a plain name, got " + node_kind(key));
      }
      const std::string& name = key.Scalar();
      const std::string full = prefix.empty() ? name : prefix + "." + name;
      if (const auto [it, fresh] = seen.emplace(name, key.Mark().line + 1); !fresh) {
        return error(at(key.Mark()) + ": " + detail::clean(full) + " is given twice (first on line " +
                     std::to_string(it->second) + ")");
      }
      if (name.find('.') != std::string::npos) {
        // "api.port: 1" is how the reference names the key, so people will try it; tell them how to nest.
        if (schema_.find_key(full) != nullptr || schema_.is_group(full)) {
          const std::size_t dot = name.find('.');
          return error(at(key.Mark()) + ": key " + quote(full) + " must be nested: write '" + name.substr(0, dot) +
                       ":' and under it, indented, '" + name.substr(dot + 1) + ": ...'");
        }
        return error(unknown_key(key.Mark(), prefix, full));
      }
      if (const Option* o = schema_.find_key(full)) {
        if (!leaf(*o, key, value)) return false;
      } else if (schema_.is_group(full)) {
        if (value.IsNull()) continue;  // "api:" with every child commented out
        if (!value.IsMap()) {
          return error(at(value.Mark()) + ": " + full + ": expected a group of settings (" + children_text(full) +
                       "), got " + node_kind(value));
        }
        if (!walk(value, full)) return false;
      } else {
        return error(unknown_key(key.Mark(), prefix, full));
      }
    }
    return true;
  }

  // Mark of a value node, falling back to its key (yaml-cpp gives some empty nodes no position).
  std::string at(const YAML::Node& value, const YAML::Node& key) const {
    return value.Mark().is_null() ? at(key.Mark()) : at(value.Mark());
  }

  bool leaf(const Option& o, const YAML::Node& key, const YAML::Node& value) {
    const std::string where = at(value, key) + ": " + o.key + ": ";
    std::vector<std::string> raw;
    if (value.IsNull()) {
      // yaml-cpp places an empty value at the next token, often the next line; the key is where it is missing.
      return error(at(key.Mark()) + ": " + o.key + ": no value given (" + describe_allowed(o) +
                   (o.type == Type::list ? "; [] for none" : "") + ")");
    }
    if (value.IsScalar()) {
      raw.push_back(value.Scalar());
      if (std::string problem = detail::value_problem(o, raw.back()); !problem.empty()) return error(where + problem);
    } else if (o.type == Type::list && value.IsSequence()) {
      std::size_t index = 0;
      for (const auto& item : value) {
        ++index;
        const std::string item_where = at(item, key) + ": " + o.key + ": ";
        if (!item.IsScalar()) {
          return error(item_where + "item " + std::to_string(index) + " is " + node_kind(item) + ", expected " +
                       detail::allowed_item(o));
        }
        raw.push_back(item.Scalar());
        if (std::string problem = detail::value_problem(o, raw.back()); !problem.empty()) {
          return error(item_where + problem);
        }
      }
    } else {
      const std::string expected = o.type == Type::list ? "a list" : "one value";
      return error(where + "got " + node_kind(value) + ", expected " + expected + " (" + describe_allowed(o) + ")");
    }
    ValuesAccess::put(values_, o.key, std::move(raw), at(key.Mark()));
    return true;
  }

  const Schema& schema_;
  std::string file_;
  Values values_;
  std::string error_;
};

}  // namespace

core::Result<Values> load_yaml_text(const Schema& schema, std::string_view text, std::string_view file_name) {
  return Loader(schema, file_name).run(text);
}

core::Result<Values> load_yaml_file(const Schema& schema, const std::filesystem::path& path) {
  const std::string name = path.string();
  const auto fail = [&](const std::string& why) {
    return core::Result<Values>::failure(detail::clean(name, 200) + ": cannot read: " + why);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("it is a directory");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errno != 0 ? std::generic_category().message(errno) : "cannot open");
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) return fail("larger than 16 MiB, not a settings file");
  }
  if (in.bad()) return fail("read error");
  return load_yaml_text(schema, text, name);
}

}  // namespace tensority::config
