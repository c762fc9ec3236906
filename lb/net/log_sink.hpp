#pragma once
// Where lb's log lines go: each proxy's `log` targets (stdout, stderr, UDP syslog, a unix
// datagram socket such as /dev/log), framed as HAProxy frames them, plus in the foreground
// HAProxy's stderr copies of server-state lines ("[WARNING]  (pid) : ...").
#include <memory>
#include <string>
#include <string_view>

#include "lb/core/config/model.hpp"
#include "lb/core/log/log_lines.hpp"

namespace boost::asio {
class io_context;
}

namespace lb::net {

struct LogIdentity {
  std::string tag;       // program name (HAProxy's default log-tag)
  int pid = 0;
  std::string hostname;  // the machine's name, for a `log-send-hostname` that names none
  int startup_pid = 0;   // names the start-up warnings (a master's pid); 0: `pid`
};

class LogSink {
 public:
  // `foreground`: also print server-state lines on stderr, as haproxy does unless -q or daemon.
  LogSink(const core::Config& config, boost::asio::io_context& io, LogIdentity who, bool foreground);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // A server-state line (UP/DOWN/no server available/health check) of proxy `proxy`.
  void server_state(std::size_t proxy, const core::LogLine& line);
  // A line of proxy `proxy`'s own log: traffic (option httplog/tcplog), and the events HAProxy
  // sends there (a frontend reaching the FD limit).
  void traffic(std::size_t proxy, core::Severity severity, std::string_view text);
  // Whether proxy `proxy` has a log target at all (its own `log` lines or `log global`).
  bool logs(std::size_t proxy) const;
  // A process message: stderr with HAProxy's "[LEVEL]" prefix, and the global log targets.
  void process(core::Severity severity, std::string_view text);
  // A warning of the start-up, before HAProxy's log targets exist (the server-state loader):
  // stderr only, "[WARNING]  (pid) : config : text".
  void startup_warning(std::string_view text);
  // A line of stderr only, in the foreground: "[WARNING]  (pid) : text".
  void foreground_only(const core::LogLine& line);
  // A bare line of stderr in the foreground, as haproxy's qfprintf() prints one ("Cannot get a
  // server socket.").
  void foreground_text(std::string_view text);
  // A connect() of backend `backend` that failed for want of local resources
  // (core::ConnectFailure): "Connect() failed for backend B: WHY." on stderr in the foreground,
  // then at err in the backend's log. Returns the errno text HAProxy's check finds after that
  // log line: "Inappropriate ioctl for device" when it was the first line written to a stdout,
  // stderr or fd@ target that is no terminal (HAProxy's log writer asks isatty() then), else "".
  std::string connect_failed(std::size_t backend, std::string_view reason);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::net
