// Numbers from JSON input (traces, shard reports) without nlohmann's silent
// conversions: get<std::uint16_t>() of -1 wraps, and of 1e30 is undefined
// behaviour. A number that is not an integer in T's range is a
// JsonFieldError, which the readers report as an InputError.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace regsync::harness {

struct JsonFieldError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <typename T>
T json_integer(const nlohmann::ordered_json& j, std::string_view what) {
    if (j.is_number_unsigned()) {
        if (const auto v = j.get<std::uint64_t>(); std::in_range<T>(v)) return static_cast<T>(v);
    } else if (j.is_number_integer()) {
        if (const auto v = j.get<std::int64_t>(); std::in_range<T>(v)) return static_cast<T>(v);
    }
    std::string text = j.dump();
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    throw JsonFieldError(std::string(what) + " is " + text + ", not an integer from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                         std::to_string(std::numeric_limits<T>::max()));
}

template <typename T>
std::vector<T> json_integers(const nlohmann::ordered_json& j, std::string_view what) {
    if (!j.is_array()) throw JsonFieldError(std::string(what) + " must be an array of integers");
    std::vector<T> out;
    out.reserve(j.size());
    for (const auto& e : j) out.push_back(json_integer<T>(e, what));
    return out;
}

}  // namespace regsync::harness
