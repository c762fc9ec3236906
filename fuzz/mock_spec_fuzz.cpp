// Spec files, control-API bodies and --rule lines: every decoder that reads outside input, fed
// the same bytes. Decoded rules are then compiled and run once, so what decodes also evaluates.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mockserver/core/admin.hpp"
#include "mockserver/core/cli.hpp"
#include "mockserver/core/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mock::core;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)decode_spec_text(text);
  (void)parse_rule_arg(text);
  (void)parse_fault_arg(text);

  World w(8);
  w.listeners.push_back(std::make_unique<Listener>(ListenerSpec{.name = "s1"}, TimePoint{}));
  const std::pair<const char*, const char*> calls[] = {
      {"PUT", "/v1/listeners/s1/rules"},  {"POST", "/v1/listeners/s1/rules"},
      {"PATCH", "/v1/listeners/s1"},      {"PUT", "/v1/listeners/s1/fault"},
  };
  for (const auto& [method, target] : calls) (void)handle_admin(w, method, target, text, TimePoint{});
  const std::string query = "/v1/journal?" + std::string(text.substr(0, 512));
  (void)handle_admin(w, "GET", query, {}, TimePoint{});
  (void)handle_admin(w, "GET", "/v1/wait?" + std::string(text.substr(0, 512)), {}, TimePoint{});

  RequestParser p;
  for (std::string_view req : {"GET / HTTP/1.1\r\nX: 1\r\n\r\n", "OPTIONS / HTTP/1.0\r\n\r\n"}) {
    if (p.parse(req).status != ParseStatus::Done) continue;
    Decision d;
    Listener& l = *w.listeners.front();
    (void)l.on_accept(TimePoint{});
    l.on_request(p.request(), TimePoint{}, d);
    (void)l.mode_at(TimePoint{});
    (void)l.next_mode_change(TimePoint{});
  }
  (void)p.parse(text);
  return 0;
}
