#pragma once

// dlopen helpers shared by the GPU probes (private to hwdetect). Each API's
// library is opened once per process by a function-local static and never
// closed: GPU drivers start threads and register handlers that do not survive
// dlclose, and one handle for the process's lifetime is all that is needed.

#include <initializer_list>
#include <string>

#include <dlfcn.h>

namespace tensority::hwdetect::detail {

struct OpenedLibrary {
  void* handle = nullptr;
  std::string error;  // "dlopen libcuda.so.1: <dlerror text>" for the first name tried
};

// Tries each soname in order. The first name's error is the one kept: it is
// the versioned name the driver package installs, the others are fallbacks.
inline OpenedLibrary open_library(std::initializer_list<const char*> names) {
  OpenedLibrary out;
  for (const char* name : names) {
    // RTLD_NOW: a library with unresolved symbols fails here, not mid-probe.
    // RTLD_LOCAL: its symbols must not satisfy anyone else's lookups.
    out.handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (out.handle != nullptr) {
      out.error.clear();
      return out;
    }
    if (out.error.empty()) {
      const char* raw = dlerror();
      std::string why = raw != nullptr ? raw : "unknown error";
      // glibc starts the text with the name itself ("libcuda.so.1: cannot
      // open shared object file: ..."); say it once.
      const std::string prefix = std::string(name) + ": ";
      if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
      out.error = "dlopen " + prefix + why;
    }
  }
  return out;
}

// Resolves one symbol into a typed function pointer; false when it is absent.
template <class Fn>
bool resolve(void* handle, const char* name, Fn*& out) {
  void* sym = dlsym(handle, name);
  // POSIX guarantees that a dlsym result converts to a function pointer.
  out = reinterpret_cast<Fn*>(sym);
  return out != nullptr;
}

}  // namespace tensority::hwdetect::detail
