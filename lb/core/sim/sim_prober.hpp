#pragma once
// A Prober on simulated time: each backend is a scripted behaviour (refuse, blackhole, answer
// after a delay, hang, reset, ...) and every event is delivered through the Scheduler, so a check
// engine driven by it runs in microseconds with exact millisecond durations.
#include <functional>
#include <map>
#include <string>

#include "lb/core/check/prober.hpp"
#include "lb/core/time/clock.hpp"

namespace lb::core {

struct SimBehavior {
  enum class Connect { Accept, Refuse, Unreachable, Blackhole };
  enum class Then { Close, Hold, Reset };
  Connect connect = Connect::Accept;
  Ms connect_delay{0};          // SYN to SYN-ACK
  bool answer_on_connect = false;  // a banner protocol: answer without waiting for a request
  Ms answer_delay{0};           // from the request's arrival (or the connect) to the answer
  std::string answer;           // bytes sent back (empty: nothing)
  Then then = Then::Close;      // after the answer: FIN, keep the connection open, or RST
  Ms then_delay{0};             // from the answer to the FIN or RST

  static SimBehavior refuse() { return {Connect::Refuse}; }
  static SimBehavior unreachable() { return {Connect::Unreachable}; }
  static SimBehavior blackhole() { return {Connect::Blackhole}; }
  static SimBehavior hang() { return {.then = Then::Hold}; }
  static SimBehavior reset() { return {.then = Then::Reset}; }
  static SimBehavior http(int status, std::string reason, Ms delay = Ms{0});
};

// Decides how the backend at `target` treats its `attempt`-th connection (1-based).
using SimBackend = std::function<SimBehavior(const ProbeTarget& target, int attempt)>;

class SimProber final : public Prober {
 public:
  explicit SimProber(Scheduler& scheduler) : scheduler_(scheduler) {}
  // Behaviour of a target; targets without one refuse connections.
  void set(const ProbeTarget& target, SimBackend backend);
  void set(const ProbeTarget& target, SimBehavior fixed);
  std::unique_ptr<ProbeConnection> connect(const ProbeTarget& target, ProbeEvents& events) override;

  // What the checks sent, per target, in order (one string per connection).
  const std::vector<std::string>& requests(const ProbeTarget& target) const;
  int attempts(const ProbeTarget& target) const;

 private:
  struct TargetState {
    SimBackend backend;
    int attempts = 0;
    std::vector<std::string> requests;
  };
  class Connection;
  static std::string key(const ProbeTarget& t);

  Scheduler& scheduler_;
  std::map<std::string, TargetState> targets_;
};

}  // namespace lb::core
