// SPDX-License-Identifier: MIT
// Result<T>: a value or the Status that explains why there is none.
#pragma once

#include "core/status.h"

#include <cassert>
#include <utility>
#include <variant>

namespace voice {

/// A value of type T, or a failed Status. std::expected is not available
/// with this toolchain (GCC 12), so this is the small subset we need.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    /// Construct from a failed Status. Passing an ok Status is a bug.
    Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {
        assert(!std::get<1>(v_).ok() && "Result built from an ok Status");
    }
    Result(Errc code, std::string detail) : Result(Status(code, std::move(detail))) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// The failure; an ok Status when there is a value.
    Status status() const { return ok() ? Status() : std::get<1>(v_); }

private:
    std::variant<T, Status> v_;
};

} // namespace voice
