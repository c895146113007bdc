// Text generated from the schema for people: the example file, the reference and summaries.
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "detail.hpp"

namespace tensority::config {

std::string describe_allowed(const Option& o) {
  if (o.type != Type::list) return detail::allowed_item(o);
  if (!o.choices.empty()) return "list, each one of: " + detail::join(o.choices, ", ");
  if (!o.allowed.empty()) return "list of " + o.allowed;
  return "list of text";
}

namespace {

// The YAML settings as a tree in schema order, so the example nests like a real file.
struct Node {
  std::string name;
  const Option* option = nullptr;
  std::vector<Node> children;
};

Node tree_of(const Schema& schema) {
  Node root;
  for (const Option& o : schema.options()) {
    Node* at = &root;
    std::size_t start = 0;
    for (;;) {
      const std::size_t dot = o.key.find('.', start);
      std::string name = o.key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      auto it = std::find_if(at->children.begin(), at->children.end(), [&](const Node& n) { return n.name == name; });
      if (it == at->children.end()) {
        at->children.push_back(Node{std::move(name), nullptr, {}});
        it = at->children.end() - 1;
      }
      at = &*it;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    at->option = &o;
  }
  return root;
}

std::string yaml_value(const Option& o) {
  YAML::Emitter out;
  if (o.type == Type::list) {
    out << YAML::Flow << detail::default_items(o);
  } else {
    out << o.default_text;
  }
  return out.c_str();
}

void emit(const Node& node, std::size_t depth, std::string& out) {
  const std::string indent(depth * 2, ' ');
  for (const Node& child : node.children) {
    if (depth == 0) out += "\n";
    if (child.option == nullptr) {
      out += "# " + indent + child.name + ":\n";
      emit(child, depth + 1, out);
      continue;
    }
    const Option& o = *child.option;
    std::string note = describe_allowed(o) + "; --" + o.flag;
    if (o.type == Type::boolean) note += " / --no-" + o.flag;
    out += "# " + indent + "# " + o.help + " (" + note + ")\n";
    if (o.default_text.empty() && o.type != Type::list) {
      // No default: an uncommented "key:" would be an error, so this stays a comment either way.
      out += "# " + indent + "# " + child.name + ":   (not set by default)\n";
    } else {
      out += "# " + indent + child.name + ": " + yaml_value(o) + "\n";
    }
  }
}

std::string cell(std::string text) {
  std::string out;
  for (const char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string code(const std::string& text) { return text.empty() ? "" : "`" + cell(text) + "`"; }

}  // namespace

std::string yaml_example(const Schema& schema) {
  std::string out = "## tensority " + schema.command() +
                    " settings (YAML). Every setting is shown at its default,\n"
                    "## commented out: remove the leading \"# \" of a line to change it. Flags given on the\n"
                    "## command line override this file.\n";
  emit(tree_of(schema), 0, out);
  return out;
}

std::string markdown_reference(const Schema& schema) {
  std::string out = "# `tensority " + schema.command() +
                    "` settings\n\n"
                    "Each setting is a YAML key in the file given with `--config FILE` and a command-line flag.\n"
                    "Precedence: default, then the file, then flags. Dots in a key are nesting: `api.port` is\n"
                    "written `api:` and, indented under it, `port: ...`. A list given by flags (repeat the flag)\n"
                    "replaces the file's list. Booleans take true/false, yes/no or on/off; their flag comes with\n"
                    "a `--no-` form.\n";
  std::vector<std::string> groups;
  for (const Option& o : schema.options()) {
    const std::string group = o.group.empty() ? "Options" : o.group;
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
  }
  for (const auto& group : groups) {
    out += "\n## " + group + "\n\n| Key | Flag | Type | Default | Allowed | Description |\n|---|---|---|---|---|---|\n";
    for (const Option& o : schema.options()) {
      if ((o.group.empty() ? "Options" : o.group) != group) continue;
      std::string flag = "`--" + o.flag + "`";
      if (o.type == Type::boolean) flag += " / `--no-" + o.flag + "`";
      if (o.type != Type::boolean) flag = "`--" + o.flag + " " + cell(detail::value_name(o)) + "`";
      std::string allowed;
      if (o.type == Type::boolean) {
        allowed = "true/false, yes/no, on/off";
      } else if (o.type == Type::integer || o.type == Type::number) {
        const std::string a = detail::allowed_item(o);
        allowed = a == detail::type_name(o.type) ? "any" : a.substr(detail::type_name(o.type).size() + 1);
      } else if (!o.choices.empty()) {
        std::vector<std::string> quoted;
        for (const auto& c : o.choices) quoted.push_back(code(c));
        allowed = detail::join(quoted, ", ");
      } else {
        allowed = cell(o.allowed);
      }
      const std::string type = o.type == Type::list ? "list" : detail::type_name(o.type);
      const std::string def = o.type == Type::list ? "`[" + cell(detail::join(detail::default_items(o), ", ")) + "]`"
                                                   : code(o.default_text);
      out +=
          "| `" + o.key + "` | " + flag + " | " + type + " | " + def + " | " + allowed + " | " + cell(o.help) + " |\n";
    }
  }
  return out;
}

std::string describe(const Values& values) {
  std::string out;
  for (const Option& o : values.schema().options()) {
    const bool has_value = values.is_set(o.key) || !o.default_text.empty() || o.type == Type::list;
    std::string shown = has_value ? values.text(o.key) : "(unset)";
    if (o.type == Type::list) shown = "[" + shown + "]";
    out += o.key + " = " + detail::clean(shown, 200) + "  (" + values.source(o.key) + ")\n";
  }
  return out;
}

}  // namespace tensority::config
