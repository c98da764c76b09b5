#pragma once
// Error codes of the I/O layers (probe, simulator), in their own category beside rdp.protocol's.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace rdp::net {

enum class errc {
  timed_out = 1,      // a per-operation deadline expired
  frame_too_large,    // the peer announced a frame above our cap
  peer_closed,        // the peer closed the connection before the exchange finished
  bad_target,         // a target string that cannot be parsed
  bad_quantity,       // a duration, size or rate that cannot be parsed (quantity.hpp)
};

const boost::system::error_category& net_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), net_category()}; }

}  // namespace rdp::net

template <>
struct boost::system::is_error_code_enum<rdp::net::errc> : std::true_type {};
