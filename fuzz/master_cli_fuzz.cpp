// Any bytes on a master CLI connection (`lb -W -S`): the cutting into commands, the prefixes, the
// level and mode words and the master's own commands never crash or hang, and every step is
// well formed: a command passed on is whole (it ends with a line feed) and goes to the master or
// to a worker the master has; a connection that was told to close stays closed. The first byte
// picks the socket's level; the rest arrives in chunks cut at 0xff bytes. A `reload` the master
// answers itself turns the processes over, as a real reload does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lb/core/api/master_cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lb::core;
  if (size == 0) return 0;
  mcli::Processes procs;
  procs.master_pid = 100;
  procs.workers = {{101, 0, 0, false}};
  int next_pid = 102;
  mcli::Session session(static_cast<cli::Level>(1 + data[0] % 3));
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  bool closed = false;
  while (!rest.empty() && !closed) {
    const auto cut = rest.find('\xff');
    session.feed(rest.substr(0, cut));
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    for (int steps = 0; steps < 100000; ++steps) {
      auto step = session.next(procs);
      using Kind = mcli::Session::Step::Kind;
      if (step.kind == Kind::NeedMore) break;
      if (step.kind == Kind::ReplyAndClose) {
        closed = true;
        break;
      }
      if (step.request.empty() || step.request.back() != '\n') std::abort();
      if (step.target != 0) {
        bool known = false;
        for (const auto& w : procs.workers) known = known || w.pid == step.target;
        if (!known) std::abort();
        continue;  // a worker would answer it
      }
      const auto answer = mcli::master_command(step.request, procs, 1000);
      if (answer.reload) {
        if (!answer.text.empty()) std::abort();
        ++procs.reloads;
        for (auto& w : procs.workers) {
          ++w.reloads;
          w.leaving = true;
        }
        if (procs.workers.size() > 4) procs.workers.erase(procs.workers.begin());
        procs.workers.push_back({next_pid++, 0, 1000, false});
      }
      (void)session.after_answer(procs);
    }
  }
  return 0;
}
