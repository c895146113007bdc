#pragma once
// Where backends are listed. kernels/CMakeLists.txt generates the function that registers
// every backend built into this binary, so adding a backend is one folder and one CMake
// line.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensority/core/types.hpp"
#include "tensority/kernels/hal/device.hpp"

namespace tensority::kernels::hal {

class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Backend>()>;

  void add(std::string name, Factory factory);
  // Instantiates each backend once (lazily) and lists them in registration order.
  std::vector<Backend*> backends();
  Backend* backend(std::string_view name);
  // Every device of every backend.
  std::vector<std::shared_ptr<Device>> devices();
  // "cpu" (every device of that backend), "cpu:0" (one by id), or "all".
  core::Result<std::vector<std::shared_ptr<Device>>> select(std::string_view selector);
  std::vector<std::string> backend_names() const;

 private:
  struct Entry {
    std::string name;
    Factory factory;
    std::unique_ptr<Backend> instance;
  };
  std::vector<Entry> entries_;
};

// The process-wide registry holding every backend compiled into this binary.
Registry& builtin_registry();

}  // namespace tensority::kernels::hal
