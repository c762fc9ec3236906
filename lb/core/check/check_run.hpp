#pragma once
// One check attempt as a pure conversation: the edge (lb/net, or the simulator) reports what
// happened on the connection, CheckRun answers with bytes to send and, eventually, the result.
// It knows the check ruleset (plain connect, option httpchk + http-check, option tcp-check) and
// classifies exactly as HAProxy 2.6 does. Durations are filled in by the caller (the engine).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lb/core/check/status.hpp"
#include "lb/core/config/model.hpp"

namespace lb::core {

struct CheckStep {
  std::string send;                   // bytes to write now (may be empty)
  std::optional<CheckResult> result;  // set once the check is decided; later events are ignored
  // A later `tcp-check connect` rule: close this connection and open a new one, to this port
  // (0: the server's check port); on_connected() then goes on with the next rule.
  std::optional<std::uint16_t> reconnect;
};

// The bytes HAProxy 2.6 writes for `option httpchk` / `http-check send`: header names
// lower-cased, `content-length` only with a body, `connection: close` only for HTTP/1.1 and
// later when no Connection header was given; headers with an empty value are not sent.
std::string build_http_check_request(const HttpCheckRequest& request);

// A CheckSpec made ready to run: status lists parsed, hex decoded, regexes compiled (as
// lb::core::Regex: bounded, a pattern that does not compile matches nothing), request bytes
// built. It is immutable, so one instance serves every attempt of every server sharing the spec.
struct CompiledCheck;
std::shared_ptr<const CompiledCheck> compile_check(const CheckSpec& spec);

class CheckRun {
 public:
  // `server_up`: whether the server is currently UP (http-check disable-on-404 only turns a
  // 404 into L7OKC for an UP server).
  CheckRun(std::shared_ptr<const CompiledCheck> check, bool server_up);
  // Compiles `spec`, or reuses what this thread compiled for an equal spec recently, so a check
  // engine that builds a CheckRun per attempt does not recompile its patterns every time.
  CheckRun(const CheckSpec& spec, bool server_up);

  // The TCP handshake completed.
  CheckStep on_connected();
  // One read's bytes from the server. HAProxy judges each read once it has parsed all of it,
  // so where the reads were cut can matter (an interim 1xx, a 101, a bad chunk size after a
  // head, a tcp-check send): give each read as it came.
  CheckStep on_data(std::string_view bytes);
  // The server closed its side (FIN).
  CheckStep on_peer_closed();
  // A socket error with its OS text (strerror), in a read of its own: before the connection
  // was made → L4CON, after → SOCKERR (what earlier reads brought was judged already).
  CheckResult on_error(std::string_view os_error);
  // connect() failed at once, `info` saying why (ConnectFailure: "General socket error (X)"):
  // L4CON for a TCP socket (marked as connecting before the call), SOCKERR for a UNIX one
  // (marked only once under way).
  CheckResult on_connect_failed(std::string_view info, bool tcp);
  // A read that brought bytes and then the error (a reset right behind the data): the bytes
  // are judged as the last ones, and only when they decide nothing is it SOCKERR.
  CheckResult on_data_then_error(std::string_view bytes, std::string_view os_error);
  // The deadline passed: L4TOUT while connecting, else L7TOUT (tcp-check: with step info).
  // Like every other event it settles the result, so later events change nothing.
  CheckResult on_timeout();

  // Whether the connection about to be made (the first, or the one a later `tcp-check connect`
  // asked for) delays its ACK: when no expect rule comes right after the connect
  // (tcpcheck_eval_connect, CONNECT_DELACK_ALWAYS).
  bool delayed_ack() const;
  bool connected() const;
  bool done() const;
  // The result once decided (done()), with duration left at -1 for the caller to fill.
  std::optional<CheckResult> result() const;
  // The compiled ruleset this attempt runs.
  const std::shared_ptr<const CompiledCheck>& compiled() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace lb::core
