// Backends that live in their own shared library (the CUDA backend: built with nvcc, linked to
// the CUDA runtime statically, so the addon itself needs no CUDA to load). The engine opens
// `<addon folder>/<prefix>pixtral_<name>.<ext>` only when that backend is asked for, and a missing
// library, driver or device becomes an EngineError(Unsupported) that says which.
#pragma once
#include <memory>
#include <string>

#include "backend.h"

namespace px {

class SharedLibrary {
 public:
  SharedLibrary() = default;
  ~SharedLibrary() { close(); }
  SharedLibrary(SharedLibrary&& o) noexcept : handle_(o.handle_) { o.handle_ = nullptr; }
  SharedLibrary& operator=(SharedLibrary&& o) noexcept;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // Opens `path`; throws EngineError(Unsupported) with the loader's message when it cannot.
  static SharedLibrary open(const std::string& path);
  void* symbol(const char* name) const;
  void close();

 private:
  void* handle_ = nullptr;
};

// The file a plugin backend `name` is expected in, beside the addon.
std::string backend_library_path(const std::string& name);

// Opens the plugin library for `name` into `library` and creates its backend with `options_json`.
std::unique_ptr<Backend> create_plugin_backend(const std::string& name, const std::string& options_json,
                                               SharedLibrary& library);

}  // namespace px
