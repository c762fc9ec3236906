#include "mockserver/core/write_plan.hpp"

#include <gtest/gtest.h>

namespace mock::core {

// Readable failures: gtest would print steps as raw bytes.
void PrintTo(const Step& s, std::ostream* os) {
  static constexpr const char* kNames[] = {"send", "pause", "close", "reset", "hold"};
  *os << kNames[static_cast<int>(s.kind)];
  if (s.kind == StepKind::Send) *os << " " << ::testing::PrintToString(s.bytes);
  if (s.kind == StepKind::Pause) *os << " " << s.pause.count() << "ms";
}

namespace {

using namespace std::chrono_literals;

const RequestFacts kGet11{"GET", "/", true, false};
const RequestFacts kCheck10{"OPTIONS", "/", false, true};

Step send(std::string bytes) { return {StepKind::Send, std::move(bytes), Ms{0}}; }
Step pause(Ms ms) { return {StepKind::Pause, {}, ms}; }
Step end(StepKind k) { return {k, {}, Ms{0}}; }

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
  EXPECT_EQ(p.steps, (std::vector<Step>{pause(100ms), send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
                                        pause(10ms), send("cd"), pause(10ms), send("e")}));
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
  EXPECT_EQ(p.steps, (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nCon"), pause(25ms),
                                        send("nection: close\r\n\r\nhello from s1"), end(StepKind::Close)}));
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
  EXPECT_EQ(plan_fault(make_fault(FaultKind::ResetMidResponse), "s1", kGet11).steps,
            (std::vector<Step>{send("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"), end(StepKind::Reset)}));
}

}  // namespace
}  // namespace mock::core
