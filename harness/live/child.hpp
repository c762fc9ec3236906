#pragma once
// A child process (a balancer, a mockserver) for the live worlds and the integration tests:
// started with a deadline for its readiness line, its stdout read line by line (awaited with
// deadlines, never slept on), its stderr kept whole and as lines stamped with their arrival. The destructor stops it: SIGTERM, reap with a deadline, then SIGKILL. Should the test
// process die first (crash, SIGKILL), the child gets SIGTERM from the kernel (PR_SET_PDEATHSIG):
// start children from a thread that lives as long as they do, such as the test's own thread.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lbh {

using namespace std::chrono_literals;

struct ChildOptions {
  std::string ready_line = "ready";  // a stdout line equal to this means started; "" = don't wait
  std::chrono::milliseconds timeout = 10s;
};

class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;

  // Starts `bin` with `args` and waits for the ready line. Throws std::runtime_error with the
  // child's stderr when it exits or misses the deadline first.
  static Child start(const std::string& bin, const std::vector<std::string>& args,
                     ChildOptions opts = {});

  // Endpoints announced before readiness as "listening NAME ADDR:PORT" or "listening ADDR:PORT"
  // (name ""); a name with several listeners keeps its first TCP one. Throws when `name` was not
  // announced, and port() when it listens only on a UNIX socket or a socket pair.
  std::string address(std::string_view name = "") const;  // "127.0.0.1", or "unix@PATH"
  int port(std::string_view name = "") const;
  const std::map<std::string, std::string, std::less<>>& endpoints() const { return endpoints_; }

  // The next stdout line (after those already returned by await_line) containing `substr`;
  // nullopt on timeout or EOF. Lines before readiness are searched too.
  std::optional<std::string> await_line(std::string_view substr, std::chrono::milliseconds timeout);
  // The same for stderr lines, with a cursor of their own.
  std::optional<std::string> await_stderr(std::string_view substr, std::chrono::milliseconds timeout);
  std::vector<std::string> stdout_lines() const;
  std::string stderr_text() const;
  struct TimedLine {
    std::chrono::steady_clock::time_point at;  // when the line's end arrived
    std::string text;
  };
  std::vector<TimedLine> stderr_lines() const;

  bool running();
  pid_t pid() const { return pid_; }
  // SIGTERM, then wait up to `grace`, then SIGKILL. Returns the exit status as a shell would
  // ($? value: code, or 128+signal); -1 when there was no process.
  int stop(std::chrono::milliseconds grace = 3s);
  // Waits up to `timeout` for the process to exit by itself; same value as stop(), nullopt if still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  struct Output {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> lines;
    std::string partial;
    std::string err;
    std::string err_partial;
    std::vector<TimedLine> err_lines;
    bool out_eof = false;
    bool err_eof = false;
  };
  void reap_blocking_until(std::chrono::steady_clock::time_point deadline);
  void join_reader();

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::shared_ptr<Output> out_;
  std::thread reader_;
  std::optional<std::string> await_in(bool err, std::string_view substr, std::chrono::milliseconds timeout);
  std::size_t cursor_ = 0;
  std::size_t err_cursor_ = 0;
  std::map<std::string, std::string, std::less<>> endpoints_;
};

}  // namespace lbh
