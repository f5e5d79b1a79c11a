// A small strict JSON reader (RFC 8259) for the files stage 0 reads: safetensors headers,
// params.json, config.json, model.safetensors.index.json. Untrusted input: nesting is capped, raw
// strings must be valid UTF-8, \u escapes (surrogate pairs included) become UTF-8, duplicate keys
// are rejected, and every error says which byte of which file is wrong. Numbers keep their double
// value and, when integral, an exact int64 (tensor offsets exceed 2^53 only in theory, but sizes
// must never pass through a rounding double).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace px::json {

enum class Kind { Null, Bool, Number, String, Array, Object };
const char* kind_name(Kind k);  // "null", "a boolean", "a number", ... (for messages)

struct Member;

class Value {
 public:
  Value() = default;  // null

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_number() const { return kind_ == Kind::Number; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_object() const { return kind_ == Kind::Object; }
  // True for a number whose value is an integer that int64 holds exactly ("128", "1e3", "128.0").
  bool is_integer() const { return kind_ == Kind::Number && is_int_; }

  // Accessors throw EngineError when the kind differs; callers check the kind first to phrase
  // their own error, so the throw is only a guard against misuse.
  bool boolean() const;
  double number() const;
  int64_t integer() const;
  const std::string& string() const;
  const std::vector<Value>& array() const;
  const std::vector<Member>& object() const;  // members in file order

  // Object member by key; nullptr when absent or when this is not an object.
  const Value* find(std::string_view key) const;

 private:
  friend class Parser;
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool is_int_ = false;
  double num_ = 0;
  int64_t int_ = 0;
  std::string str_;
  std::vector<Value> items_;
  std::vector<Member> members_;
};

struct Member {
  std::string key;
  Value value;
};

// Parses a whole document (surrounding whitespace allowed, anything else after it is an error).
// Throws EngineError "<source>: invalid JSON at byte N: <what>".
Value parse(std::string_view text, const std::string& source, int max_depth = 64);

// The JSON string literal of s (quotes, backslashes and control characters escaped), for the few
// files and reports the engine writes.
std::string quote(std::string_view s);

}  // namespace px::json
