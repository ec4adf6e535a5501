// TOML input files (scenarios, kernel profiles, the catalogue): a syntax
// error becomes one InputError "file:line: what is wrong" (exit 2).
#pragma once
#include <string>
#include <toml++/toml.h>

#include "harness/input_error.h"

namespace regsync::harness {

template <typename Parse>
toml::table parse_toml_or_throw(const std::string& file, Parse&& parse) {
    try {
        return parse();
    } catch (const toml::parse_error& e) {
        throw InputError::at(file, static_cast<long>(e.source().begin.line), std::string(e.description()));
    }
}

inline toml::table parse_toml(const std::string& text, const std::string& file) {
    return parse_toml_or_throw(file, [&] { return toml::parse(text, file); });
}

}  // namespace regsync::harness
