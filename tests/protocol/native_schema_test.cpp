// Every message of the native protocol schema (protocol/native_schema.json), in every variant
// the schema allows (each value of a switching enum, each optional flag bit on and off,
// trailing fields present and absent): encoded with all fields set it decodes to the same
// value; every shorter prefix is refused or is exactly an encoding of what it decodes to (the
// trailing fields' boundary, a publish's batch bytes); bytes left over are refused.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "portask/native/native_samples.hpp"
#include "protocol/crc32.hpp"
#include "protocol/frame.hpp"
#include "protocol/native_messages.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::native;
using namespace portask::protocol::native::samples;

namespace {

// The bytes a decoder sees: a frame's payload, or a Response body as it is.
template <class T>
byte_view decoder_input(const buffer& encoded) {
  if constexpr (traits<T>::framed) return byte_view{encoded}.subspan(frame_header_size);
  return byte_view{encoded};
}

template <class T>
buffer encode_input(const T& m) {
  buffer out;
  traits<T>::encode(out, m);
  if constexpr (!traits<T>::framed) return out;
  // Re-framed from a payload, as a decoder input that was cut short would be.
  return buffer(out.begin() + static_cast<std::ptrdiff_t>(frame_header_size), out.end());
}

template <class T>
void check_message() {
  using tr = traits<T>;
  SCOPED_TRACE(tr::name);
  for (int v = 0; v < tr::variants; ++v) {
    SCOPED_TRACE("variant " + std::to_string(v));
    const T sample = tr::sample(v);
    buffer encoded;
    tr::encode(encoded, sample);
    if constexpr (tr::framed) {
      auto header = decode_header(byte_view{encoded}, frame_limits{});
      ASSERT_TRUE(header);
      EXPECT_EQ(header->type, tr::type);
      EXPECT_EQ(header->length, encoded.size() - frame_header_size);
      EXPECT_EQ(header->crc, crc32(byte_view{encoded}.subspan(frame_header_size)));
    }
    const byte_view whole = decoder_input<T>(encoded);
    auto decoded = tr::decode(whole);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_TRUE(*decoded == sample);

    int accepted_prefixes = 0;
    for (std::size_t n = 0; n < whole.size(); ++n) {
      auto shorter = tr::decode(whole.first(n));
      if (!shorter) {
        EXPECT_EQ(shorter.error(), errc::malformed_payload) << "prefix of " << n << " bytes";
        continue;
      }
      ++accepted_prefixes;
      const buffer again = encode_input(*shorter);
      EXPECT_TRUE(std::equal(again.begin(), again.end(), whole.begin(), whole.begin() + n) &&
                  again.size() == n)
          << "a " << n << "-byte prefix decodes to something that encodes differently";
      EXPECT_FALSE(*shorter == sample);
    }
    if constexpr (!tr::open_ended) {
      // Only a trailing group may end early: with the variant that has one, exactly one
      // shorter prefix (the payload without it) is a message.
      EXPECT_LE(accepted_prefixes, 1);
      buffer longer(whole.begin(), whole.end());
      longer.push_back(0);
      EXPECT_FALSE(tr::decode(byte_view{longer})) << "a byte left over";
    }
  }
}

template <class... T>
void check_all(std::tuple<T...>*) {
  (check_message<T>(), ...);
}

}  // namespace

TEST(NativeSchema, EveryMessageAndVariantRoundTripsAndRefusesTruncation) {
  check_all(static_cast<all_messages*>(nullptr));
}

TEST(NativeSchema, UnknownEnumValuesAndFlagBitsAreInvalidRequests) {
  buffer f;
  encode(f, topic_admin_request{1, admin_op::list, "", 1, {}});
  f[frame_header_size + 4] = 9;  // no operation 9
  EXPECT_EQ(decode_topic_admin(byte_view{f}.subspan(frame_header_size)).error(),
            errc::invalid_request);

  buffer g;
  encode(g, group_admin_request{1, group_op::describe, "g"});
  g[frame_header_size + 4] = 0;
  EXPECT_EQ(decode_group_admin(byte_view{g}.subspan(frame_header_size)).error(),
            errc::invalid_request);

  publish_request p;
  p.topic = "t";
  buffer b;
  encode(b, p, 0);
  b[frame_header_size + 4] |= 0x80;  // an acks bit the protocol does not define
  EXPECT_EQ(decode_publish(byte_view{b}.subspan(frame_header_size)).error(),
            errc::invalid_request);
}

TEST(NativeSchema, AnIdempotentFlagWithoutAProducerIsInvalid) {
  // The flag bit says producer fields follow; a negative producer id says there is none.
  publish_request p;
  p.topic = "t";
  p.partition = 0;
  buffer b;
  encode(b, p, 0);
  buffer payload(b.begin() + static_cast<std::ptrdiff_t>(frame_header_size), b.end());
  payload[4] |= 0x02;
  const std::uint8_t none[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // id -1
                               0, 0, 0, 0, 0, 0};                                // epoch, seq 0
  const auto after_partition = static_cast<std::ptrdiff_t>(4 + 1 + 2 + 1 + 4);
  payload.insert(payload.begin() + after_partition, std::begin(none), std::end(none));
  EXPECT_EQ(decode_publish(byte_view{payload}).error(), errc::invalid_request);
}

TEST(NativeSchema, CountsLargerThanThePayloadAreRefusedBeforeAllocating) {
  // A topic list claiming 2^32-1 entries in a few bytes: refused, nothing reserved for it.
  const std::uint8_t body[] = {0xff, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 1};
  EXPECT_EQ(decode_topic_list(byte_view{body}).error(), errc::malformed_payload);
  // TopicAdmin describe's partition count comes from a signed field: negative is malformed.
  const std::uint8_t detail[] = {0, 1, 't', 0xff, 0xff, 0xff, 0xff, 0, 0};
  EXPECT_EQ(decode_topic_detail(byte_view{detail}).error(), errc::malformed_payload);
}
