// See gguf.h. Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 key count; the
// keys (string key, u32 value type, value); the tensor infos (string name, u32 n_dims, u64 ne[n_dims]
// innermost first, u32 ggml type, u64 offset); padding to the alignment; the data section, which
// every tensor offset is relative to. A string is a u64 byte count and the bytes.
#include "gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "error.h"

namespace px {
namespace {

constexpr uint64_t kMaxCount = 1u << 24;      // keys, tensors, array elements of a sane file
constexpr uint64_t kMaxString = 64ull << 20;  // bytes of one string

// ggml's tensor types (ggml.h numbering): name, values per block, bytes per block; zero blocks are
// ids no type has.
struct GgmlType {
  const char* name;
  uint64_t block, bytes;
};
constexpr GgmlType kGgmlTypes[] = {
    {"F32", 1, 4},       {"F16", 1, 2},      {"Q4_0", 32, 18},   {"Q4_1", 32, 20},   {"", 0, 0},
    {"", 0, 0},          {"Q5_0", 32, 22},   {"Q5_1", 32, 24},   {"Q8_0", 32, 34},   {"Q8_1", 32, 36},
    {"Q2_K", 256, 84},   {"Q3_K", 256, 110}, {"Q4_K", 256, 144}, {"Q5_K", 256, 176}, {"Q6_K", 256, 210},
    {"Q8_K", 256, 292},  {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74}, {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18},  {"IQ3_S", 256, 110}, {"IQ2_S", 256, 82}, {"IQ4_XS", 256, 136}, {"I8", 1, 1},
    {"I16", 1, 2},       {"I32", 1, 4},      {"I64", 1, 8},      {"F64", 1, 8},      {"IQ1_M", 256, 56},
    {"BF16", 1, 2},      {"", 0, 0},         {"", 0, 0},         {"", 0, 0},         {"TQ1_0", 256, 54},
    {"TQ2_0", 256, 66},  {"", 0, 0},         {"", 0, 0},         {"", 0, 0},         {"MXFP4", 32, 17},
    {"NVFP4", 64, 36},   {"Q1_0", 128, 18},
};
constexpr uint32_t kGgmlTypeCount = sizeof(kGgmlTypes) / sizeof(kGgmlTypes[0]);

// The types the engine reads, as file dtypes.
bool readable(uint32_t type, FileDType* out) {
  switch (type) {
    case 0: *out = FileDType::F32; return true;
    case 1: *out = FileDType::F16; return true;
    case 2: *out = FileDType::Q4_0; return true;
    case 8: *out = FileDType::Q8_0; return true;
    case 30: *out = FileDType::BF16; return true;
    default: return false;
  }
}

// GGUF value types: byte size of the fixed-size ones (string = 8, array = 9 are variable).
constexpr uint64_t kValueSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
enum : uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };

// A bounds-checked cursor over the mapped file.
class Reader {
 public:
  Reader(const unsigned char* data, uint64_t size, const std::string& path) : p_(data), size_(size), path_(path) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw EngineError(ErrorKind::BadWeights, path_ + ": " + what + " (at byte " + std::to_string(at_) + ")");
  }
  uint64_t at() const { return at_; }
  void need(uint64_t n, const char* what) const {
    if (n > size_ - at_) fail(std::string(what) + " runs past the end of the file (truncated?)");
  }
  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const uint64_t n = read<uint64_t>(what);
    if (n > kMaxString) fail(std::string(what) + " has a length of " + std::to_string(n) + " bytes");
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + at_), n);
    at_ += n;
    return s;
  }
  void skip(uint64_t n, const char* what) {
    need(n, what);
    at_ += n;
  }

 private:
  const unsigned char* p_;
  uint64_t size_, at_ = 0;
  const std::string& path_;
};

GgufFile::Value read_value(Reader& r, uint32_t type, const std::string& key) {
  GgufFile::Value v;
  v.type = type;
  const std::string what = "value of " + key;
  switch (type) {
    case kU8: v.integer = r.read<uint8_t>(what.c_str()); break;
    case kI8: v.integer = r.read<int8_t>(what.c_str()); break;
    case kU16: v.integer = r.read<uint16_t>(what.c_str()); break;
    case kI16: v.integer = r.read<int16_t>(what.c_str()); break;
    case kU32: v.integer = r.read<uint32_t>(what.c_str()); break;
    case kI32: v.integer = r.read<int32_t>(what.c_str()); break;
    case kU64: {
      const uint64_t u = r.read<uint64_t>(what.c_str());
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) r.fail(key + " is a uint64 too large to use");
      v.integer = static_cast<int64_t>(u);
      break;
    }
    case kI64: v.integer = r.read<int64_t>(what.c_str()); break;
    case kF32: v.number = r.read<float>(what.c_str()); break;
    case kF64: v.number = r.read<double>(what.c_str()); break;
    case kBool: {
      const uint8_t b = r.read<uint8_t>(what.c_str());
      if (b > 1) r.fail(key + " is a bool of value " + std::to_string(b));
      v.boolean = b;
      break;
    }
    case kString: v.string = r.string(what.c_str()); break;
    case kArray: {
      v.array_type = r.read<uint32_t>(what.c_str());
      v.array_length = r.read<uint64_t>(what.c_str());
      if (v.array_length > kMaxCount) r.fail(key + " is an array of " + std::to_string(v.array_length) + " elements");
      if (v.array_type == kString) {
        for (uint64_t i = 0; i < v.array_length; ++i) r.string(what.c_str());
      } else if (v.array_type < sizeof(kValueSizes) / sizeof(kValueSizes[0]) && kValueSizes[v.array_type] > 0) {
        r.skip(v.array_length * kValueSizes[v.array_type], what.c_str());
      } else {
        r.fail(key + " is an array of value type " + std::to_string(v.array_type) + ", which GGUF does not define for arrays");
      }
      break;
    }
    default: r.fail(key + " has value type " + std::to_string(type) + ", which GGUF does not define");
  }
  if (type <= kI32 || type == kU64 || type == kI64) v.number = static_cast<double>(v.integer);
  return v;
}

}  // namespace

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  const FileMapping m = map_file(path);
  std::unique_ptr<GgufFile> f(new GgufFile());  // unmaps on every error path from here on
  f->path_ = path;
  f->map_ = m.addr;
  f->size_ = m.size;
  const auto* bytes = static_cast<const unsigned char*>(m.addr);
  Reader r(bytes, m.size, path);

  r.need(4, "the magic number");
  if (std::memcmp(bytes, "GGUF", 4) != 0) r.fail("does not start with \"GGUF\" (not a GGUF file?)");
  r.skip(4, "the magic number");
  const uint32_t version = r.read<uint32_t>("the version");
  if (version != 2 && version != 3)
    r.fail("is GGUF version " + std::to_string(version) + "; this engine reads versions 2 and 3");
  const uint64_t n_tensors = r.read<uint64_t>("the tensor count"), n_keys = r.read<uint64_t>("the key count");
  if (n_tensors > kMaxCount || n_keys > kMaxCount)
    r.fail("claims " + std::to_string(n_tensors) + " tensors and " + std::to_string(n_keys) + " keys");

  for (uint64_t i = 0; i < n_keys; ++i) {
    std::string key = r.string("a metadata key");
    const uint32_t type = r.read<uint32_t>("a value type");
    Value v = read_value(r, type, key);
    if (!f->metadata_.emplace(key, std::move(v)).second) r.fail("repeats the key " + key);
  }
  uint64_t alignment = 32;
  if (const Value* a = f->find("general.alignment")) {
    if (a->type != kU32 || a->integer == 0 || (a->integer & (a->integer - 1)))
      throw EngineError(ErrorKind::BadWeights, path + ": general.alignment must be a power of two uint32");
    alignment = static_cast<uint64_t>(a->integer);
  }

  struct Info {
    std::string name;
    std::vector<int64_t> shape;
    uint32_t type;
    uint64_t offset, bytes;
  };
  std::vector<Info> infos;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Info t;
    t.name = r.string("a tensor name");
    const uint32_t n_dims = r.read<uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > 4) r.fail("tensor " + t.name + " has " + std::to_string(n_dims) + " dimensions");
    std::vector<uint64_t> ne(n_dims);
    for (uint64_t& d : ne) d = r.read<uint64_t>("a tensor dimension");
    t.type = r.read<uint32_t>("a tensor type");
    t.offset = r.read<uint64_t>("a tensor offset");
    if (t.type >= kGgmlTypeCount || kGgmlTypes[t.type].block == 0)
      r.fail("tensor " + t.name + " has ggml type " + std::to_string(t.type) + ", which ggml does not define");
    const GgmlType& g = kGgmlTypes[t.type];
    if (ne[0] % g.block) r.fail("tensor " + t.name + " has rows of " + std::to_string(ne[0]) + " values, not whole " + g.name + " blocks");
    uint64_t blocks = ne[0] / g.block;
    for (uint32_t d = 1; d < n_dims; ++d) {
      if (ne[d] != 0 && blocks > std::numeric_limits<uint64_t>::max() / g.bytes / ne[d])
        r.fail("tensor " + t.name + " has a size that overflows");
      blocks *= ne[d];
    }
    t.bytes = blocks * g.bytes;
    for (uint32_t d = n_dims; d-- > 0;) t.shape.push_back(static_cast<int64_t>(ne[d]));  // outermost first
    if (t.offset % alignment) r.fail("tensor " + t.name + " starts at data offset " + std::to_string(t.offset) +
                                     ", not a multiple of the alignment " + std::to_string(alignment));
    infos.push_back(std::move(t));
  }
  const uint64_t data_start = (r.at() + alignment - 1) / alignment * alignment;
  if (data_start > m.size) r.fail("the data section starts past the end of the file");
  const uint64_t data_len = m.size - data_start;

  std::sort(infos.begin(), infos.end(), [](const Info& a, const Info& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < infos.size(); ++i) {
    const Info& t = infos[i];
    if (t.offset > data_len || t.bytes > data_len - t.offset)
      throw EngineError(ErrorKind::BadWeights, path + ": tensor " + t.name + " ends at data offset " + std::to_string(t.offset + t.bytes) +
                                                   ", past the end of the file (" + std::to_string(data_len) + " data bytes; truncated?)");
    if (i > 0 && t.bytes && t.offset < infos[i - 1].offset + infos[i - 1].bytes)
      throw EngineError(ErrorKind::BadWeights, path + ": tensor " + t.name + " overlaps tensor " + infos[i - 1].name);
    if (f->tensors_.count(t.name) || f->unread_.count(t.name))
      throw EngineError(ErrorKind::BadWeights, path + ": tensor " + t.name + " is listed twice");
    FileDType dtype;
    if (readable(t.type, &dtype))
      f->tensors_.emplace(t.name, TensorView{t.name, path, dtype, t.shape, bytes + data_start + t.offset, static_cast<size_t>(t.bytes), true});
    else
      f->unread_.emplace(t.name, kGgmlTypes[t.type].name);
  }
  return f;
}

GgufFile::~GgufFile() { unmap(map_, size_); }

const GgufFile::Value* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

int64_t GgufFile::integer(const std::string& key) const {
  const Value* v = find(key);
  if (!v || !(v->type <= kI32 || v->type == kU64 || v->type == kI64))
    throw EngineError(ErrorKind::BadWeights, path_ + ": " + (v ? "key " + key + " is not an integer" : "missing key " + key));
  return v->integer;
}

double GgufFile::number(const std::string& key) const {
  const Value* v = find(key);
  if (!v || v->type == kBool || v->type == kString || v->type == kArray)
    throw EngineError(ErrorKind::BadWeights, path_ + ": " + (v ? "key " + key + " is not a number" : "missing key " + key));
  return v->number;
}

const std::string& GgufFile::string(const std::string& key) const {
  const Value* v = find(key);
  if (!v || v->type != kString)
    throw EngineError(ErrorKind::BadWeights, path_ + ": " + (v ? "key " + key + " is not a string" : "missing key " + key));
  return v->string;
}

const TensorView* GgufFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::string GgufFile::unread_type(const std::string& name) const {
  auto it = unread_.find(name);
  return it == unread_.end() ? "" : it->second;
}

}  // namespace px
