#include "mockserver/core/write_plan.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace mock::core {

// Readable failures: gtest would print steps as raw bytes.
void PrintTo(const Step& s, std::ostream* os) {
  static constexpr const char* kNames[] = {"send", "pause", "close", "reset", "hold", "pieces"};
  *os << kNames[static_cast<int>(s.kind)];
  if (s.kind == StepKind::Send) *os << " " << ::testing::PrintToString(s.bytes);
  if (s.kind == StepKind::Pause) *os << " " << s.pause.count() << "ms";
  if (s.kind == StepKind::Pieces)
    *os << " head=" << s.head << " piece=" << s.piece << (s.chunked ? " chunked" : "") << " every "
        << s.pause.count() << "ms of " << s.bytes.size() << " bytes";
}

namespace {

using namespace std::chrono_literals;

const RequestFacts kGet11{"GET", "/", true, false};
const RequestFacts kCheck10{"OPTIONS", "/", false, true};

Step send(std::string bytes) { return {StepKind::Send, std::move(bytes), Ms{0}}; }
Step pause(Ms ms) { return {StepKind::Pause, {}, ms}; }
Step end(StepKind k) { return {k, {}, Ms{0}}; }

// Toxiproxy's slow_close, limit_data and timeout, and its bandwidth as a response rate.
TEST(WritePlan, ToxiproxysFaultsAndBandwidth) {
  const std::string hello = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello from s1";
  Fault slow = make_fault(FaultKind::SlowClose);
  EXPECT_EQ(expand(plan_fault(slow, "s1", kGet11)), (std::vector<Step>{send(hello), pause(1000ms), end(StepKind::Close)}));
  Fault limit = make_fault(FaultKind::LimitData);
  limit.bytes = 20;
  EXPECT_EQ(expand(plan_fault(limit, "s1", kGet11)), (std::vector<Step>{send(hello.substr(0, 20)), end(StepKind::Close)}));
  Fault timeout = make_fault(FaultKind::Timeout);
  EXPECT_EQ(plan_fault(timeout, "s1", kGet11).steps, (std::vector<Step>{end(StepKind::Hold)}));
  timeout.every = 250ms;
  EXPECT_EQ(plan_fault(timeout, "s1", kGet11).steps, (std::vector<Step>{pause(250ms), end(StepKind::Close)}));
  Response r;
  r.rate = 200;  // 10 bytes every 50 ms
  r.body = std::string(30, 'x');
  const auto p = expand(plan_response(r, "s1", kGet11));
  const auto whole = plan_response(Response{.body = std::string(30, 'x')}, "s1", kGet11).steps.at(0).bytes;
  std::string sent;
  int pauses = 0;
  for (const auto& s : p) {
    if (s.kind == StepKind::Send) {
      EXPECT_LE(s.bytes.size(), 10u);
      sent += s.bytes;
    }
    if (s.kind == StepKind::Pause) {
      EXPECT_EQ(s.pause, 50ms);
      ++pauses;
    }
  }
  EXPECT_EQ(sent, whole);
  EXPECT_EQ(pauses, static_cast<int>((whole.size() + 9) / 10) - 1);
}

TEST(WritePlan, RawRepliesAreSentAsWrittenThenEnd) {
  const RawReply raw{{{Ms{0}, "HTTP/1.1 2"}, {Ms{0}, "00"}, {Ms{20}, " OK\r\n"}, {Ms{5}, ""}}, RawEnd::Reset};
  EXPECT_EQ(plan_raw(raw).steps, (std::vector<Step>{send("HTTP/1.1 200"), pause(20ms), send(" OK\r\n"), pause(5ms),
                                                    end(StepKind::Reset)}));
  EXPECT_EQ(plan_raw({{}, RawEnd::Hold}).steps, std::vector<Step>{end(StepKind::Hold)});
  EXPECT_FALSE(plan_raw({}).keep_alive);
  // serve: no ending, the connection reads the next request.
  const auto serve = plan_raw({{{Ms{0}, "220 ok\r\n"}}, RawEnd::Serve});
  EXPECT_EQ(serve.steps, std::vector<Step>{send("220 ok\r\n")});
  EXPECT_TRUE(serve.keep_alive);
}

TEST(WritePlan, DefaultResponseIsHelloFromTheListener) {
  const auto p = plan_response(Response{}, "s1", kGet11);
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.steps, (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello from s1")}));
}

TEST(WritePlan, Http10CheckGetsCloseAndAFin) {
  Response r;
  r.status = 500;
  const auto p = plan_response(r, "s1", kCheck10);
  EXPECT_FALSE(p.keep_alive);
  EXPECT_EQ(p.steps, (std::vector<Step>{
                         send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello from s1"),
                         end(StepKind::Close)}));
}

TEST(WritePlan, ReasonCanBeOmittedOrReplaced) {
  Response r{.status = 503, .omit_reason = true, .body = ""};
  EXPECT_EQ(plan_response(r, "s1", kGet11).steps[0].bytes, "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n");
  r = {.status = 200, .reason = "Fine"};
  r.body = "";
  EXPECT_EQ(plan_response(r, "s1", kGet11).steps[0].bytes, "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\n\r\n");
}

TEST(WritePlan, HeadKeepsTheLengthAndDropsTheBody) {
  const auto p = plan_response(Response{}, "s1", {"HEAD", "/", true, false});
  EXPECT_EQ(p.steps[0].bytes, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n");
}

TEST(WritePlan, BodySubstitutesNameMethodAndPath) {
  Response r{.body = "{name}:{method}:{path}:{other}"};
  EXPECT_EQ(render_body(r, "s2", {"PUT", "/x", true, false}), "s2:PUT:/x:{other}");
  EXPECT_FALSE(is_static(r));
  EXPECT_TRUE(is_static(Response{.body = "{name} only"}));
}

TEST(WritePlan, DelayAndChunkDelayBecomePauses) {
  Response r{.body = "abcde", .delay = 100ms, .chunk_bytes = 2, .chunk_delay = 10ms};
  const auto p = plan_response(r, "s1", kGet11);
  EXPECT_EQ(p.steps.size(), 2u);  // the pieces are one step, expanded only here
  EXPECT_EQ(expand(p), (std::vector<Step>{pause(100ms), send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
                                          pause(10ms), send("cd"), pause(10ms), send("e")}));
}

TEST(WritePlan, ChunkedWithAChunkDelayPausesBetweenChunksAndBeforeTheLastOne) {
  Response r{.body = "hello", .chunk_bytes = 2, .chunk_delay = 10ms, .chunked = true};
  const auto p = plan_response(r, "s1", {"GET", "/", false, false});
  EXPECT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.byte_count(), 91u);
  EXPECT_EQ(expand(p), (std::vector<Step>{
                           send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhe\r\n"),
                           pause(10ms), send("2\r\nll\r\n"), pause(10ms), send("1\r\no\r\n"), pause(10ms),
                           send("0\r\n\r\n"), end(StepKind::Close)}));
  r.body = "";
  EXPECT_EQ(plan_response(r, "s1", kGet11).steps,
            (std::vector<Step>{send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}));
}

// The planner before Pieces steps, kept as the reference for the bytes and pauses on the wire.
std::vector<Step> reference_pieces(std::string head, std::string_view body, std::size_t size, Ms gap, bool chunked) {
  std::vector<Step> out{send(std::move(head))};
  const auto add = [&](std::string b) {
    if (out.back().kind == StepKind::Send) {
      out.back().bytes += b;
    } else {
      out.push_back(send(std::move(b)));
    }
  };
  const auto wait = [&] {
    if (gap.count() > 0) out.push_back(pause(gap));
  };
  for (std::size_t at = 0; at < body.size(); at += size) {
    if (at > 0) wait();
    const auto part = std::string(body.substr(at, size));
    add(chunked ? fmt::format("{:x}\r\n{}\r\n", part.size(), part) : part);
  }
  if (chunked) {
    if (!body.empty()) wait();
    add("0\r\n\r\n");
  }
  return out;
}

TEST(WritePlan, PiecesExpandExactlyAsPerPieceStepsDid) {
  const std::string body = "0123456789abcdefghijklmnopqrstuvwxyz{}!";
  for (const bool chunked : {false, true}) {
    for (const std::size_t size : {1u, 2u, 3u, 7u, 16u, 38u, 39u, 40u, 1000u}) {
      for (const Ms gap : {0ms, 5ms}) {
        Response r{.body = body, .chunk_bytes = size, .chunk_delay = gap, .chunked = chunked};
        const auto p = plan_response(r, "s1", kGet11);
        EXPECT_LE(p.steps.size(), 1u) << size << " " << chunked;
        const std::string head = render_head(r, body.size(), kGet11);
        EXPECT_EQ(expand(p), reference_pieces(head, body, size, gap, chunked)) << size << " " << chunked;
        std::size_t wire = 0;
        for (const auto& s : expand(p)) wire += s.bytes.size();
        EXPECT_EQ(p.byte_count(), wire);
      }
    }
  }
}

TEST(WritePlan, AMebibyteInOneBytePiecesIsOneStep) {
  Response r{.body = std::string(kMaxBody, 'x'), .chunk_bytes = 1, .chunk_delay = 1ms, .chunked = true};
  const auto p = plan_response(r, "s1", kGet11);
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].kind, StepKind::Pieces);
  EXPECT_EQ(piece_writes(p.steps[0]), kMaxBody + 1);
  std::string w;
  piece_write(p.steps[0], 5, w);
  EXPECT_EQ(w, "1\r\nx\r\n");
  piece_write(p.steps[0], kMaxBody, w);
  EXPECT_EQ(w, "0\r\n\r\n");
  EXPECT_EQ(p.byte_count(), 47 + 6 * kMaxBody + 5);
}

TEST(WritePlan, SubstitutionStopsAtTheBodyCap) {
  const std::string path(8000, 'p');
  Response r{.body = std::string(kMaxBody / 6, '-')};
  for (std::size_t i = 0; i < r.body->size(); i += 6) r.body->replace(i, 6, "{path}");
  const auto body = render_body(r, "s1", {"GET", path, true, false});
  EXPECT_EQ(body.size(), kMaxBody);
  EXPECT_EQ(body, std::string(kMaxBody, 'p'));
  r.body = std::string(kMaxBody - 2, 'a') + "{name}";
  EXPECT_EQ(render_body(r, "s1", kGet11), std::string(kMaxBody - 2, 'a') + "s1");
  r.body = std::string(kMaxBody - 1, 'a') + "{name}";
  EXPECT_EQ(render_body(r, "s1", kGet11), std::string(kMaxBody - 1, 'a') + "s");
  const auto p = plan_response(Response{.body = "{path}"}, "s1", {"GET", path, true, false});
  EXPECT_NE(p.steps.at(0).bytes.find("Content-Length: 8000\r\n"), std::string::npos);
  EXPECT_EQ(render_body(Response{.body = "{nam}{{name}}{"}, "s1", kGet11), "{nam}{s1}{");
}

TEST(WritePlan, ChunkedBodyIsFramed) {
  Response r{.body = "hello", .chunk_bytes = 3, .chunked = true};
  const auto p = plan_response(r, "s1", kGet11);
  EXPECT_EQ(p.steps, (std::vector<Step>{send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")}));
}

TEST(WritePlan, NoContentHasNoLength) {
  const auto p = plan_response(Response{.status = 204}, "s1", kGet11);
  EXPECT_EQ(p.steps[0].bytes, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(WritePlanFaults, HangResetAndCloseSendNothing) {
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Hang), "s1", kGet11).steps, (std::vector<Step>{end(StepKind::Hold)}));
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Reset), "s1", kGet11).steps, (std::vector<Step>{end(StepKind::Reset)}));
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Close), "s1", kGet11).steps, (std::vector<Step>{end(StepKind::Close)}));
}

TEST(WritePlanFaults, PartialStallsAfterSomeHeaders) {
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Partial), "s1", kGet11).steps,
            (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"), end(StepKind::Hold)}));
}

TEST(WritePlanFaults, GarbageIsSeededAndNeverLooksLikeHttp) {
  Fault f = make_fault(FaultKind::Garbage);
  const auto a = plan_fault(f, "s1", kGet11);
  EXPECT_EQ(a.steps.at(0).bytes.size(), 64u);
  EXPECT_EQ(a.steps, plan_fault(f, "s1", kGet11).steps);
  f.seed = 2;
  EXPECT_NE(a.steps, plan_fault(f, "s1", kGet11).steps);
  for (std::uint32_t seed = 0; seed < 300; ++seed) {
    f.seed = seed;
    EXPECT_NE(plan_fault(f, "s1", kGet11).steps.at(0).bytes.front(), 'H');
  }
}

TEST(WritePlanFaults, DripSplitsTheWholeResponse) {
  Fault f = make_fault(FaultKind::Drip);
  f.bytes = 40;
  f.every = 25ms;
  const auto p = plan_fault(f, "s1", kGet11);
  EXPECT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(expand(p), (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nCon"), pause(25ms),
                                          send("nection: close\r\n\r\nhello from s1"), end(StepKind::Close)}));
  f.every = 0ms;  // no pause: one write
  EXPECT_EQ(plan_fault(f, "s1", kGet11).steps,
            (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nhello from s1"),
                               end(StepKind::Close)}));
}

TEST(WritePlanFaults, DripOfOneByteKeepsOneStepWhateverTheBody) {
  Fault f = make_fault(FaultKind::Drip);
  f.bytes = 1;
  f.every = 100ms;
  for (const std::size_t size : {std::size_t{4000}, kMaxBody}) {
    const Response base{.body = std::string(size, 'x')};
    const auto p = plan_fault(f, "s1", kGet11, base);
    ASSERT_EQ(p.steps.size(), 2u);  // pieces, close: it was two steps per byte
    const std::string whole = render_head(base, size, {"GET", "/", false, false}) + *base.body;
    EXPECT_EQ(p.steps[0].bytes, whole);
    EXPECT_EQ(piece_writes(p.steps[0]), whole.size());
    EXPECT_EQ(p.byte_count(), whole.size());
    if (size > 4000) continue;  // spelling out a mebibyte byte by byte is slow, not different
    std::vector<Step> want;
    for (std::size_t i = 0; i < whole.size(); ++i) {
      if (i > 0) want.push_back(pause(100ms));
      want.push_back(send(whole.substr(i, 1)));
    }
    want.push_back(end(StepKind::Close));
    EXPECT_EQ(expand(p), want);
  }
}

TEST(WritePlanFaults, DripOfAChunkedPausedResponseDripsItsWireBytes) {
  Fault f = make_fault(FaultKind::Drip);
  f.bytes = 30;
  f.every = 7ms;
  const Response base{.body = "hello", .chunk_bytes = 2, .chunk_delay = 10ms, .chunked = true};
  std::string whole;
  for (const auto& s : expand(plan_response(base, "s1", {"GET", "/", false, false}))) whole += s.bytes;
  const auto steps = expand(plan_fault(f, "s1", kGet11, base));
  std::vector<Step> want;
  for (std::size_t at = 0; at < whole.size(); at += 30) {
    if (at > 0) want.push_back(pause(7ms));
    want.push_back(send(whole.substr(at, 30)));
  }
  want.push_back(end(StepKind::Close));
  EXPECT_EQ(steps, want);
}

TEST(WritePlanFaults, BadLengthPromisesMoreBytes) {
  const auto p = plan_fault(make_fault(FaultKind::BadLength), "s1", kGet11);
  EXPECT_EQ(p.steps, (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 103\r\nConnection: close\r\n\r\nhello from s1"),
                                        end(StepKind::Close)}));
}

TEST(WritePlanFaults, BadChunkedCanSplitHeadersFromBody) {
  Fault f = make_fault(FaultKind::BadChunked);
  f.every = 50ms;
  const auto p = plan_fault(f, "s1", kGet11);
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[1], pause(50ms));
  EXPECT_EQ(p.steps[2], send("zz\r\nhello\r\n0\r\n\r\n"));
}

TEST(WritePlanFaults, Http09IsTheBareBody) {
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Http09), "s1", kGet11).steps,
            (std::vector<Step>{send("hello from s1"), end(StepKind::Close)}));
}

TEST(WritePlanFaults, OversizedHeadersReachTheirSize) {
  const auto p = plan_fault(make_fault(FaultKind::OversizedHeaders), "s1", kGet11);
  const auto& bytes = p.steps.at(0).bytes;
  EXPECT_GE(bytes.find("\r\n\r\n"), 20000u);
  EXPECT_TRUE(bytes.ends_with("\r\n\r\nhello from s1"));
}

TEST(WritePlanFaults, InterimAndBadStatusLineAndResetMidResponse) {
  EXPECT_EQ(plan_fault(make_fault(FaultKind::Interim1xx), "s1", kGet11).steps.at(0).bytes,
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello from s1");
  EXPECT_TRUE(plan_fault(make_fault(FaultKind::BadStatusLine), "s1", kGet11).steps.at(0).bytes.starts_with("HTTP/1.1 2OO OK\r\nContent-Length: 13\r\n"));
  const Response slow{.body = "abcd", .chunk_bytes = 2, .chunk_delay = 5ms};
  EXPECT_EQ(expand(plan_fault(make_fault(FaultKind::Interim1xx), "s1", kGet11, slow)),
            (std::vector<Step>{send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"),
                               pause(5ms), send("cd")}));
  EXPECT_EQ(plan_fault(make_fault(FaultKind::ResetMidResponse), "s1", kGet11).steps,
            (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"), end(StepKind::Reset)}));
}

}  // namespace
}  // namespace mock::core
