// Strict recursive-descent JSON parser (see json.h). Recursion depth is bounded by max_depth, so
// a hostile header of a million '[' fails with a message instead of overflowing the stack.
#include "json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <locale>
#include <sstream>

#include "error.h"

namespace px::json {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Null: return "null";
    case Kind::Bool: return "a boolean";
    case Kind::Number: return "a number";
    case Kind::String: return "a string";
    case Kind::Array: return "an array";
    case Kind::Object: return "an object";
  }
  return "?";
}

static void expect_kind(Kind have, Kind want) {
  if (have != want)
    throw EngineError(ErrorKind::BadWeights, std::string("JSON value is ") + kind_name(have) + ", not " + kind_name(want));
}

bool Value::boolean() const { expect_kind(kind_, Kind::Bool); return bool_; }
double Value::number() const { expect_kind(kind_, Kind::Number); return num_; }
int64_t Value::integer() const {
  expect_kind(kind_, Kind::Number);
  if (!is_int_) throw EngineError(ErrorKind::BadWeights, "JSON number is not an integer");
  return int_;
}
const std::string& Value::string() const { expect_kind(kind_, Kind::String); return str_; }
const std::vector<Value>& Value::array() const { expect_kind(kind_, Kind::Array); return items_; }
const std::vector<Member>& Value::object() const { expect_kind(kind_, Kind::Object); return members_; }

const Value* Value::find(std::string_view key) const {
  for (const Member& m : members_)
    if (m.key == key) return &m.value;
  return nullptr;
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& source, int max_depth)
      : s_(text), source_(source), max_depth_(max_depth) {}

  Value document() {
    Value v;
    skip_ws();
    value(v, 0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected " + describe_here() + " after the JSON value");
    return v;
  }

 private:
  std::string_view s_;
  const std::string& source_;
  int max_depth_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    throw EngineError(ErrorKind::BadWeights, source_ + ": invalid JSON at byte " + std::to_string(at) + ": " + what);
  }

  std::string describe_here() const {
    if (pos_ >= s_.size()) return "end of input";
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", c);
    return std::string("byte ") + buf;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c, const char* context) {
    if (peek() != c) fail(std::string("expected '") + c + "' " + context + ", found " + describe_here());
    ++pos_;
  }

  void literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("unexpected " + describe_here());
    pos_ += word.size();
  }

  void value(Value& out, int depth) {
    switch (peek()) {
      case '{': object(out, depth + 1); return;
      case '[': array(out, depth + 1); return;
      case '"': out.kind_ = Kind::String; string(out.str_); return;
      case 't': literal("true"); out.kind_ = Kind::Bool; out.bool_ = true; return;
      case 'f': literal("false"); out.kind_ = Kind::Bool; out.bool_ = false; return;
      case 'n': literal("null"); out.kind_ = Kind::Null; return;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) { number(out); return; }
        fail("expected a value, found " + describe_here());
    }
  }

  void check_depth(int depth) const {
    if (depth > max_depth_) fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
  }

  void object(Value& out, int depth) {
    check_depth(depth);
    out.kind_ = Kind::Object;
    ++pos_;  // '{'
    skip_ws();
    if (peek() == '}') { ++pos_; return; }
    std::vector<size_t> key_offsets;
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key in object, found " + describe_here());
      key_offsets.push_back(pos_);
      Member m;
      string(m.key);
      skip_ws();
      expect(':', "after object key");
      skip_ws();
      value(m.value, depth);
      out.members_.push_back(std::move(m));
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      expect('}', "or ',' in object");
      break;
    }
    reject_duplicate_keys(out.members_, key_offsets);
  }

  // Sorting once keeps this O(n log n) for safetensors headers with thousands of keys.
  void reject_duplicate_keys(const std::vector<Member>& members, const std::vector<size_t>& offsets) const {
    std::vector<size_t> order(members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return members[a].key < members[b].key || (members[a].key == members[b].key && a < b);
    });
    for (size_t i = 1; i < order.size(); ++i)
      if (members[order[i]].key == members[order[i - 1]].key)
        fail_at(offsets[order[i]], "duplicate key \"" + members[order[i]].key + "\" in object");
  }

  void array(Value& out, int depth) {
    check_depth(depth);
    out.kind_ = Kind::Array;
    ++pos_;  // '['
    skip_ws();
    if (peek() == ']') { ++pos_; return; }
    for (;;) {
      skip_ws();
      out.items_.emplace_back();
      value(out.items_.back(), depth);
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      expect(']', "or ',' in array");
      break;
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      unsigned c = static_cast<unsigned char>(s_[pos_++]);
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail_at(pos_ - 1, "bad hex digit in \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // \uXXXX, with a high surrogate followed by its \uXXXX low surrogate forming one code point.
  uint32_t unicode_escape() {
    size_t at = pos_ - 2;
    uint32_t cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at(at, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (s_.substr(pos_, 2) != "\\u") fail_at(at, "high surrogate not followed by a \\u low surrogate");
      pos_ += 2;
      uint32_t lo = hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) fail_at(at, "high surrogate not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
  }

  // Length of the well-formed UTF-8 sequence starting at pos_ (lead byte >= 0x80), 0 if invalid:
  // no overlong forms, no encoded surrogates, nothing above U+10FFFF.
  size_t utf8_sequence() const {
    auto byte = [&](size_t i) -> unsigned {
      return pos_ + i < s_.size() ? static_cast<unsigned char>(s_[pos_ + i]) : 0u;
    };
    auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
      unsigned b = byte(i);
      return b >= lo && b <= hi;
    };
    unsigned b0 = byte(0);
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (b0 >= 0xE1 && b0 <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (b0 == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
  }

  void string(std::string& out) {
    size_t start = pos_;
    ++pos_;  // opening quote
    for (;;) {
      if (at_end()) fail_at(start, "unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') { ++pos_; return; }
      if (c < 0x20) fail("raw control character in string (must be escaped)");
      if (c >= 0x80) {
        size_t n = utf8_sequence();
        if (n == 0) fail("invalid UTF-8 in string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      ++pos_;
      if (c != '\\') { out += static_cast<char>(c); continue; }
      if (at_end()) fail_at(start, "unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, unicode_escape()); break;
        default: fail_at(pos_ - 2, std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  bool digit() const { return !at_end() && s_[pos_] >= '0' && s_[pos_] <= '9'; }

  // Grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  void number(Value& out) {
    size_t start = pos_;
    bool negative = peek() == '-';
    if (negative) ++pos_;
    if (!digit()) fail("expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (digit()) fail_at(pos_ - 1, "leading zero in number");
    } else {
      while (digit()) ++pos_;
    }
    bool plain_integer = true;
    if (peek() == '.') {
      ++pos_;
      if (!digit()) fail("expected a digit after '.'");
      while (digit()) ++pos_;
      plain_integer = false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digit()) fail("expected a digit in exponent");
      while (digit()) ++pos_;
      plain_integer = false;
    }
    std::string_view lit = s_.substr(start, pos_ - start);
    out.kind_ = Kind::Number;
    if (plain_integer && exact_integer(lit, negative, out.int_)) {
      out.is_int_ = true;
      out.num_ = static_cast<double>(out.int_);
      return;
    }
    out.num_ = to_double(lit, start);
    // Integral doubles up to 2^53 are exact integers; beyond that the literal's digits were lost.
    if (std::trunc(out.num_) == out.num_ && std::fabs(out.num_) <= 9007199254740992.0) {
      out.is_int_ = true;
      out.int_ = static_cast<int64_t>(out.num_);
    }
  }

  // Digit-by-digit so that every int64 (e.g. a 40 GB offset) is exact; false on overflow.
  static bool exact_integer(std::string_view lit, bool negative, int64_t& out) {
    uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
    uint64_t v = 0;
    for (char c : lit.substr(negative ? 1 : 0)) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (limit - d) / 10) return false;
      v = v * 10 + d;
    }
    out = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    return true;
  }

  // The grammar is already checked; conversion goes through the classic locale so a host process
  // that set a ',' decimal separator cannot change how "1e-05" reads.
  double to_double(std::string_view lit, size_t at) const {
    std::istringstream in{std::string(lit)};
    in.imbue(std::locale::classic());
    double d = 0;
    in >> d;
    if (in.fail() || !std::isfinite(d)) fail_at(at, "number " + std::string(lit) + " is out of range");
    return d;
  }
};

Value parse(std::string_view text, const std::string& source, int max_depth) {
  return Parser(text, source, max_depth).document();
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace px::json
