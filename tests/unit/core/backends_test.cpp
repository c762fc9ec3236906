#include "lb/core/route/backends.hpp"

#include <gtest/gtest.h>

#include "lb/core/config/parser.hpp"

#include <fmt/format.h>

namespace lb::core {
namespace {

Config two_servers(std::string_view params) {
  auto r = parse_config(fmt::format(R"(backend be
    server s1 10.0.0.1:80 {}
    server s2 10.0.0.2:80 {}
)",
                                    params, params),
                        "t.cfg");
  EXPECT_TRUE(r.ok());
  return r.config;
}

TEST(Backends, AllServersAtMaxconnQueuesAndNoneUsableDoesNot) {
  const auto cfg = two_servers("maxconn 1");
  Backends b(cfg);
  for (int i = 0; i < 2; ++i) {
    const auto p = b.pick(0);
    ASSERT_TRUE(p.server);
    b.request_started({0, *p.server});
  }
  EXPECT_TRUE(b.pick(0).full);
  EXPECT_FALSE(b.pick(0).server);
  b.set_usable({0, 0}, false);
  b.set_usable({0, 1}, false);
  EXPECT_FALSE(b.pick(0).full) << "nothing usable: a 503, not a queue";
}

TEST(Backends, AFreedSlotGoesToTheOldestWaiterAlreadyCounted) {
  const auto cfg = two_servers("maxconn 1");
  Backends b(cfg);
  b.request_started({0, *b.pick(0).server});
  b.request_started({0, *b.pick(0).server});
  std::vector<std::pair<int, std::size_t>> served;
  b.enqueue(0, [&](std::size_t s) { served.emplace_back(1, s); });
  const auto second = b.enqueue(0, [&](std::size_t s) { served.emplace_back(2, s); });
  b.enqueue(0, [&](std::size_t s) { served.emplace_back(3, s); });
  EXPECT_EQ(b.queued(0), 3);
  EXPECT_TRUE(b.pick(0).full) << "newcomers queue behind the waiters";
  b.dequeue(0, second);  // it timed out
  b.request_finished({0, 1});
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0], (std::pair<int, std::size_t>{1, 1}));
  EXPECT_EQ(b.sessions({0, 1}), 1);  // handed over counted
  b.request_finished({0, 0});
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[1], (std::pair<int, std::size_t>{3, 0}));
  EXPECT_EQ(b.queued(0), 0);
}

TEST(Backends, AServerComingBackUpTakesWaitingRequests) {
  const auto cfg = two_servers("maxconn 1");
  Backends b(cfg);
  b.set_usable({0, 1}, false);
  b.request_started({0, *b.pick(0).server});
  std::optional<std::size_t> got;
  b.enqueue(0, [&](std::size_t s) { got = s; });
  b.set_usable({0, 1}, true);
  EXPECT_EQ(got, 1u);
}

}  // namespace
}  // namespace lb::core
