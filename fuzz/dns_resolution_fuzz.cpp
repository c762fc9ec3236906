// Any bytes as the nameservers' replies to lb's resolvers: the resolution state machine (answer
// judging, A/AAAA choice, SRV slots and their additional records, holds and maintenance) never
// crashes or hangs. The input is a list of replies, each a 2-byte length and its bytes; each is
// given the id of the query in flight (so it reaches the judge rather than being dropped as
// outdated) and delivered, with simulated time moving on between them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "lb/core/config/parser.hpp"
#include "lb/core/dns/resolution.hpp"

namespace {

constexpr std::string_view kConfig = R"(resolvers dns
    nameserver ns1 127.0.0.1:5353
    nameserver ns2 127.0.0.1:5354
    resolve_retries 2
    timeout resolve 100ms
    timeout retry 50ms
    hold nx 100ms
    hold other 100ms
    hold obsolete 50ms
backend apps
    server a app.lbh.test:80 check resolvers dns init-addr none
    server b app.lbh.test:80 check resolvers dns init-addr 127.0.0.9 resolve-prefer ipv4 resolve-net 10.0.0.0/8
    server-template s 3 _http._tcp.app.lbh.test check resolvers dns init-addr none
)";

struct Capture final : lb::core::DnsTransport {
  std::string last_id = std::string(2, '\0');
  bool send(std::size_t, std::size_t, std::string_view query) override {
    if (query.size() >= 2) last_id = std::string(query.substr(0, 2));
    return true;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto parsed = lb::core::parse_config(kConfig, "fuzz.cfg");
  if (!parsed.ok()) std::abort();
  lb::core::SimScheduler sched;
  Capture ns;
  std::uint16_t id = 0;
  lb::core::ServerResolution r(parsed.config, lb::core::start_addresses(parsed.config), sched, ns, {},
                               [&id] { return ++id; });
  r.start();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int n = 0; n < 64 && in.size() >= 2; ++n) {
    const std::size_t len = (static_cast<unsigned char>(in[0]) << 8 | static_cast<unsigned char>(in[1])) % 1024;
    in.remove_prefix(2);
    std::string reply(in.substr(0, len));
    in.remove_prefix(std::min(len, in.size()));
    if (reply.size() >= 2) reply.replace(0, 2, ns.last_id);
    r.on_reply(0, n % 2, reply);
    sched.advance(lb::core::Ms{(len % 7) * 10});
  }
  sched.advance(lb::core::Ms{1000});
  return 0;
}
