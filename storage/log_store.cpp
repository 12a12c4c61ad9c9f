#include "storage/log_store.hpp"

#include "protocol/frame.hpp"

namespace portask::storage {

std::error_code verify_stored_frame(protocol::byte_view frame) noexcept {
  protocol::frame_limits unlimited{UINT32_MAX};
  auto f = protocol::decode_frame(frame, unlimited);
  if (!f || protocol::frame_size(*f) != frame.size()) return errc::corrupt_stored_data;
  return {};
}

}  // namespace portask::storage

namespace portask::storage {

std::int32_t last_sequence(std::int32_t first, std::uint32_t count) noexcept {
  if (first < 0 || count == 0) return first;
  const std::int64_t last = static_cast<std::int64_t>(first) + count - 1;
  return static_cast<std::int32_t>(last % (std::int64_t{1} << 31));
}

}  // namespace portask::storage
