// A logger's lines while a test looks at them: a ring-buffer sink added to the logger for
// the capture's lifetime, the logger's level set for that time and restored after.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace portask::testing {

class log_capture {
 public:
  /// Captures `logger`'s lines at `level` and above; keeps the newest `capacity` of them.
  log_capture(spdlog::logger& logger, spdlog::level::level_enum level, std::size_t capacity = 256)
      : logger_(logger),
        sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(capacity)),
        level_(logger.level()) {
    logger_.set_level(level);
    logger_.sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = logger_.sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    logger_.set_level(level_);
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  void set_level(spdlog::level::level_enum level) { logger_.set_level(level); }

  /// The lines that hold `text`.
  std::vector<std::string> lines_with(const std::string& text) const {
    std::vector<std::string> out;
    for (auto& line : sink_->last_formatted())
      if (line.find(text) != std::string::npos) out.push_back(std::move(line));
    return out;
  }

 private:
  spdlog::logger& logger_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

}  // namespace portask::testing
