#pragma once
// Bounds-checked little/big-endian reading and writing over byte spans. Every read reports underflow
// instead of reading past the end, so decoders can turn it into errc::truncated or errc::need_more.
#include "rdp/protocol/hex.hpp"  // hex32: how codes read from these bytes are printed

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rdp::protocol {

using bytes_view = std::span<const std::uint8_t>;
using byte_buffer = std::vector<std::uint8_t>;

class byte_reader {
 public:
  explicit byte_reader(bytes_view data) noexcept : data_(data) {}

  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  std::size_t position() const noexcept { return pos_; }
  bool empty() const noexcept { return remaining() == 0; }
  bytes_view rest() const noexcept { return data_.subspan(pos_); }

  bool u8(std::uint8_t& v) noexcept {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool u16le(std::uint16_t& v) noexcept {
    if (remaining() < 2) return false;
    v = static_cast<std::uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return true;
  }
  bool u16be(std::uint16_t& v) noexcept {
    if (remaining() < 2) return false;
    v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32le(std::uint32_t& v) noexcept {
    if (remaining() < 4) return false;
    v = static_cast<std::uint32_t>(data_[pos_]) | (static_cast<std::uint32_t>(data_[pos_ + 1]) << 8) |
        (static_cast<std::uint32_t>(data_[pos_ + 2]) << 16) | (static_cast<std::uint32_t>(data_[pos_ + 3]) << 24);
    pos_ += 4;
    return true;
  }
  bool bytes(std::size_t n, bytes_view& out) noexcept {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  // Peeks without consuming; false when fewer than offset+1 bytes remain.
  bool peek(std::size_t offset, std::uint8_t& v) const noexcept {
    if (remaining() <= offset) return false;
    v = data_[pos_ + offset];
    return true;
  }

 private:
  bytes_view data_;
  std::size_t pos_ = 0;
};

class byte_writer {
 public:
  explicit byte_writer(byte_buffer& out) noexcept : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16le(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v));
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  void u16be(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32le(std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8) out_.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  // resize + memcpy rather than vector::insert: at -O3, GCC 12 inlines insert's reallocation path and reports a
  // write into "a region of size 0" (-Wstringop-overflow) that cannot happen; this form has no such path.
  void bytes(bytes_view v) { append(v.data(), v.size()); }
  void text(std::string_view s) { append(s.data(), s.size()); }
  // Overwrites a big-endian u16 written earlier (length fields known only at the end).
  void patch_u16be(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  std::size_t size() const noexcept { return out_.size(); }

 private:
  void append(const void* data, std::size_t n) {
    if (n == 0) return;
    const auto at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, data, n);
  }

  byte_buffer& out_;
};

}  // namespace rdp::protocol
