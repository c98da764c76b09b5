#pragma once
// Error codes of the sans-I/O protocol layer. Decoders never throw on bad input: they return one of these.
// `need_more` is not a failure: it means "feed me more bytes" (Boost.Beast's convention).
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <type_traits>

namespace rdp::protocol {

enum class errc {
  need_more = 1,          // the input is a valid prefix; more bytes are needed
  bad_tpkt_version,       // TPKT byte 0 is not 0x03
  bad_frame_length,       // TPKT/fast-path length outside what the spec allows
  frame_too_large,        // length is legal but above the configured cap
  bad_x224_length,        // X.224 length indicator inconsistent with the frame
  unexpected_tpdu,        // an X.224 TPDU code other than the one expected
  bad_x224_class,         // X.224 class/options byte is not class 0
  bad_negotiation,        // RDP_NEG_* structure malformed (type, length, flags)
  bad_cookie,             // cookie/routing token not terminated by CR LF
  bad_correlation_info,   // RDP_NEG_CORRELATION_INFO malformed
  trailing_bytes,         // bytes left over inside a frame after the PDU
  truncated,              // a frame is complete but the PDU inside it is cut short
  bad_mcs,                // MCS (PER/BER) encoding malformed
  unexpected_mcs_pdu,     // an MCS PDU other than the one expected
  bad_share_header,       // Share Control / Share Data header malformed
  unexpected_share_pdu,   // a share PDU other than the one expected
  value_out_of_range,     // an encoder was asked to write something the format cannot hold
};

const boost::system::error_category& protocol_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

// A decoder's answer: the decoded value and how many input bytes it used, or an error code
// (errc::need_more when the input is an incomplete prefix).
template <class T>
struct decoded {
  T value;
  std::size_t consumed = 0;
};

template <class T>
using decode_result = boost::system::result<decoded<T>>;

inline bool is_need_more(const boost::system::error_code& ec) noexcept {
  return ec == make_error_code(errc::need_more);
}

}  // namespace rdp::protocol

template <>
struct boost::system::is_error_code_enum<rdp::protocol::errc> : std::true_type {};
