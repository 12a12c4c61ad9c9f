#include "protocol/shared_bytes.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace portask::protocol {
namespace {

constexpr std::size_t slab_bytes = std::size_t{16} << 20;
// Larger copies get their own mapping, so a slab never wastes more than a quarter of itself
// on a copy that does not fit its remainder.
constexpr std::size_t largest_in_slab = slab_bytes / 4;
// Freed slabs kept mapped (already faulted) for the next one, rather than unmapped and
// faulted again: a broker whose store is remote recycles its tails' slabs through these.
constexpr std::size_t spare_slabs_kept = 4;
constexpr std::size_t alignment = 16;

std::size_t page_rounded(std::size_t n) {
  static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

void* map_populated(std::size_t n) {
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc{};
  return p;
}

struct spare_list {
  std::mutex mutex;
  std::vector<void*> slabs;
};

spare_list& spares() {
  static auto* list = new spare_list;  // never destroyed: slabs may be freed at exit
  return *list;
}

/// One mapping; unmapped (or kept as a spare slab) when the last copy in it is released.
struct mapping {
  std::uint8_t* base;
  std::size_t size;

  explicit mapping(std::size_t n) : size(n) {
    if (n == slab_bytes) {
      auto& s = spares();
      std::lock_guard lock{s.mutex};
      if (!s.slabs.empty()) {
        base = static_cast<std::uint8_t*>(s.slabs.back());
        s.slabs.pop_back();
        return;
      }
    }
    base = static_cast<std::uint8_t*>(map_populated(n));
  }
  mapping(const mapping&) = delete;
  mapping& operator=(const mapping&) = delete;
  ~mapping() {
    if (size == slab_bytes) {
      auto& s = spares();
      std::lock_guard lock{s.mutex};
      if (s.slabs.size() < spare_slabs_kept) {
        s.slabs.push_back(base);
        return;
      }
    }
    ::munmap(base, size);
  }
};

// Each thread carves from its own slab: no lock on the copy path.
struct slab_cursor {
  std::shared_ptr<mapping> slab;
  std::size_t used = 0;
};
thread_local slab_cursor cursor;

}  // namespace

shared_bytes shared_bytes::copy_of(byte_view bytes) {
  const std::size_t n = bytes.size();
  if (n > largest_in_slab) {
    auto own = std::make_shared<mapping>(page_rounded(n));
    std::memcpy(own->base, bytes.data(), n);
    const byte_view view{own->base, n};
    return {std::move(own), view};
  }
  auto& c = cursor;
  if (!c.slab || c.used + n > c.slab->size) {
    c.slab = std::make_shared<mapping>(slab_bytes);
    c.used = 0;
  }
  std::uint8_t* at = c.slab->base + c.used;
  if (n > 0) std::memcpy(at, bytes.data(), n);
  c.used += (n + alignment - 1) / alignment * alignment;
  return {c.slab, byte_view{at, n}};
}

shared_bytes shared_bytes::adopt(buffer&& bytes) {
  auto own = std::make_shared<const buffer>(std::move(bytes));
  const byte_view view{own->data(), own->size()};
  return {std::move(own), view};
}

bool operator==(const shared_bytes& a, const shared_bytes& b) noexcept {
  return std::equal(a.view_.begin(), a.view_.end(), b.view_.begin(), b.view_.end());
}

}  // namespace portask::protocol
