#include "tests/support/temp_file.hpp"

#include <stdexcept>

#include "harness/core/scenario.hpp"

namespace lb::test {

std::string read_file(const std::filesystem::path& p) {
  auto text = lbh::read_text_file(p.string());
  if (!text) throw std::runtime_error("cannot read " + p.string());
  return std::move(*text);
}

std::filesystem::path source_path(std::string_view relative) {
  return std::filesystem::path(LBH_SOURCE_DIR) / relative;
}

}  // namespace lb::test
