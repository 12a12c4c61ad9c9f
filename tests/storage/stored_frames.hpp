#pragma once
// The storage tests' frames: a publish of `records` messages to topic "t" whose values are
// `value#0`, `value#1`, ..., encoded as the broker stores them (header-only; the test links
// portask::storage, which brings the codecs).

#include <gtest/gtest.h>

#include <string>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"

namespace portask::storage_test {

inline protocol::buffer make_frame(const std::string& value, int records = 1) {
  protocol::message_batch b;
  for (int i = 0; i < records; ++i) {
    protocol::message m;
    m.topic = "t";
    m.value = value + "#" + std::to_string(i);
    b.messages.push_back(m);
  }
  protocol::buffer out;
  protocol::codec_manager codecs;
  EXPECT_FALSE(codecs.append_batch_frame(b, {}, protocol::message_type::publish, out));
  return out;
}

}  // namespace portask::storage_test
