// A native app in a shared object: what `native:/path/libpagi_example_app.so` loads.
// Build your own the same way: include <pagi/app.h>, export the two C functions below.
//   g++ -std=c++20 -O2 -fPIC -shared -I/path/to/pagi-server/include hello_so.cc -o libmyapp.so
//   pagi-server 'native:/abs/path/libmyapp.so?greeting'
#include <pagi/app.h>

#include <string>

namespace {

class GreetingApp final : public pagi::App {
 public:
  GreetingApp(int core, std::string greeting)
      : body_(greeting.empty() ? "Hello from a shared object" : std::move(greeting)) {
    core_ = std::to_string(core);
  }

  void on_request(pagi::Exchange& ex) override {
    const pagi::Header headers[] = {
        {"content-type", "text/plain"},
        {"x-core", core_},
    };
    ex.send_start(200, headers);
    ex.send_body(body_, false);
    ex.finish();
  }

 private:
  std::string body_;
  std::string core_;
};

}  // namespace

extern "C" int pagi_app_abi_version(void) { return pagi::kAbiVersion; }

extern "C" pagi::App* pagi_app_create(const pagi::AppContext* ctx) {
  return new GreetingApp(ctx->core, ctx->argument != nullptr ? ctx->argument : "");
}
