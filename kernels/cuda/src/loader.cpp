// The part of the CUDA backend every binary carries: it opens libtensority-cuda.so at run
// time, so the same `tensority` runs CPU-only on a machine without a GPU or driver and
// says why CUDA is off. It has no build dependency on CUDA itself.
#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tensority/kernels/cuda/module_abi.hpp"
#include "tensority/kernels/hal/registry.hpp"

namespace tensority::kernels::cuda {
namespace {

// Wraps the module's backend. The module stays loaded for the life of the process: its
// code backs every object it handed out.
class LoadedBackend final : public hal::Backend {
 public:
  LoadedBackend(hal::Backend* inner, std::vector<std::string> notes) : inner_(inner), notes_(std::move(notes)) {}
  std::string_view name() const override { return "cuda"; }
  std::vector<std::shared_ptr<hal::Device>> devices() override {
    return inner_ != nullptr ? inner_->devices() : std::vector<std::shared_ptr<hal::Device>>{};
  }
  std::vector<std::string> notes() const override {
    auto out = notes_;
    if (inner_ != nullptr) {
      for (auto& n : inner_->notes()) out.push_back(n);
    }
    return out;
  }

 private:
  // Deliberately never deleted: at exit the module's runtime may already be torn down.
  hal::Backend* inner_;
  std::vector<std::string> notes_;
};

std::filesystem::path executable_dir() {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  return std::filesystem::path(std::string(buf.data(), static_cast<std::size_t>(n))).parent_path();
}

std::vector<std::filesystem::path> candidates() {
  std::vector<std::filesystem::path> out;
  if (const char* env = std::getenv("TENSORITY_CUDA_MODULE"); env != nullptr && *env != '\0') {
    out.emplace_back(env);
    return out;  // an explicit choice is the only one tried
  }
  const auto dir = executable_dir();
  if (!dir.empty()) {
    out.push_back(dir / kModuleFile);
    out.push_back(dir / ".." / "lib" / "tensority" / kModuleFile);
  }
#ifdef TENSORITY_CUDA_MODULE_BUILD_PATH
  out.emplace_back(TENSORITY_CUDA_MODULE_BUILD_PATH);
#endif
  return out;
}

std::unique_ptr<hal::Backend> load() {
  std::vector<std::string> notes;
  std::string tried;
  for (const auto& path : candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      notes.push_back("CUDA is off: cannot load " + path.string() + ": " + (err != nullptr ? err : "unknown error"));
      return std::make_unique<LoadedBackend>(nullptr, notes);
    }
    auto abi = reinterpret_cast<ModuleAbiFn>(::dlsym(handle, kModuleAbiSymbol));
    auto version = reinterpret_cast<ModuleVersionFn>(::dlsym(handle, kModuleVersionSymbol));
    auto create = reinterpret_cast<ModuleCreateFn>(::dlsym(handle, kModuleCreateSymbol));
    if (abi == nullptr || version == nullptr || create == nullptr) {
      notes.push_back("CUDA is off: " + path.string() + " is not a tensority CUDA module");
      return std::make_unique<LoadedBackend>(nullptr, notes);
    }
    if (abi() != hal::module_abi() || std::string(version()) != TENSORITY_VERSION) {
      notes.push_back("CUDA is off: " + path.string() + " was built for tensority " + version() +
                      " with another device-layer ABI; rebuild it with this binary (" TENSORITY_VERSION ")");
      return std::make_unique<LoadedBackend>(nullptr, notes);
    }
    std::array<char, 512> error{};
    hal::Backend* inner = create(error.data(), error.size());
    if (inner == nullptr) notes.push_back(error.data());
    return std::make_unique<LoadedBackend>(inner, notes);
  }
  notes.push_back(std::string("CUDA is off: ") + kModuleFile + " not found (looked in " + tried + ")");
  return std::make_unique<LoadedBackend>(nullptr, notes);
}

}  // namespace
}  // namespace tensority::kernels::cuda

void tensority_register_backend_cuda(tensority::kernels::hal::Registry& registry) {
  registry.add("cuda", [] { return tensority::kernels::cuda::load(); });
}
