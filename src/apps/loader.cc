// Native app specs: built-ins by name, or a user's shared object through the two C symbols
// of include/pagi/app.h.
#include <dlfcn.h>

#include <string>

#include "apps/app_factory.h"
#include "apps/builtin.h"

namespace pagi::apps {

bool is_native_spec(std::string_view spec) { return spec.substr(0, 7) == "native:"; }

AppFactory make_native_factory(std::string_view spec, std::string* error) {
  std::string_view name = spec.substr(7);
  if (name == "hello") {
    return [](int, int, ring::Reactor&, std::string*) { return make_hello_app(); };
  }
  if (name == "echo") {
    return [](int, int, ring::Reactor&, std::string*) { return make_echo_app(); };
  }
  if (name.empty() || name.front() != '/') {
    *error = "unknown native app '" + std::string(spec) +
             "': use native:hello, native:echo or native:/absolute/path/libapp.so";
    return {};
  }
  std::string path(name);
  std::string argument;
  if (size_t q = path.find('?'); q != std::string::npos) {
    argument = path.substr(q + 1);
    path.resize(q);
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = "cannot load native app " + path + ": " + (why ? why : "unknown error");
    return {};
  }
  auto version = reinterpret_cast<pagi_app_abi_version_fn>(dlsym(handle, "pagi_app_abi_version"));
  auto create = reinterpret_cast<pagi_app_create_fn>(dlsym(handle, "pagi_app_create"));
  if (version == nullptr || create == nullptr) {
    *error = "native app " + path +
             " does not export pagi_app_abi_version and pagi_app_create (see include/pagi/app.h)";
    dlclose(handle);
    return {};
  }
  if (int v = version(); v != kAbiVersion) {
    *error = "native app " + path + " was built for ABI " + std::to_string(v) +
             ", this server has ABI " + std::to_string(kAbiVersion);
    dlclose(handle);
    return {};
  }
  // The handle stays open for the life of the process: per-core apps live until exit.
  return [create, argument](int core, int cores, ring::Reactor&,
                            std::string* err) -> std::unique_ptr<App> {
    AppContext ctx{kAbiVersion, core, cores, argument.c_str()};
    App* app = create(&ctx);
    if (app == nullptr) *err = "pagi_app_create returned null";
    return std::unique_ptr<App>(app);
  };
}

}  // namespace pagi::apps
