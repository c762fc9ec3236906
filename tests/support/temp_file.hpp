#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "harness/live/temp_dir.hpp"

namespace lb::test {

using lbh::TempDir;  // harness/live/temp_dir.hpp

// A file's bytes; throws when it cannot be read.
std::string read_file(const std::filesystem::path& p);

// Path of a file in the source tree (e.g. "tests/data/haproxy26/log_lines.tsv").
std::filesystem::path source_path(std::string_view relative);

}  // namespace lb::test
