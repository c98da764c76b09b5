// The fault proxy's words and its table of faults (faults.hpp): reading a fault's value in its one grammar, merging
// and describing changes, all by walking fault_table. Pure: the scenario parser's fuzz target compiles this file.
#include "rdp/proxy/faults.hpp"

#include "rdp/net/quantity.hpp"
#include "rdp/protocol/word_table.hpp"

#include <utility>

namespace rdp::proxy {
namespace {

using protocol::list_words;
using protocol::value_of;
using protocol::word_of;
using protocol::word_table;

constexpr word_table<phase, 9> phase_words{{
    {phase::connected, "connected"},
    {phase::x224_request, "x224-request"},
    {phase::x224_confirm, "x224-confirm"},
    {phase::tls_client_hello, "tls-client-hello"},
    {phase::tls_established, "tls-established"},
    {phase::first_app_data, "first-app-data"},
    {phase::logged_on, "logged-on"},
    {phase::active, "active"},
    {phase::session_info_sent, "session-info-sent"},
}};

constexpr word_table<idle_expiry, 3> expiry_words{{
    {idle_expiry::drop, "drop"},
    {idle_expiry::reset_sender, "reset"},
    {idle_expiry::reset_both, "reset-both"},
}};

constexpr word_table<corrupt_target, 4> corrupt_words{{
    {corrupt_target::from_client, "from-client"},
    {corrupt_target::from_server, "from-server"},
    {corrupt_target::both, "both"},
    {corrupt_target::none, "none"},
}};

// The words of a fault_value::word member's type: one overload per type.
constexpr const auto& words_of(const idle_expiry*) { return expiry_words; }
constexpr const auto& words_of(const corrupt_target*) { return corrupt_words; }
constexpr const auto& words_of(const phase*) { return phase_words; }

// The text as given, cut to 60 bytes, in quotes: for "found 'x'" (the caller escapes the message).
std::string quoted(std::string_view text) {
  const bool cut = text.size() > 60;
  return "'" + std::string(text.substr(0, 60)) + (cut ? "…'" : "'");
}

std::string duration_text(duration d) { return d.count() == 0 ? "0ms" : net::format_duration(d); }

// A duration of a flag, a file or a request: net::read_duration, kept in milliseconds (what is finer is refused, not
// rounded).
std::optional<duration> read_milliseconds(std::string_view text, bool zero, std::string* why) {
  const auto read = net::read_duration(text, zero ? net::zero_value::allow : net::zero_value::refuse, why);
  if (!read) return std::nullopt;
  const auto ms = std::chrono::duration_cast<duration>(*read);
  if (ms != *read) {
    if (why) *why = quoted(text) + " is not a whole number of milliseconds";
    return std::nullopt;
  }
  return ms;
}

template <class T>
bool read_word(std::optional<T> fault_change::*member, const fault_row& row, std::string_view text, fault_change& into,
               std::string* why) {
  const auto& words = words_of(static_cast<const T*>(nullptr));
  const auto value = value_of(words, text);
  if (!value) {
    if (why) *why = "expected " + describe_value(row) + ", found " + quoted(text);
    return false;
  }
  into.*member = *value;
  return true;
}

}  // namespace

std::string_view to_string(phase p) noexcept { return word_of(phase_words, p); }
std::optional<phase> phase_from_word(std::string_view word) noexcept { return value_of(phase_words, word); }
std::string_view to_string(idle_expiry e) noexcept { return word_of(expiry_words, e); }
std::optional<idle_expiry> idle_expiry_from_word(std::string_view word) noexcept { return value_of(expiry_words, word); }

const fault_row* fault_by_scenario_key(std::string_view key) noexcept {
  for (const auto& row : fault_table)
    if (row.scenario_key == key) return &row;
  return nullptr;
}

const fault_row* fault_by_control_key(std::string_view key) noexcept {
  for (const auto& row : fault_table)
    if (row.control_key == key) return &row;
  return nullptr;
}

std::string describe_value(const fault_row& row) {
  const std::string zero = row.zero_allowed ? "0" : "1ms";
  switch (row.value) {
    case fault_value::time: return "a duration such as 500ms, 30s, 4m30s or 2h (" + zero + " to 24h)";
    case fault_value::limit: return "a duration such as 500ms, 30s, 4m30s or 2h (1ms to 24h), or none";
    case fault_value::rate:
      return "bytes per second" + std::string(row.zero_allowed ? " (0 = unlimited)" : "") +
             ", as a number or like 64KiB/s or 10Mbit/s";
    case fault_value::size:
      return "a number of bytes" + std::string(row.zero_allowed ? " (0 = none)" : "") + ", such as 1500 or 64KiB" +
             (row.most ? ", at most " + std::to_string(row.most) : std::string());
    case fault_value::phase_word: return "a phase (" + list_words(phase_words) + ")";
    case fault_value::word:
      return std::visit(
          [](auto member) -> std::string {
            using type = std::remove_cvref_t<decltype(std::declval<fault_change>().*member)>;
            if constexpr (requires { words_of(static_cast<const typename type::value_type*>(nullptr)); })
              return list_words(words_of(static_cast<const typename type::value_type*>(nullptr)), ", ", " or ");
            else
              return "?";
          },
          row.member);
    case fault_value::on_off: return "true or false";
    case fault_value::act: return "true (or false: nothing)";
  }
  return "?";
}

std::string value_placeholder(const fault_row& row) {
  switch (row.value) {
    case fault_value::time:
    case fault_value::limit: return "D";
    case fault_value::rate: return "RATE";
    case fault_value::size: return "N";
    case fault_value::phase_word: return "PHASE";
    case fault_value::word: {
      auto list = describe_value(row);
      for (std::size_t at; (at = list.find(", ")) != std::string::npos;) list.replace(at, 2, "|");
      if (const auto at = list.find(" or "); at != std::string::npos) list.replace(at, 4, "|");
      return list;
    }
    case fault_value::on_off:
    case fault_value::act: return "";
  }
  return "";
}

bool read_fault(const fault_row& row, std::string_view text, fault_origin origin, fault_change& into, std::string* why) {
  const bool zero = row.zero_allowed && origin == fault_origin::change;
  const auto zero_rule = zero ? net::zero_value::allow : net::zero_value::refuse;
  switch (row.value) {
    case fault_value::time: {
      const auto d = read_milliseconds(text, zero, why);
      if (!d) return false;
      into.*std::get<std::optional<duration> fault_change::*>(row.member) = *d;
      return true;
    }
    case fault_value::limit: {
      auto& member = into.*std::get<std::optional<std::optional<duration>> fault_change::*>(row.member);
      if (text == "none") {
        member = std::optional<duration>{};
        return true;
      }
      const auto d = read_milliseconds(text, false, why);
      if (!d) return false;
      member = std::optional<duration>{*d};
      return true;
    }
    case fault_value::rate:
    case fault_value::size: {
      const auto n = row.value == fault_value::rate ? net::read_rate(text, zero_rule, why)
                                                    : net::read_size(text, zero_rule, why);
      if (!n) return false;
      if (row.most && *n > row.most) {
        if (why) *why = quoted(text) + " is more than " + std::to_string(row.most) + " bytes";
        return false;
      }
      into.*std::get<std::optional<std::uint64_t> fault_change::*>(row.member) = *n;
      return true;
    }
    case fault_value::phase_word:
    case fault_value::word:
      return std::visit(
          [&](auto member) {
            using type = std::remove_cvref_t<decltype(into.*member)>;
            if constexpr (requires { words_of(static_cast<const typename type::value_type*>(nullptr)); })
              return read_word(member, row, text, into, why);
            else
              return false;  // not reached: a word row names a member of a type with words (fault_table_test)
          },
          row.member);
    case fault_value::on_off:
    case fault_value::act: {
      if (text != "true" && text != "false") {
        if (why) *why = "expected true or false, found " + quoted(text);
        return false;
      }
      if (row.value == fault_value::act)
        into.*std::get<bool fault_change::*>(row.member) = text == "true";
      else
        into.*std::get<std::optional<bool> fault_change::*>(row.member) = text == "true";
      return true;
    }
  }
  return false;
}

bool names(const fault_change& change, const fault_row& row) noexcept {
  return std::visit(
      [&](auto member) {
        const auto& value = change.*member;
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, bool>)
          return value;
        else
          return value.has_value();
      },
      row.member);
}

bool names_any(const fault_change& change) noexcept {
  for (const auto& row : fault_table)
    if (names(change, row)) return true;
  return false;
}

void merge(fault_change& into, const fault_change& change) {
  for (const auto& row : fault_table)
    std::visit(
        [&](auto member) {
          // An act is done once by whoever applies the change, never inherited.
          if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(change.*member)>, bool>)
            if (change.*member) into.*member = change.*member;
        },
        row.member);
}

std::string describe(const fault_change& change) {
  std::string out;
  const auto add = [&](std::string_view said, const std::string& value = {}) {
    if (!out.empty()) out += ", ";
    out += said;
    if (!value.empty()) out += " " + value;
  };
  for (const auto& row : fault_table) {
    if (!names(change, row)) continue;
    switch (row.value) {
      case fault_value::time:
        add(row.said, duration_text(*(change.*std::get<std::optional<duration> fault_change::*>(row.member))));
        break;
      case fault_value::limit: {
        const auto& limit = *(change.*std::get<std::optional<std::optional<duration>> fault_change::*>(row.member));
        if (limit) add(row.said, duration_text(*limit));
        else add(row.said_off);
        break;
      }
      case fault_value::rate:
      case fault_value::size:
        add(row.said, std::to_string(*(change.*std::get<std::optional<std::uint64_t> fault_change::*>(row.member))) +
                          (row.value == fault_value::rate ? " B/s" : " B"));
        break;
      case fault_value::phase_word:
      case fault_value::word:
        std::visit(
            [&](auto member) {
              using type = std::remove_cvref_t<decltype(change.*member)>;
              if constexpr (requires { words_of(static_cast<const typename type::value_type*>(nullptr)); })
                add(row.said, std::string(word_of(words_of(static_cast<const typename type::value_type*>(nullptr)),
                                                  *(change.*member))));
            },
            row.member);
        break;
      case fault_value::on_off:
        add(*(change.*std::get<std::optional<bool> fault_change::*>(row.member)) ? row.said : row.said_off);
        break;
      case fault_value::act: add(row.said); break;
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace rdp::proxy
