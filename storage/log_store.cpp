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
