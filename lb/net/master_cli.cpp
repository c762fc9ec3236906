#include "lb/net/master_cli.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "lb/net/listen_sockets.hpp"
#include "lb/net/startup.hpp"

namespace lb::net {
namespace {

constexpr std::size_t kMaxPendingOutput = 64 * 1024;
// HAProxy's MASTER proxy serves 10 connections at a time, and its listeners' backlog is that
// maxconn: the next ones wait in the kernel, then are refused (cli.c, mworker_cli_proxy_create).
constexpr std::size_t kMaxClients = 10;
constexpr int kBacklog = static_cast<int>(kMaxClients);


void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A listening socket for `s`; -1 with errno set when it cannot be had.
int listen_on(const core::mcli::MasterSocket& s) {
  if (!s.path.empty()) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (s.path.size() >= sizeof(a.sun_path)) {
      errno = ENAMETOOLONG;
      return -1;
    }
    std::memcpy(a.sun_path, s.path.data(), s.path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    ::unlink(s.path.c_str());  // as HAProxy replaces the file an earlier master left
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, kBacklog) != 0 ||
        (s.mode && ::chmod(s.path.c_str(), static_cast<mode_t>(*s.mode)) != 0)) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    return fd;
  }
  sockaddr_storage a{};
  socklen_t len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&a); ::inet_pton(AF_INET, s.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(s.port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&a); ::inet_pton(AF_INET6, s.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(s.port);
    len = sizeof(sockaddr_in6);
  } else {
    errno = EINVAL;
    return -1;
  }
  const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), len) != 0 || ::listen(fd, kBacklog) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

}  // namespace

struct MasterCli::Client {
  explicit Client(int f, core::cli::Level level) : fd(f), session(level) {}
  int fd;
  core::mcli::Session session;
  std::string out;     // waiting to be written to the client
  int worker = -1;     // the socket a worker answers the current command on
  bool eof = false;    // the client sent all it will send
  bool closing = false;  // close once `out` is written
  bool dead = false;
};

std::int64_t MasterCli::now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

MasterCli::MasterCli(Hooks hooks) : hooks_(std::move(hooks)) {}
MasterCli::~MasterCli() {
  for (auto& c : clients_) close_client(*c);
  for (auto& l : listeners_) close_fd(l.fd);
}

bool MasterCli::bind(const std::vector<core::mcli::MasterSocket>& sockets) {
  bool ok = true;
  for (const auto& s : sockets) {
    const int fd = listen_on(s);
    if (fd < 0) {
      const std::string why = std::strerror(errno);
      say("ALERT", s.path.empty() ? fmt::format("Binding [master-socket:0] for proxy MASTER: cannot bind socket ({}) for [{}:{}]",
                                                why, s.host, s.port)
                                  : fmt::format("Binding [master-socket:0] for proxy MASTER: cannot bind UNIX socket ({}) [{}]",
                                                why, s.path));
      ok = false;
      continue;
    }
    listeners_.push_back({fd, s});
  }
  if (!ok) say("ALERT", "[lb.main()] Some protocols failed to start their listeners! Exiting.");
  return ok;
}

void MasterCli::poll_fds(std::vector<pollfd>& fds) const {
  // A full master leaves its listeners out (-1: poll() ignores them, errors included).
  const bool accepting = clients_.size() < kMaxClients;
  for (const auto& l : listeners_) fds.push_back({accepting ? l.fd : -1, POLLIN, 0});
  for (const auto& c : clients_) {
    // Answers not yet taken by the client hold its next commands back, as HAProxy's buffers do.
    const bool reading = c->worker < 0 && !c->closing && !c->eof && c->out.size() < kMaxPendingOutput;
    fds.push_back({c->fd, static_cast<short>((reading ? POLLIN : 0) | (c->out.empty() ? 0 : POLLOUT)), 0});
    fds.push_back({c->worker, POLLIN, 0});  // -1: ignored by poll()
  }
}

bool MasterCli::handle(const pollfd* fds, std::size_t count) {
  std::size_t i = 0;
  std::vector<const Listener*> ready;
  for (const auto& l : listeners_)
    if (i < count && (fds[i++].revents & POLLIN)) ready.push_back(&l);
  std::vector<Client*> polled;
  for (auto& c : clients_) polled.push_back(c.get());
  for (Client* c : polled) {
    if (i + 2 > count) break;
    const short client_events = fds[i].revents, worker_events = fds[i + 1].revents;
    i += 2;
    if (c->worker >= 0 && worker_events) {
      std::array<char, 16384> buf;
      const ssize_t n = ::read(c->worker, buf.data(), buf.size());
      if (n > 0) {
        c->out.append(buf.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(c->worker);  // the answer is whole
        c->out += c->session.after_answer(hooks_.processes());
        progress(*c);
      }
    }
    if (c->eof && (client_events & (POLLHUP | POLLERR))) {
      c->dead = true;  // gone both ways: nothing it asked for can reach it
      continue;
    }
    if (client_events & (POLLIN | POLLHUP | POLLERR)) {
      std::array<char, 4096> buf;
      const ssize_t n = ::read(c->fd, buf.data(), buf.size());
      if (n > 0) {
        c->session.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      } else if (n == 0) {
        c->eof = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        c->dead = true;
      }
      if (!c->dead) progress(*c);
    }
    if (!c->dead && !c->out.empty() && (client_events & POLLOUT)) {
      const ssize_t n = ::send(c->fd, c->out.data(), c->out.size(), MSG_NOSIGNAL);
      if (n > 0) c->out.erase(0, static_cast<std::size_t>(n));
      else if (n < 0 && errno != EAGAIN && errno != EINTR) c->dead = true;
    }
    if (c->closing && c->out.empty()) c->dead = true;
  }
  for (auto it = clients_.begin(); it != clients_.end();) {
    if ((*it)->dead) {
      close_client(**it);
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto* l : ready) accept_from(*l);
  return std::exchange(reload_, false);
}

void MasterCli::accept_from(const Listener& l) {
  while (clients_.size() < kMaxClients) {
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    clients_.push_back(std::make_unique<Client>(fd, l.config.level));
  }
}

// Runs the session's commands until one waits for a worker, more bytes, or the end.
void MasterCli::progress(Client& c) {
  using Kind = core::mcli::Session::Step::Kind;
  while (c.worker < 0 && !c.closing) {
    const auto processes = hooks_.processes();
    auto step = c.session.next(processes);
    c.out += step.text;
    if (step.kind == Kind::NeedMore) {
      if (c.eof) c.closing = true;
      return;
    }
    if (step.kind == Kind::ReplyAndClose) {
      c.closing = true;
      return;
    }
    if (step.target == 0) {
      const auto answer = core::mcli::master_command(step.request, processes, now_s());
      if (answer.reload) {
        reload_ = true;  // the master reloads: drop_clients() ends this connection with the others
        c.closing = true;
        return;
      }
      c.out += answer.text + c.session.after_answer(processes);
      continue;
    }
    const int channel = hooks_.channel_of(step.target);
    std::array<int, 2> pair{-1, -1};
    if (channel < 0 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) != 0 ||
        !send_descriptor(channel, "cli", pair[1])) {
      close_fd(pair[0]);
      close_fd(pair[1]);
      c.out += "Can't connect to the target CLI!\n";
      c.closing = true;
      return;
    }
    close_fd(pair[1]);
    // One write of one command: the worker reads it whole, answers and closes.
    if (::send(pair[0], step.request.data(), step.request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(step.request.size())) {
      close_fd(pair[0]);
      c.out += "Can't connect to the target CLI!\n";
      c.closing = true;
      return;
    }
    // Nothing more goes to that worker, as HAProxy's master shuts its side after a command: a
    // worker still waiting for the rest of a command or its payload then ends unanswered.
    ::shutdown(pair[0], SHUT_WR);
    c.worker = pair[0];
  }
}

void MasterCli::close_client(Client& c) {
  close_fd(c.worker);
  close_fd(c.fd);
}

void MasterCli::drop_clients() {
  for (auto& c : clients_) close_client(*c);
  clients_.clear();
}

void MasterCli::close_in_child() {
  for (auto& c : clients_) close_client(*c);
  clients_.clear();
  for (auto& l : listeners_) close_fd(l.fd);
  listeners_.clear();
}

void MasterCli::stop() {
  for (auto& c : clients_) close_client(*c);
  clients_.clear();
  for (auto& l : listeners_) {
    close_fd(l.fd);
    if (!l.config.path.empty()) ::unlink(l.config.path.c_str());
  }
  listeners_.clear();
}

}  // namespace lb::net
