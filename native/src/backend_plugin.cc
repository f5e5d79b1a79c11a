// See backend_plugin.h.
#include "backend_plugin.h"

#include <cstdlib>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace px {
namespace {

// The folder this code was loaded from (the addon's, or a test program's).
std::string own_folder() {
#if defined(_WIN32)
  HMODULE module = nullptr;
  GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                     reinterpret_cast<LPCSTR>(&own_folder), &module);
  char path[MAX_PATH] = {};
  GetModuleFileNameA(module, path, MAX_PATH);
  std::string p(path);
  return p.substr(0, p.find_last_of("\\/"));
#else
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&own_folder), &info) || !info.dli_fname) return ".";
  std::string p(info.dli_fname);
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
#endif
}

}  // namespace

SharedLibrary& SharedLibrary::operator=(SharedLibrary&& o) noexcept {
  if (this != &o) {
    close();
    handle_ = o.handle_;
    o.handle_ = nullptr;
  }
  return *this;
}

SharedLibrary SharedLibrary::open(const std::string& path) {
  SharedLibrary lib;
#if defined(_WIN32)
  lib.handle_ = LoadLibraryA(path.c_str());
  if (!lib.handle_)
    throw EngineError(ErrorKind::Unsupported, "cannot load " + path + " (Windows error " + std::to_string(GetLastError()) + ")");
#else
  lib.handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib.handle_) {
    const char* why = dlerror();
    throw EngineError(ErrorKind::Unsupported, std::string("cannot load ") + (why ? why : path.c_str()));
  }
#endif
  return lib;
}

void* SharedLibrary::symbol(const char* name) const {
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(handle_), name));
#else
  return dlsym(handle_, name);
#endif
}

void SharedLibrary::close() {
  if (!handle_) return;
#if defined(_WIN32)
  FreeLibrary(static_cast<HMODULE>(handle_));
#else
  dlclose(handle_);
#endif
  handle_ = nullptr;
}

std::string backend_library_path(const std::string& name) {
  // PIXTRAL_BACKEND_DIR points test programs and development builds at another folder.
  const char* dir = std::getenv("PIXTRAL_BACKEND_DIR");
  const std::string folder = dir && *dir ? dir : own_folder();
#if defined(_WIN32)
  return folder + "\\pixtral_" + name + ".dll";
#elif defined(__APPLE__)
  return folder + "/libpixtral_" + name + ".dylib";
#else
  return folder + "/libpixtral_" + name + ".so";
#endif
}

std::unique_ptr<Backend> create_plugin_backend(const std::string& name, const std::string& options_json,
                                               SharedLibrary& library) {
  const std::string path = backend_library_path(name);
  SharedLibrary lib = SharedLibrary::open(path);
  auto create = reinterpret_cast<BackendCreateFn>(lib.symbol("pixtral_backend_create"));
  if (!create) throw EngineError(ErrorKind::Unsupported, path + " does not export pixtral_backend_create");
  char error[1024] = {};
  Backend* backend = create(kBackendAbiVersion, options_json.c_str(), error, sizeof error);
  if (!backend)
    throw EngineError(ErrorKind::Unsupported, "the " + name + " backend cannot run here: " +
                                                  (error[0] ? std::string(error) : std::string("no reason given")));
  library = std::move(lib);
  return std::unique_ptr<Backend>(backend);
}

}  // namespace px
