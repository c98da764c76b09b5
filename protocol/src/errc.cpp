#include "rdp/protocol/errc.hpp"

#include <string>

namespace rdp::protocol {
namespace {

class protocol_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "rdp.protocol"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::need_more: return "need more bytes";
      case errc::bad_tpkt_version: return "not a TPKT header (version byte is not 0x03)";
      case errc::bad_frame_length: return "frame length outside the range the spec allows";
      case errc::frame_too_large: return "frame length above the configured limit";
      case errc::bad_x224_length: return "X.224 length indicator inconsistent with the frame";
      case errc::unexpected_tpdu: return "unexpected X.224 TPDU type";
      case errc::bad_x224_class: return "X.224 class/options is not class 0";
      case errc::bad_negotiation: return "malformed RDP negotiation structure";
      case errc::bad_cookie: return "cookie or routing token not terminated by CR LF";
      case errc::bad_correlation_info: return "malformed RDP_NEG_CORRELATION_INFO";
      case errc::trailing_bytes: return "unexpected bytes after the PDU";
      case errc::truncated: return "PDU truncated inside its frame";
      case errc::bad_mcs: return "malformed MCS encoding";
      case errc::unexpected_mcs_pdu: return "unexpected MCS PDU";
      case errc::bad_share_header: return "malformed share control/data header";
      case errc::unexpected_share_pdu: return "unexpected share PDU type";
      case errc::value_out_of_range: return "value cannot be encoded in this field";
    }
    return "unknown rdp.protocol error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& protocol_category() noexcept {
  static const protocol_category_impl instance;
  return instance;
}

}  // namespace rdp::protocol
