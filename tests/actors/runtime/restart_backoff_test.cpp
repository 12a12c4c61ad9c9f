#include "actors/runtime/restart_backoff.hpp"
#include "actors/runtime/restart_intensity.hpp"

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

TEST(RestartIntensity, AllowsTenRestartsWithinAMinuteAndRefusesTheEleventh) {
  restart_intensity r;
  const auto t0 = restart_intensity::clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(r.allow(t0 + i * 1s)) << i;
  EXPECT_FALSE(r.allow(t0 + 10s));
}

TEST(RestartIntensity, RestartsOlderThanTheWindowNoLongerCount) {
  restart_intensity r;
  const auto t0 = restart_intensity::clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(r.allow(t0 + i * 10s));  // one every 10 s
  // 100 s after the first: only the restarts of the last minute count.
  EXPECT_TRUE(r.allow(t0 + 100s));
  EXPECT_LE(r.recent(), 7u);
}

TEST(RestartIntensity, AChildFailingAtEveryStartEscalatesWithinHalfAMinute) {
  restart_intensity r;
  auto now = restart_intensity::clock::time_point{} + 1h;
  std::chrono::milliseconds b{0};
  bool escalated = false;
  for (int i = 0; i < 20 && !escalated; ++i) {
    b = restart_backoff::next(b, 10ms);  // it fails right after each start
    now += b;
    escalated = !r.allow(now);
  }
  EXPECT_TRUE(escalated);
  EXPECT_LT(now - (restart_intensity::clock::time_point{} + 1h), 35s);
}
