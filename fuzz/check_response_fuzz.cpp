// Server bytes into one check attempt. Byte 0 picks the check configuration, how the
// conversation ends and whether the server is up (0..215: the first 12 configurations;
// 216..255: rstring with `*`-heavy patterns, for long bodies and streams), byte 1 seeds the
// sizes of the pieces the rest is cut into; the same bytes are also played in one piece. A
// crash, a hang, a check that never settles, or a result that changes after it was set is a bug.
// The two verdicts may differ: HAProxy judges a read once it has parsed all of it, so what came
// with an interim 1xx, a 101 or a completed head counts only in the same read (check_run.cpp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lb/core/check/check_run.hpp"

namespace {

using lb::core::CheckKind;
using lb::core::CheckResult;
using lb::core::CheckRun;
using lb::core::CheckSpec;
using lb::core::ExpectKind;
using lb::core::ExpectRule;
using lb::core::TcpCheckRule;

constexpr int kVariants = 12;       // picked by byte 0 in 0..215
constexpr int kRegexVariants = 3;   // picked by byte 0 in 216..255
constexpr int kFirstRegexByte = kVariants * 3 * 6;

CheckSpec spec_variant(int n) {
  CheckSpec s;
  s.kind = CheckKind::HttpChk;
  const auto rule = [](ExpectKind k, const char* p, bool negate = false) { return ExpectRule{k, negate, p}; };
  switch (n) {
    case 0: break;
    case 1: s.http_expects = {rule(ExpectKind::String, "ok")}; break;
    case 2: s.http_expects = {rule(ExpectKind::String, "err", true)}; break;
    case 3: s.http_expects = {rule(ExpectKind::RString, "v[0-9]+\\.[0-9]")}; break;
    case 4: s.http_expects = {rule(ExpectKind::Status, "200-299,404"), rule(ExpectKind::RString, "^up$")}; break;
    case 5: s.disable_on_404 = true; break;
    case 6: s.http_expects = {rule(ExpectKind::RStatus, "^[23]"), rule(ExpectKind::Status, "500", true)}; break;
    case 7: s.http.method = "HEAD"; s.http_expects = {rule(ExpectKind::String, "ok")}; break;
    case 8: s.kind = CheckKind::Connect; break;
    // Many stars over long bodies, without nested quantifiers: those only meet Regex's bound,
    // at seconds per search, which is that class's business, not this target's.
    case 12: s.http_expects = {rule(ExpectKind::RString, "^.*x*y*z*OK.*$")}; break;
    case 13:
      s.http_expects = {rule(ExpectKind::Status, "200-299"), rule(ExpectKind::RString, ".*(error|fatal).*", true)};
      break;
    case 14: {
      s.kind = CheckKind::TcpCheck;
      const TcpCheckRule send{TcpCheckRule::Kind::Send, {}, "PING\r\n", {}};
      const TcpCheckRule pong{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::RString, "^.*x*y*\\+?P[O0]*NG.*")};
      s.tcp_rules = {send, pong};
      break;
    }
    default: {
      s.kind = CheckKind::TcpCheck;
      const TcpCheckRule connect{TcpCheckRule::Kind::Connect, 6379, {}, {}};
      const TcpCheckRule send{TcpCheckRule::Kind::Send, {}, "PING\r\n", {}};
      const TcpCheckRule send_bin{TcpCheckRule::Kind::SendBinary, {}, "0d0a", {}};
      const TcpCheckRule ok{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::String, "+OK")};
      const TcpCheckRule no_err{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::String, "ERR", true)};
      const TcpCheckRule pong{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::RString, "^\\+PONG")};
      const TcpCheckRule bin{TcpCheckRule::Kind::Expect, {}, {}, rule(ExpectKind::Binary, "0d0a")};
      if (n == 9) s.tcp_rules = {connect, send, pong, send_bin, ok};
      if (n == 10) s.tcp_rules = {ok, no_err, send, bin};
      if (n == 11) s.tcp_rules = {send};
    }
  }
  return s;
}

enum class Then { Close, Hold, Reset };

CheckResult play(const CheckSpec& spec, bool up, Then then, std::string_view bytes, std::uint8_t seed) {
  CheckRun run(spec, up);
  run.on_connected();
  std::uint32_t rng = seed;
  // Small pieces for small inputs; for big ones about 32 pieces, so each run stays quick.
  const std::size_t max_piece = std::max<std::size_t>(64, bytes.size() / 32);
  while (!bytes.empty() && !run.done()) {
    std::size_t n = bytes.size();
    if (seed != 0) {
      rng = rng * 1103515245u + 12345u;  // reproducible from the seed
      n = std::min<std::size_t>(n, 1 + (rng >> 8) % max_piece);
    }
    run.on_data(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (!run.done()) {
    if (then == Then::Close) run.on_peer_closed();
    if (then == Then::Hold) run.on_timeout();
    if (then == Then::Reset) run.on_error("Connection reset by peer");
  }
  if (!run.done()) __builtin_trap();
  const CheckResult r = *run.result();
  // Events after the result change nothing.
  run.on_data("HTTP/1.1 200 OK\r\n\r\n");
  run.on_peer_closed();
  run.on_timeout();
  if (!(*run.result() == r)) __builtin_trap();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  int variant = data[0] % kVariants;
  auto then = static_cast<Then>((data[0] / kVariants) % 3);
  bool up = (data[0] / (kVariants * 3)) % 2 == 0;
  if (data[0] >= kFirstRegexByte) {
    const int x = data[0] - kFirstRegexByte;
    variant = kVariants + x % kRegexVariants;
    then = static_cast<Then>((x / kRegexVariants) % 3);
    up = (x / (kRegexVariants * 3)) % 2 == 0;
  }
  const std::uint8_t seed = data[1] == 0 ? 1 : data[1];
  std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  // Beyond two check buffers nothing more is read.
  const std::size_t cap = 2 * 16384 + 1024;
  if (bytes.size() > cap) bytes = bytes.substr(0, cap);
  const auto spec = spec_variant(variant);
  (void)play(spec, up, then, bytes, seed);
  (void)play(spec, up, then, bytes, 0);
  return 0;
}
