#pragma once
/// Writes the Prometheus text exposition format (0.0.4) so that it is valid by construction:
/// each family is declared once (HELP, TYPE) and its samples follow it directly, names and
/// label values are checked or escaped, and histograms are written as cumulative `_bucket`
/// series with `+Inf`, `_sum` and `_count`. promtool and the official Python parser read it
/// (tests/integration/metrics_exposition_test.cpp).

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portask {

class latency_histogram;

class prometheus_text {
 public:
  enum class kind { counter, gauge, histogram, info };
  using labels = std::vector<std::pair<std::string_view, std::string>>;

  /// Starts a family; every sample until the next family belongs to it. A name declared
  /// twice is a programming error (throws std::logic_error).
  void family(std::string_view name, std::string_view help, kind k);
  void sample(const labels& l, double value);
  void sample(const labels& l, std::uint64_t value);
  void sample(const labels& l, std::int64_t value);
  /// A log2 histogram: bucket i holds values below 2^i in recorded units; `scale` turns a
  /// unit into the family's unit (1e-6 for microseconds as seconds). Buckets [first, last]
  /// are written (the ones below `first` fold into it), then +Inf. Durations (truncated to
  /// whole units) are below 2^i, so le is 2^i; whole numbers (counts) are at most 2^i - 1.
  void histogram(const labels& l, const latency_histogram& h, double scale, std::size_t first,
                 std::size_t last, bool whole_numbers = false);

  std::string str() && { return std::move(out_); }

  static std::string escape_label(std::string_view v);

 private:
  void write_labels(const labels& l, std::string_view extra_name = {},
                    std::string_view extra_value = {});
  /// False for a label set the family already has: two values that are not UTF-8 may be
  /// repaired alike (group ids "g\xff" and "g\xfe"), and a page with one series twice is
  /// refused by the scraper, so the first is kept.
  bool new_series(const labels& l);
  void value(double v);
  std::string out_;
  std::string name_;
  std::set<std::string, std::less<>> declared_;
  std::set<std::string, std::less<>> series_;  ///< the current family's label sets
};

}  // namespace portask
