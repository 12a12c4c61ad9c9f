#include "protocol/gather_bytes.hpp"

#include <algorithm>

namespace portask::protocol {

void gather_bytes::append_shared(const shared_bytes& b) {
  if (b.size() < min_shared_piece) return append(b.view());
  pieces_.push_back({owned_.size(), b});
  shared_size_ += b.size();
}

void gather_bytes::append_gathered(const gather_bytes& other) {
  const auto base = owned_.size();
  owned_.insert(owned_.end(), other.owned_.begin(), other.owned_.end());
  for (const auto& p : other.pieces_) pieces_.push_back({base + p.at, p.bytes});
  shared_size_ += other.shared_size_;
}

buffer gather_bytes::flat() const {
  buffer out;
  out.reserve(size());
  for_each_segment([&](byte_view s) { out.insert(out.end(), s.begin(), s.end()); });
  return out;
}

bool operator==(const gather_bytes& a, const gather_bytes& b) {
  if (a.size() != b.size()) return false;
  if (a.pieces_.empty() && b.pieces_.empty()) return a.owned_ == b.owned_;
  return a.flat() == b.flat();
}

}  // namespace portask::protocol
