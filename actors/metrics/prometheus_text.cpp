#include "actors/metrics/prometheus_text.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "actors/metrics/metrics.hpp"
#include "protocol/utf8.hpp"

namespace portask {

void prometheus_text::family(std::string_view name, std::string_view help, kind k) {
  if (!declared_.emplace(name).second)
    throw std::logic_error("metric family declared twice: " + std::string(name));
  name_ = name;
  series_.clear();
  const char* type = k == kind::counter     ? "counter"
                     : k == kind::histogram ? "histogram"
                                            : "gauge";  // an info metric is a gauge of 1
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

std::string prometheus_text::escape_label(std::string_view v) {
  // Label values are UTF-8 in the exposition format, and a scraper refuses the whole page
  // over one that is not: a group id a client chose is repaired here, not trusted.
  const auto text = protocol::valid_utf8(v);
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void prometheus_text::write_labels(const labels& l, std::string_view extra_name,
                                   std::string_view extra_value) {
  if (l.empty() && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += escape_label(v);
    out_ += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out_ += ',';
    out_ += extra_name;
    out_ += "=\"";
    out_ += extra_value;
    out_ += '"';
  }
  out_ += '}';
}

void prometheus_text::value(double v) {
  char buf[64];
  if (std::isinf(v)) {
    out_ += v > 0 ? " +Inf\n" : " -Inf\n";
    return;
  }
  std::snprintf(buf, sizeof buf, " %.17g\n", v);
  out_ += buf;
}

bool prometheus_text::new_series(const labels& l) {
  std::string key;
  for (const auto& [k, v] : l) {
    key += k;
    key += '=';
    key += escape_label(v);
    key += '\n';  // escaped values hold no newline
  }
  return series_.insert(std::move(key)).second;
}

void prometheus_text::sample(const labels& l, double v) {
  if (!new_series(l)) return;
  out_ += name_;
  write_labels(l);
  value(v);
}

void prometheus_text::sample(const labels& l, std::uint64_t v) {
  if (!new_series(l)) return;
  out_ += name_;
  write_labels(l);
  out_ += ' ' + std::to_string(v) + '\n';
}

void prometheus_text::sample(const labels& l, std::int64_t v) {
  if (!new_series(l)) return;
  out_ += name_;
  write_labels(l);
  out_ += ' ' + std::to_string(v) + '\n';
}

void prometheus_text::histogram(const labels& l, const latency_histogram& h, double scale,
                                std::size_t first, std::size_t last, bool whole_numbers) {
  if (!new_series(l)) return;
  // The count is the buckets' total, read once, so _count equals the +Inf bucket even while
  // other threads record.
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < latency_histogram::buckets; ++b) {
    cumulative += h.bucket(b);
    if (b < first || b > last) continue;
    // Bucket b holds values below 2^b units.
    char le[48];
    const double bound = std::ldexp(1.0, static_cast<int>(b)) - (whole_numbers ? 1.0 : 0.0);
    std::snprintf(le, sizeof le, "%.17g", bound * scale);
    out_ += name_ + "_bucket";
    write_labels(l, "le", le);
    out_ += ' ' + std::to_string(cumulative) + '\n';
  }
  out_ += name_ + "_bucket";
  write_labels(l, "le", "+Inf");
  out_ += ' ' + std::to_string(cumulative) + '\n';
  out_ += name_ + "_sum";
  write_labels(l);
  value(static_cast<double>(h.sum()) * scale);
  out_ += name_ + "_count";
  write_labels(l);
  out_ += ' ' + std::to_string(cumulative) + '\n';
}

}  // namespace portask
