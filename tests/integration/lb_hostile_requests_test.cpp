// Hostile and malformed requests (smuggling shapes, bad framing, bad request lines) replayed
// against lb as haproxy 2.6.12 answered them (tests/data/haproxy26/hostile_requests.tsv,
// capture_scripts/hostile.py): the same first status and number of responses, the same bytes
// reaching the server (or none), the same termination state and status in the httplog line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "lb/core/text.hpp"
#include "tests/integration/lb_world.hpp"

namespace lb::test {
namespace {

struct Case {
  std::string name, request;
  long split_at = -1;
  int status = 0, responses = 0;
  bool closed = false;  // haproxy closed the connection (the capture's client read until EOF)
  std::string backend;  // what the server received, all its connections in order
  std::string log_term, log_status;  // log_status: the line's %B
};

std::string unhex(std::string_view h) { return core::decode_hex(h).value_or(""); }

std::vector<Case> load_cases() {
  std::vector<Case> out;
  std::istringstream in(read_file(source_path("tests/data/haproxy26/hostile_requests.tsv")));
  std::string row;
  std::getline(in, row);
  while (std::getline(in, row)) {
    std::vector<std::string> c;
    std::size_t start = 0;
    for (;;) {
      const auto tab = row.find('\t', start);
      c.push_back(row.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (c.size() < 9) continue;
    out.push_back({c[0], unhex(c[1]), std::stol(c[2]), std::stoi(c[3]), std::stoi(c[4]), c[5] == "1", unhex(c[6]), c[7],
                   c[8]});
  }
  return out;
}

// The capture's backend: reads one request (head, then a body by Content-Length or chunked,
// giving up after 0.5 s of silence), records it, answers 200 "ok" and closes.
class RecordingBackend {
 public:
  RecordingBackend() : fd_(listen_on_loopback(port_)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingBackend() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return port_; }
  // What the server received, once at least `bytes` have come or `timeout` has passed.
  std::string take(std::size_t bytes, milliseconds timeout) {
    std::unique_lock lock(mu_);
    arrived_.wait_for(lock, timeout, [&] { return received_.size() >= bytes; });
    return std::exchange(received_, {});
  }

 private:
  static bool complete(std::string_view b) {
    const auto end = b.find("\r\n\r\n");
    if (end == std::string_view::npos) return false;
    const auto head = core::ascii_lower(b.substr(0, end));
    const auto body = b.substr(end + 4);
    if (head.find("transfer-encoding:") != std::string::npos && head.find("chunked") != std::string::npos)
      return body.find("0\r\n\r\n") != std::string_view::npos;
    std::smatch m;
    static const std::regex kLength("content-length: *([0-9]+)");
    if (std::regex_search(head, m, kLength)) return body.size() >= std::stoul(m[1]);
    return true;
  }
  void serve() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      Fd c(::accept(fd_.get(), nullptr, nullptr));
      std::string got;
      auto last = Clock::now();
      while (!stop_ && !complete(got) && Clock::now() - last < milliseconds(500)) {
        pollfd q{c.get(), POLLIN, 0};
        if (::poll(&q, 1, 20) <= 0) continue;
        char buf[65536];
        const ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
        last = Clock::now();
      }
      {
        std::lock_guard lock(mu_);
        received_ += got;
      }
      arrived_.notify_all();
      send_all(c.get(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
  }
  int port_ = 0;  // before fd_, which sets it
  Fd fd_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable arrived_;
  std::string received_;
  std::thread thread_;
};

// Statuses of the complete responses at the start of `b`.
std::vector<int> statuses(std::string_view b) {
  std::vector<int> out;
  while (b.starts_with("HTTP/1.")) {
    const auto end = b.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    out.push_back(std::stoi(std::string(b.substr(9, 3))));
    const auto head = core::ascii_lower(b.substr(0, end));
    std::smatch m;
    static const std::regex kLength("content-length: *([0-9]+)");
    const std::size_t body = std::regex_search(head, m, kLength) ? std::stoul(m[1]) : 0;
    if (b.size() < end + 4 + body) break;
    b.remove_prefix(end + 4 + body);
  }
  return out;
}

TEST(HostileRequests, LbAnswersAsHaproxyDid) {
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 100u);
  RecordingBackend backend;
  const int fe = free_tcp_port();
  TempDir dir;
  const auto cfg = dir.write("lb.cfg", fmt::format(R"(global
    log stdout format raw local0
defaults
    log global
    mode http
    option httplog
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    timeout http-request 1s
frontend fe
    bind 127.0.0.1:{}
    default_backend apps
backend apps
    server s1 127.0.0.1:{}
)",
                                                   fe, backend.port()));
  auto lb = Child::start(LB_BIN, {"-db", "--announce", "-f", cfg.string()});

  int agreed = 0, agreed_malformed = 0;  // malformed: haproxy did not answer 200
  std::vector<std::string> differ;
  for (const auto& c : cases) {
    if (c.name.ends_with("_racy")) continue;  // haproxy itself answers these two ways
    auto conn = connect_to(fe);
    ASSERT_EQ(conn.error, 0);
    if (c.split_at < 0) {
      send_all(conn.fd.get(), c.request);
    } else {
      send_all(conn.fd.get(), std::string_view(c.request).substr(0, static_cast<std::size_t>(c.split_at)));
      std::this_thread::sleep_for(milliseconds(200));  // the capture's pause between the two writes
      send_all(conn.fd.get(), std::string_view(c.request).substr(static_cast<std::size_t>(c.split_at)));
    }
    std::vector<std::string> why;
    // Read until haproxy's number of responses is in, or the connection ends, or 2.5 s. Where
    // haproxy waited for the rest of a body until `timeout client` (cD--), read until EOF, as the
    // capture's client did: closing earlier would be a client abort (CD--).
    const bool waits_for_body = c.log_term.find("cD") != std::string::npos;
    const auto got = read_until(conn.fd.get(), milliseconds(2500), [&](std::string_view b) {
      return !waits_for_body && c.responses > 0 && static_cast<int>(statuses(b).size()) >= c.responses;
    });
    if (c.closed && waits_for_body && got.end != End::Eof && got.end != End::Reset)
      why.push_back("lb kept the connection open");
    const auto sts = statuses(got.bytes);
    const int first = sts.empty() ? 0 : sts.front();
    if (first != c.status) why.push_back(fmt::format("status {} (haproxy {})", first, c.status));
    if (static_cast<int>(sts.size()) != c.responses)
      why.push_back(fmt::format("{} responses (haproxy {})", sts.size(), c.responses));
    conn.fd.reset();
    // The server side: what haproxy forwarded must arrive; where it forwarded nothing, a short
    // window for a request lb must not have sent.
    const std::string seen = c.backend.empty() ? backend.take(1, milliseconds(20))
                                               : backend.take(c.backend.size(), milliseconds(1500));
    if (seen != c.backend) why.push_back("server received " + ::testing::PrintToString(seen) + ", haproxy forwarded " +
                                         ::testing::PrintToString(c.backend));
    // The httplog lines: status and termination state, one per exchange haproxy logged.
    if (!c.log_term.empty()) {
      std::vector<std::string> terms, stats;
      const auto lines = 1 + static_cast<std::size_t>(std::count(c.log_term.begin(), c.log_term.end(), ','));
      while (terms.size() < lines) {
        const auto line = lb.await_line("127.0.0.1:", kPatience);
        if (!line) break;
        if (!line->starts_with("127.0.0.1:")) continue;  // the "listening" line
        std::smatch m;
        // The capture's `log_status` column holds %B, the field after the status.
        static const std::regex kLog(R"(^\S+ \[[^\]]+\] \S+ \S+ \S+ \S+ (\S+) \S+ \S+ (\S{4}) )");
        if (std::regex_search(*line, m, kLog)) stats.push_back(m[1]), terms.push_back(m[2]);
      }
      const auto joined_terms = fmt::format("{}", fmt::join(terms, ","));
      const auto joined_stats = fmt::format("{}", fmt::join(stats, ","));
      if (joined_terms != c.log_term || joined_stats != c.log_status)
        why.push_back(fmt::format("logged {} {} (haproxy {} {})", joined_stats, joined_terms, c.log_status, c.log_term));
    }
    if (why.empty()) {
      ++agreed;
      if (c.status != 200) ++agreed_malformed;
    } else {
      differ.push_back(c.name + ": " + fmt::format("{}", fmt::join(why, "; ")));
    }
  }
  for (const auto& d : differ) ADD_FAILURE() << d;
  EXPECT_GE(agreed, 130) << agreed << " of " << cases.size() << " agree";
  EXPECT_GE(agreed_malformed, 40) << "requests haproxy refused or cut short, each answered as haproxy did";
}

}  // namespace
}  // namespace lb::test
