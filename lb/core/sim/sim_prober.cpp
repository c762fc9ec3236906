#include "lb/core/sim/sim_prober.hpp"

#include <fmt/format.h>

#include <memory>

namespace lb::core {

SimBehavior SimBehavior::http(int status, std::string reason, Ms delay) {
  SimBehavior b;
  b.answer_delay = delay;
  b.answer = fmt::format("HTTP/1.1 {}{}{}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", status,
                         reason.empty() ? "" : " ", reason);
  return b;
}

class SimProber::Connection final : public ProbeConnection {
 public:
  Connection(Scheduler& s, TargetState& target, SimBehavior b, ProbeEvents& ev)
      : scheduler_(s), target_(target), slot_(target.requests.size()), behavior_(std::move(b)), events_(ev) {
    target_.requests.emplace_back();
    switch (behavior_.connect) {
      case SimBehavior::Connect::Refuse:
        later(Ms{0}, [this] { events_.on_error("Connection refused"); });
        return;
      case SimBehavior::Connect::Unreachable:
        later(Ms{0}, [this] { events_.on_error("No route to host"); });
        return;
      case SimBehavior::Connect::Blackhole: return;  // the SYN is never answered
      case SimBehavior::Connect::Accept: break;
    }
    later(behavior_.connect_delay, [this] {
      const auto alive = alive_;
      events_.on_connected();
      if (*alive && behavior_.answer_on_connect) answer();
    });
  }
  // The pending steps' timers go with the connection, so nothing fires after this.
  ~Connection() override { *alive_ = false; }

  void send(std::string_view bytes) override {
    // Connections to one target may overlap: each writes to its own slot.
    auto& request = target_.requests[slot_];
    const bool first = request.empty();
    request += bytes;
    if (first && !behavior_.answer_on_connect) answer();
  }

 private:
  void answer() {
    later(behavior_.answer_delay, [this] {
      const auto alive = alive_;
      // A reset right behind the answer comes in the same read.
      if (behavior_.then == SimBehavior::Then::Reset && behavior_.then_delay.count() == 0 && !behavior_.answer.empty())
        return events_.on_data_then_error(behavior_.answer, "Connection reset by peer");
      if (!behavior_.answer.empty()) events_.on_data(behavior_.answer);
      if (!*alive) return;  // the engine may close the connection from inside on_data
      later(behavior_.then_delay, [this] {
        switch (behavior_.then) {
          case SimBehavior::Then::Close: return events_.on_peer_closed();
          case SimBehavior::Then::Reset: return events_.on_error("Connection reset by peer");
          case SimBehavior::Then::Hold: return;
        }
      });
    });
  }

  // Each step is a timer owned by this connection: destroying the connection cancels them.
  template <class F>
  void later(Ms delay, F f) {
    steps_.push_back(scheduler_.make_timer(std::move(f)));
    steps_.back()->arm_at(scheduler_.now() + delay);
  }

  Scheduler& scheduler_;
  TargetState& target_;
  std::size_t slot_;
  SimBehavior behavior_;
  ProbeEvents& events_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<std::unique_ptr<Timer>> steps_;
};

std::string SimProber::key(const ProbeTarget& t) { return fmt::format("{}:{}", t.host, t.port); }

void SimProber::set(const ProbeTarget& target, SimBackend backend) { targets_[key(target)].backend = std::move(backend); }

void SimProber::set(const ProbeTarget& target, SimBehavior fixed) {
  set(target, [fixed](const ProbeTarget&, int) { return fixed; });
}

std::unique_ptr<ProbeConnection> SimProber::connect(const ProbeTarget& target, ProbeEvents& events) {
  auto& t = targets_[key(target)];
  ++t.attempts;
  const SimBehavior b = t.backend ? t.backend(target, t.attempts) : SimBehavior::refuse();
  return std::make_unique<Connection>(scheduler_, t, b, events);
}

const std::vector<std::string>& SimProber::requests(const ProbeTarget& target) const {
  static const std::vector<std::string> kNone;
  const auto it = targets_.find(key(target));
  return it == targets_.end() ? kNone : it->second.requests;
}

int SimProber::attempts(const ProbeTarget& target) const {
  const auto it = targets_.find(key(target));
  return it == targets_.end() ? 0 : it->second.attempts;
}

}  // namespace lb::core
