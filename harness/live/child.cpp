#include "harness/live/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace lbh {

namespace {

int shell_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

}  // namespace

Child::~Child() {
  if (pid_ > 0) stop();
  join_reader();
}

Child::Child(Child&& o) noexcept { *this = std::move(o); }

Child& Child::operator=(Child&& o) noexcept {
  if (this == &o) return *this;
  if (pid_ > 0) stop();
  join_reader();
  pid_ = std::exchange(o.pid_, -1);
  status_ = std::exchange(o.status_, std::nullopt);
  out_ = std::move(o.out_);
  reader_ = std::move(o.reader_);
  cursor_ = o.cursor_;
  err_cursor_ = o.err_cursor_;
  endpoints_ = std::move(o.endpoints_);
  return *this;
}

void Child::join_reader() {
  if (reader_.joinable()) reader_.join();
}

Child Child::start(const std::string& bin, const std::vector<std::string>& args, ChildOptions opts) {
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  Child c;
  // fork + exec rather than posix_spawn: only the child itself can ask for PR_SET_PDEATHSIG, so a
  // test binary that crashes or is killed takes its servers with it instead of leaving them
  // running. Between fork and exec only async-signal-safe calls.
  c.pid_ = ::fork();
  if (c.pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execv(bin.c_str(), argv.data());
    const int err = errno;
    (void)!::write(exec_pipe[1], &err, sizeof err);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);
  int exec_errno = 0;
  if (c.pid_ > 0) {
    // EOF (exec succeeded, the CLOEXEC end closed) or the errno of a failed exec.
    ssize_t n;
    while ((n = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(sizeof exec_errno)) exec_errno = 0;
  }
  ::close(exec_pipe[0]);
  if (c.pid_ < 0 || exec_errno != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    if (c.pid_ > 0) {
      int st = 0;
      ::waitpid(c.pid_, &st, 0);
    }
    c.pid_ = -1;
    throw std::runtime_error("spawn " + bin + ": " + std::strerror(exec_errno ? exec_errno : fork_errno));
  }
  c.out_ = std::make_shared<Output>();
  // One thread drains both pipes so a chatty child never blocks on a full pipe.
  c.reader_ = std::thread([out = c.out_, ofd = out_pipe[0], efd = err_pipe[0]] {
    pollfd fds[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
    char buf[4096];
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        std::lock_guard lock(out->mu);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          (i == 0 ? out->out_eof : out->err_eof) = true;
          if (i == 0 && !out->partial.empty()) out->lines.push_back(std::move(out->partial));
        } else if (i == 1) {
          out->err.append(buf, static_cast<std::size_t>(n));
          out->err_partial.append(buf, static_cast<std::size_t>(n));
          const auto now = std::chrono::steady_clock::now();
          for (auto nl = out->err_partial.find('\n'); nl != std::string::npos; nl = out->err_partial.find('\n')) {
            out->err_lines.push_back({now, out->err_partial.substr(0, nl)});
            out->err_partial.erase(0, nl + 1);
          }
        } else {
          out->partial.append(buf, static_cast<std::size_t>(n));
          for (auto nl = out->partial.find('\n'); nl != std::string::npos; nl = out->partial.find('\n')) {
            out->lines.push_back(out->partial.substr(0, nl));
            out->partial.erase(0, nl + 1);
          }
        }
        out->cv.notify_all();
      }
    }
  });

  if (!opts.ready_line.empty()) {
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    std::unique_lock lock(c.out_->mu);
    std::size_t seen = 0;
    bool ready = false;
    while (!ready) {
      for (; seen < c.out_->lines.size(); ++seen) {
        const std::string& line = c.out_->lines[seen];
        if (line == opts.ready_line) {
          ready = true;
          break;
        }
        if (line.starts_with("listening ")) {
          const std::string rest = line.substr(10);
          const auto sp = rest.find(' ');
          const std::string name = sp == std::string::npos ? std::string() : rest.substr(0, sp);
          const std::string where = sp == std::string::npos ? rest : rest.substr(sp + 1);
          // A frontend's first TCP listener names it; a UNIX or socket-pair one ("unix@PATH",
          // "abns@NAME", "sockpair@N") only when it has no TCP one.
          const bool tcp = where.find('@') == std::string::npos;
          const auto known = c.endpoints_.find(name);
          if (known == c.endpoints_.end() || (tcp && known->second.find('@') != std::string::npos))
            c.endpoints_[name] = where;
        }
      }
      if (ready) break;
      if (c.out_->out_eof ||
          c.out_->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
        const bool eof = c.out_->out_eof;
        lock.unlock();
        // Give stderr a moment to arrive when the child died: it says why.
        if (eof) c.wait_exit(1s);
        const std::string err = c.stderr_text();
        const std::string why = eof ? "exited before '" : "no '";
        throw std::runtime_error(why + opts.ready_line + "' from " + bin + "; stderr:\n" + err);
      }
    }
  }
  return c;
}

std::string Child::address(std::string_view name) const {
  const auto it = endpoints_.find(name);
  if (it == endpoints_.end()) throw std::runtime_error("no 'listening' line for '" + std::string(name) + "'");
  if (it->second.find('@') != std::string::npos) return it->second;  // a UNIX socket or a socket pair
  const auto colon = it->second.rfind(':');
  std::string host = it->second.substr(0, colon);
  if (host.starts_with('[')) host = host.substr(1, host.size() - 2);
  return host;
}

int Child::port(std::string_view name) const {
  const auto it = endpoints_.find(name);
  if (it == endpoints_.end()) throw std::runtime_error("no 'listening' line for '" + std::string(name) + "'");
  if (it->second.find('@') != std::string::npos)
    throw std::runtime_error("'" + std::string(name) + "' listens on " + it->second + ", not on a TCP port");
  return std::stoi(it->second.substr(it->second.rfind(':') + 1));
}

std::optional<std::string> Child::await_line(std::string_view substr, std::chrono::milliseconds timeout) {
  return await_in(false, substr, timeout);
}

std::optional<std::string> Child::await_stderr(std::string_view substr, std::chrono::milliseconds timeout) {
  return await_in(true, substr, timeout);
}

std::optional<std::string> Child::await_in(bool err, std::string_view substr, std::chrono::milliseconds timeout) {
  if (!out_) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(out_->mu);
  std::size_t& cursor = err ? err_cursor_ : cursor_;
  auto next = [&]() -> std::optional<std::string> {
    const std::size_t n = err ? out_->err_lines.size() : out_->lines.size();
    for (; cursor < n; ++cursor) {
      const std::string& line = err ? out_->err_lines[cursor].text : out_->lines[cursor];
      if (line.find(substr) != std::string::npos) return err ? out_->err_lines[cursor++].text : out_->lines[cursor++];
    }
    return std::nullopt;
  };
  while (true) {
    if (auto line = next()) return line;
    if (err ? out_->err_eof : out_->out_eof) return std::nullopt;
    // One last look on timeout: lines may have arrived with it.
    if (out_->cv.wait_until(lock, deadline) == std::cv_status::timeout) return next();
  }
}

std::vector<std::string> Child::stdout_lines() const {
  if (!out_) return {};
  std::lock_guard lock(out_->mu);
  return out_->lines;
}

std::string Child::stderr_text() const {
  if (!out_) return {};
  std::lock_guard lock(out_->mu);
  return out_->err;
}

std::vector<Child::TimedLine> Child::stderr_lines() const {
  if (!out_) return {};
  std::lock_guard lock(out_->mu);
  return out_->err_lines;
}

bool Child::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = shell_status(st);
    return false;
  }
  return true;
}

void Child::reap_blocking_until(std::chrono::steady_clock::time_point deadline) {
  // Bounded polling: waitpid has no timeout, and a SIGCHLD handler would be process-global.
  auto step = std::chrono::milliseconds(1);
  while (running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(20));
  }
}

std::optional<int> Child::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  reap_blocking_until(std::chrono::steady_clock::now() + timeout);
  // Once the process is gone its pipes reach EOF: collect everything it wrote before answering.
  if (status_) join_reader();
  return status_;
}

int Child::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, SIGTERM);
    reap_blocking_until(std::chrono::steady_clock::now() + grace);
    if (running()) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      if (::waitpid(pid_, &st, 0) == pid_) status_ = shell_status(st);
    }
  }
  pid_ = -1;
  join_reader();
  return status_.value_or(-1);
}

}  // namespace lbh
