#pragma once
// Writes a Config back as HAProxy syntax that parse_config() reads to the same model (positions
// aside): every proxy is printed in full, so no defaults section is needed.
#include <string>

#include "lb/core/config/model.hpp"

namespace lb::core {

std::string print_config(const Config& config);

}  // namespace lb::core
