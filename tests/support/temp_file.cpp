#include "tests/support/temp_file.hpp"

#include <stdexcept>

#include "lb/core/input_file.hpp"

namespace lb::test {

std::string read_file(const std::filesystem::path& p) {
  auto file = lb::core::read_input_file(p.string());
  if (!file) throw std::runtime_error("cannot read " + p.string() + ": " + file.reason());
  return std::move(file.text);
}

std::filesystem::path source_path(std::string_view relative) {
  return std::filesystem::path(LBH_SOURCE_DIR) / relative;
}

}  // namespace lb::test
