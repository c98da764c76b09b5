// The administrator's views of the session table: Windows' `query session` / `query user` columns and the JSON
// form the control interface sends. Column positions follow what qwinsta.exe and quser.exe print on Windows Server
// 2016-2022 (en-US), e.g.
//    SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE
//    rdp-tcp#6         alice                     2  Active
//    rdp-tcp                                 65536  Listen
// and
//    USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME
//    alice                 rdp-tcp#6           2  Active    1+00:27  9/1/2015 8:54 PM
// Scripts parse these tables by column position, so the positions are kept exactly; a value too long for its
// column is shortened with "..." (as qwinsta does for long session names) rather than shifting the columns.
#include "rdp/protocol/text.hpp"
#include "rdp/sim/control_requests.hpp"
#include "rdp/sim/sessions.hpp"

#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace rdp::sim {
namespace {

using namespace std::chrono;

constexpr std::string_view query_session_header =
    " SESSIONNAME       USERNAME                 ID  STATE   TYPE        DEVICE\n";
constexpr std::string_view query_user_header =
    " USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\n";

// `text` cut to `width` characters (code points, as a terminal shows them), the last three replaced by "..." when it
// was longer (qwinsta's "31c5ce94259d4..."). Never cuts inside a UTF-8 sequence.
std::string shorten(std::string_view text, std::size_t width) {
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  auto prefix_of = [&](std::size_t characters) {
    std::size_t i = 0, seen = 0;
    while (i < text.size() && seen < characters) {
      ++i;
      while (i < text.size() && is_continuation(text[i])) ++i;
      ++seen;
    }
    return std::pair{i, seen};
  };
  const auto [all, count] = prefix_of(width + 1);
  if (count <= width) return std::string(text.substr(0, all));
  return std::string(text.substr(0, prefix_of(width - 3).first)) + "...";
}

// A name from the wire (Client Info user and domain) as a terminal may show it: escape sequences and bytes that are
// not UTF-8 as \xNN (protocol::escape_for_terminal), then cut to its column.
std::string column_text(std::string_view raw, std::size_t width) {
  return shorten(protocol::escape_for_terminal(raw), width);
}

void pad_to(std::string& line, std::size_t column) {
  if (line.size() < column) line.append(column - line.size(), ' ');
}

// Appends `value` right-aligned so that its last character is at `last_column`; at least one space before it
// when what is on the left already reaches that far.
void append_right_aligned(std::string& line, std::string_view value, std::size_t last_column) {
  const std::size_t end = last_column + 1;
  if (line.size() + value.size() < end) line.append(end - line.size() - value.size(), ' ');
  else line.push_back(' ');
  line.append(value);
}

// en-US short date and time, as quser prints LOGON TIME: "9/1/2015 8:54 PM".
std::string logon_text(system_clock::time_point when, time_display zone) {
  const std::time_t t = system_clock::to_time_t(when);
  std::tm tm{};
  if (zone == time_display::utc) gmtime_r(&t, &tm);
  else localtime_r(&t, &tm);
  const int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char text[64];
  std::snprintf(text, sizeof text, "%d/%d/%d %d:%02d %s", tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, hour12,
                tm.tm_min, tm.tm_hour < 12 ? "AM" : "PM");
  return text;
}

std::string iso8601_utc(system_clock::time_point when) {
  const auto day = floor<days>(when);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> time(floor<seconds>(when - day));
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()));
  return text;
}

// "YYYY-MM-DDTHH:MM:SSZ" (what iso8601_utc writes); throws std::invalid_argument otherwise.
system_clock::time_point parse_iso8601_utc(const std::string& text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char zulu = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2uT%2u:%2u:%2u%c%n", &y, &mo, &d, &h, &mi, &s, &zulu, &consumed) != 7 ||
      zulu != 'Z' || static_cast<std::size_t>(consumed) != text.size() || h > 23 || mi > 59 || s > 60)
    throw std::invalid_argument("logon_time '" + text + "' is not YYYY-MM-DDTHH:MM:SSZ");
  const year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok()) throw std::invalid_argument("logon_time '" + text + "' is not a date");
  return sys_days(ymd) + hours(h) + minutes(mi) + seconds(s);
}

}  // namespace

std::string validate(const session_policy& policy) {
  auto out_of = [](std::string_view member, std::int64_t lowest, std::int64_t highest, std::int64_t value) {
    std::string text(member);
    text += " must be a whole number from ";
    text += std::to_string(lowest);
    text += " to ";
    text += std::to_string(highest);
    text += ", not ";
    text += std::to_string(value);
    return text;
  };
  if (policy.max_sessions && (*policy.max_sessions < 1 || *policy.max_sessions > max_max_sessions))
    return out_of("max_sessions", 1, max_max_sessions, *policy.max_sessions);
  const std::pair<std::string_view, const std::optional<std::chrono::milliseconds>*> limits[] = {
      {"idle_limit_seconds", &policy.idle_limit},
      {"logon_timeout_seconds", &policy.logon_timeout},
      {"disconnected_limit_seconds", &policy.disconnected_limit}};
  for (const auto& [member, limit] : limits) {
    const auto highest = member == "disconnected_limit_seconds" ? max_disconnected_limit : max_time_limit;
    // At least 1 ms, not 1 s: a time scale makes limits shorter than a second (sessions.hpp). The message speaks of
    // whole seconds, the grammar of the profile and the control interface, where such a value comes from.
    if (*limit && (**limit < std::chrono::milliseconds(1) || **limit > highest)) {
      const auto ms = (*limit)->count();
      if (ms % 1000 == 0) return out_of(member, 1, highest.count(), ms / 1000);
      std::string text(member);
      text += ms < 1 ? " must last at least 1 ms, not " : " must last at most " + std::to_string(highest.count()) +
                                                              " seconds, not ";
      text += std::to_string(ms);
      text += " ms";
      return text;
    }
  }
  return {};
}

std::string_view to_string(session_state s) noexcept {
  switch (s) {
    case session_state::active: return "Active";
    case session_state::connected: return "Conn";
    case session_state::disconnected: return "Disc";
    case session_state::listen: return "Listen";
  }
  return "Unknown";
}

std::string_view to_string(restart_sessions s) noexcept { return s == restart_sessions::keep ? "keep" : "end"; }

std::optional<restart_sessions> restart_sessions_from_word(std::string_view word) noexcept {
  for (auto s : {restart_sessions::keep, restart_sessions::end})
    if (to_string(s) == word) return s;
  return std::nullopt;
}

std::string_view state_word(session_state s) noexcept {
  switch (s) {
    case session_state::active: return "active";
    case session_state::connected: return "connected";
    case session_state::disconnected: return "disconnected";
    case session_state::listen: return "listen";
  }
  return "unknown";
}

std::optional<session_state> state_from_word(std::string_view word) noexcept {
  for (auto s : {session_state::active, session_state::connected, session_state::disconnected, session_state::listen})
    if (state_word(s) == word) return s;
  return std::nullopt;
}

std::string format_query_session(const std::vector<session_info>& sessions) {
  std::string out(query_session_header);
  for (const auto& s : sessions) {
    // Appended, not `" " + column_text(…)`: that is GCC 12's -O3 -Wstringop-overflow false positive (bug 105651).
    std::string line(" ");
    line += column_text(s.name, 16);
    pad_to(line, 19);
    line += column_text(s.user, 20);
    append_right_aligned(line, std::to_string(s.id), 45);
    line += "  ";
    line += to_string(s.state);
    out += line + "\n";
  }
  return out;
}

std::string format_idle(std::chrono::milliseconds idle) {
  const auto total_minutes = duration_cast<minutes>(idle).count();
  if (total_minutes < 1) return ".";
  if (total_minutes < 60) return std::to_string(total_minutes);
  const auto total_hours = total_minutes / 60;
  char text[48];
  if (total_hours < 24) {
    std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(total_hours),
                  static_cast<long long>(total_minutes % 60));
  } else {
    std::snprintf(text, sizeof text, "%lld+%02lld:%02lld", static_cast<long long>(total_hours / 24),
                  static_cast<long long>(total_hours % 24), static_cast<long long>(total_minutes % 60));
  }
  return text;
}

std::string format_query_user(const std::vector<session_info>& sessions, time_display zone) {
  std::string out(query_user_header);
  bool any = false;
  for (const auto& s : sessions) {
    if (s.user.empty() || s.state == session_state::listen) continue;
    any = true;
    std::string line(" ");
    line += column_text(s.user, 20);
    pad_to(line, 23);
    line += column_text(s.name, 16);
    append_right_aligned(line, std::to_string(s.id), 43);
    line += "  ";
    line += to_string(s.state);
    append_right_aligned(line, format_idle(s.idle), 62);
    if (s.logon_time) line += "  " + logon_text(*s.logon_time, zone);
    out += line + "\n";
  }
  if (!any) return "No User exists for *\n";
  return out;
}

namespace {

// Text from the wire as a JSON string (always valid UTF-8) and, when that lost or hid something, its bytes as hex
// beside it under `<name>_hex`.
void put_wire_text(nlohmann::json& j, const std::string& name, const std::string& raw) {
  j[name] = protocol::to_valid_utf8(raw);
  if (protocol::needs_raw_hex(raw)) j[name + "_hex"] = protocol::to_hex(raw);
}

std::optional<std::string> from_hex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// The member `name`, or the raw bytes from `<name>_hex` when that is there and is hex.
std::string wire_text(const nlohmann::json& j, const std::string& name, bool required) {
  if (const auto it = j.find(name + "_hex"); it != j.end() && it->is_string())
    if (auto raw = from_hex(it->get_ref<const std::string&>())) return *raw;
  return required ? j.at(name).get<std::string>() : j.value(name, std::string());
}

}  // namespace

void to_json(nlohmann::json& j, const session_info& s) {
  j = nlohmann::json{{"id", s.id},
                     {"name", protocol::to_valid_utf8(s.name)},
                     {"state", state_word(s.state)},
                     {"client_address", protocol::to_valid_utf8(s.client_address)},
                     {"logon_time", s.logon_time ? nlohmann::json(iso8601_utc(*s.logon_time)) : nlohmann::json()},
                     {"idle_ms", s.idle.count()}};
  put_wire_text(j, "user", s.user);
  put_wire_text(j, "domain", s.domain);
}

void from_json(const nlohmann::json& j, session_info& s) {
  session_info out;
  out.id = j.at("id").get<std::uint32_t>();
  out.name = j.at("name").get<std::string>();
  out.user = wire_text(j, "user", true);
  out.domain = wire_text(j, "domain", false);
  const auto word = j.at("state").get<std::string>();
  const auto state = state_from_word(word);
  if (!state) throw nlohmann::json::other_error::create(501, "unknown session state '" + word + "'", &j);
  out.state = *state;
  out.client_address = j.value("client_address", std::string());
  if (const auto& t = j.at("logon_time"); !t.is_null()) {
    try {
      out.logon_time = parse_iso8601_utc(t.get<std::string>());
    } catch (const std::invalid_argument& e) {
      throw nlohmann::json::other_error::create(501, e.what(), &j);
    }
  }
  out.idle = milliseconds(j.at("idle_ms").get<std::int64_t>());
  s = std::move(out);
}

}  // namespace rdp::sim
