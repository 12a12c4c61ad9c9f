#include "protocol/error.hpp"

#include <string>

namespace portask {
namespace {

class portask_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portask"; }
  std::string message(int code) const override {
    const auto info = schema_tables::describe(static_cast<errc>(code));
    if (!info.name.empty()) return std::string(info.message);
    return "unknown portask error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const portask_category instance;
  return instance;
}

// The names, messages and retriable flags are generated with the enum
// (portask/native/native_types.hpp).
bool is_retriable(errc e) noexcept { return schema_tables::describe(e).retriable; }

std::string_view to_string(errc e) noexcept {
  const std::string_view name = schema_tables::describe(e).name;
  return name.empty() ? "unknown" : name;
}

}  // namespace portask
