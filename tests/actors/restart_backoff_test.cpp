#include "actors/restart_backoff.hpp"

#include <gtest/gtest.h>

using namespace portask;
using namespace std::chrono_literals;

TEST(RestartBackoff, DoublesWhileAChildKeepsFailingUpToFiveSeconds) {
  std::chrono::milliseconds b{0};
  const std::chrono::milliseconds want[] = {100ms, 200ms, 400ms, 800ms, 1600ms, 3200ms, 5000ms, 5000ms};
  for (auto w : want) {
    b = restart_backoff::next(b, 1s);  // each run short: a crash loop
    EXPECT_EQ(b, w);
  }
}

TEST(RestartBackoff, StartsOverAfterAHealthyRun) {
  EXPECT_EQ(restart_backoff::next(5000ms, 30s), 100ms);
  EXPECT_EQ(restart_backoff::next(5000ms, 24h), 100ms);
  EXPECT_EQ(restart_backoff::next(5000ms, 29s), 5000ms);
  EXPECT_EQ(restart_backoff::next(400ms, 29s), 800ms);
}
