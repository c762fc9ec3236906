#pragma once
// Run-time name resolution as HAProxy 2.6 does it for servers with `resolvers` (src/resolvers.c
// and the snr_* callbacks of src/server.c): one resolution per name and resolvers section,
// shared by the servers that use it; a query every `timeout resolve`, resent after `timeout
// retry` up to `resolve_retries` times, falling back once from the preferred family's type to
// the other's; the `hold` periods before a failing name takes its servers into maintenance; the
// address choice that keeps a current address and spreads servers of one backend over the
// answer's addresses. Time and the network are injected, so lb and the simulator run this same
// code: lb/net sends the queries over UDP, the simulator hands them to mockserver's responder.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/core/check/check_engine.hpp"
#include "lb/core/config/model.hpp"
#include "lb/core/log/log_lines.hpp"
#include "lb/core/time/clock.hpp"

namespace lb::core {

// Carries queries to the nameservers of a resolvers section. Replies come back through
// ServerResolution::on_reply, later, from the caller's loop; never from inside send().
class DnsTransport {
 public:
  virtual ~DnsTransport() = default;
  // Returns whether the query left (HAProxy counts only those as sent).
  virtual bool send(std::size_t section, std::size_t nameserver, std::string_view query) = 0;
};

// What resolution decided about one server; the caller applies it to the check engine and to
// the traffic side (Backends), and logs `line`.
struct ResolutionEvent {
  enum class Kind {
    AddressChanged,  // `address` (and an SRV record's `port`) are the server's; `line`: the changed-IP line
    AddressLost,     // the name failed past its hold (or has no address): maintenance, `cause`
    AddressValid,    // a valid answer after maintenance: the server leaves it, then `line`
    FqdnChanged,     // an SRV record named the slot's target; `line` goes to log targets only
  };
  Kind kind = Kind::AddressChanged;
  ServerKey key;
  std::string address;
  std::optional<std::uint16_t> port;
  std::string cause;
  std::optional<LogLine> line;
  std::string hostname;  // AddressValid: the name the line quotes (an SRV slot's target)
};
using ResolutionSink = std::function<void(const ResolutionEvent&)>;

// How HAProxy draws query ids (a xorshift seeded from the clock); injected so tests can pin it.
using QueryIdSource = std::function<std::uint16_t()>;

class ServerResolution {
 public:
  // `addresses[proxy][server]` is each server's address after `init-addr` (nullopt: none, the
  // server starts in maintenance). `config`, `scheduler` and `transport` outlive this object.
  ServerResolution(const Config& config, const std::vector<std::vector<std::optional<std::string>>>& addresses,
                   Scheduler& scheduler, DnsTransport& transport, ResolutionSink sink, QueryIdSource ids = {});
  ~ServerResolution();
  ServerResolution(const ServerResolution&) = delete;
  ServerResolution& operator=(const ServerResolution&) = delete;

  // Every resolvers section starts resolving at once, as HAProxy wakes them at start-up.
  void start();
  // A datagram from nameserver `nameserver` of section `section`.
  void on_reply(std::size_t section, std::size_t nameserver, std::string_view bytes);

  // The engine's events: a check that could not connect (Layer4) asks for a resolution now,
  // unless one is running or the last valid answer is younger than `hold valid`.
  void on_health_event(const HealthEvent& e);

  // Whether any server resolves at run time (no section, nothing to run).
  bool active() const;
  // The server's current address as resolution knows it (nullopt: none, or not resolved here).
  std::optional<std::string> address(ServerKey key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What an event does to the engine (checks, maintenance) and to the traffic side (where requests
// connect); lb and the simulator both apply events through this, then log `event.line`.
class Backends;
void apply_resolution_event(const ResolutionEvent& event, CheckEngine& engine, Backends& backends);

// The engine starts servers that `init-addr` left without an address in maintenance, as HAProxy
// does (silently: it logs nothing while starting); routing follows through the engine's events.
void start_in_maintenance(const Config& config, CheckEngine& engine);

// The configuration as the engine and the traffic side run it: each server's host is the
// address `init-addr` gave it ("" for none), since they only ever see address literals.
Config with_start_addresses(Config config);

// Each server's address after `init-addr`, [proxy][server], as ServerResolution takes them.
std::vector<std::vector<std::optional<std::string>>> start_addresses(const Config& config);

// The wire form of HAProxy's query: recursion desired, one question, an EDNS0 OPT record
// announcing `payload` bytes.
std::string build_query(std::uint16_t id, std::uint16_t type, std::string_view name, std::uint16_t payload);

}  // namespace lb::core
