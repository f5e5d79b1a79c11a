// Stage 0: maps one .safetensors file read-only and validates its header (see safetensors.h).
// Layout: 8-byte little-endian header length N, N bytes of JSON, then the data section; every
// data_offsets pair is relative to the start of the data section (byte 8 + N).
#include "safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "error.h"
#include "json.h"

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX  // keep std::numeric_limits<T>::max() usable
#endif
#include <filesystem>
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace px {

namespace {

// Real headers are a few hundred KB (12B: ~100 KB); a bigger one is corrupt or hostile.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
  FileDType type;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {FileDType::BF16, "BF16", 2}, {FileDType::F16, "F16", 2}, {FileDType::F32, "F32", 4}, {FileDType::F64, "F64", 8},
    {FileDType::I8, "I8", 1},     {FileDType::U8, "U8", 1},   {FileDType::I16, "I16", 2}, {FileDType::I32, "I32", 4},
    {FileDType::I64, "I64", 8},   {FileDType::BOOL, "BOOL", 1},
};
// Not safetensors dtypes: only quantized files hand out views of these (never parsed from a header).
constexpr DTypeInfo kBlockDTypes[] = {{FileDType::Q8_0, "Q8_0", 34}, {FileDType::Q4_0, "Q4_0", 18}};

const DTypeInfo& info(FileDType t) {
  for (const DTypeInfo& d : kDTypes)
    if (d.type == t) return d;
  for (const DTypeInfo& d : kBlockDTypes)
    if (d.type == t) return d;
  throw EngineError(ErrorKind::BadWeights, "unknown FileDType value " + std::to_string(static_cast<int>(t)));
}

const DTypeInfo* dtype_by_name(const std::string& name) {
  for (const DTypeInfo& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace

void unmap(void* addr, size_t size) {
  if (!addr) return;
#ifdef _WIN32
  (void)size;
  UnmapViewOfFile(addr);
#else
  munmap(addr, size);
#endif
}

#ifdef _WIN32
FileMapping map_file(const std::string& path) {
  // Paths arrive as UTF-8 from JS; the W APIs need UTF-16.
  std::wstring wpath = std::filesystem::u8path(path).wstring();
  HANDLE file = CreateFileW(wpath.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                            FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE)
    throw EngineError(ErrorKind::BadWeights, path + ": cannot open (Windows error " + std::to_string(GetLastError()) + ")");
  LARGE_INTEGER size;
  if (!GetFileSizeEx(file, &size)) {
    CloseHandle(file);
    throw EngineError(ErrorKind::BadWeights, path + ": cannot read the file size");
  }
  FileMapping m;
  m.size = static_cast<size_t>(size.QuadPart);
  DWORD err = 0;
  if (m.size > 0) {  // Windows refuses to map an empty file
    HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    if (mapping) {
      m.addr = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
      if (!m.addr) err = GetLastError();
      CloseHandle(mapping);  // the view keeps the mapping alive
    } else {
      err = GetLastError();
    }
  }
  CloseHandle(file);
  if (m.size > 0 && !m.addr)
    throw EngineError(ErrorKind::BadWeights, path + ": cannot memory-map (Windows error " + std::to_string(err) + ")");
  return m;
}
#else
FileMapping map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw EngineError(ErrorKind::BadWeights, path + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw EngineError(ErrorKind::BadWeights, path + ": not a regular file");
  }
  FileMapping m;
  m.size = static_cast<size_t>(st.st_size);
  if (m.size > 0) {  // mmap of length 0 fails; an empty file is reported as too short below
    void* addr = mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    if (addr == MAP_FAILED) {
      ::close(fd);
      throw EngineError(ErrorKind::BadWeights, path + ": cannot memory-map (" + std::strerror(err) + ")");
    }
    m.addr = addr;
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return m;
}
#endif

namespace {

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// One header entry, checked field by field; the error names file and tensor.
class EntryReader {
 public:
  EntryReader(const std::string& path, const std::string& name) : path_(path), name_(name) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw EngineError(ErrorKind::BadWeights, path_ + ": tensor " + name_ + " " + what);
  }

  // A JSON value that must be a non-negative integer; `what` names it for the message.
  uint64_t non_negative(const json::Value& v, const char* what) const {
    if (!v.is_integer() || v.integer() < 0) fail(std::string("has a ") + what + " that is not a non-negative integer");
    return static_cast<uint64_t>(v.integer());
  }

  TensorView read(const json::Value& entry, const unsigned char* data, uint64_t data_len,
                  uint64_t data_start, uint64_t& begin, uint64_t& end) const {
    if (!entry.is_object()) fail("is described by " + std::string(json::kind_name(entry.kind())) + ", not an object");
    const json::Value* dtype = nullptr;
    const json::Value* shape = nullptr;
    const json::Value* offsets = nullptr;
    for (const json::Member& m : entry.object()) {
      if (m.key == "dtype") dtype = &m.value;
      else if (m.key == "shape") shape = &m.value;
      else if (m.key == "data_offsets") offsets = &m.value;
      else fail("has an unknown field \"" + m.key + "\"");
    }
    if (!dtype || !shape || !offsets) fail("lacks one of the fields dtype, shape, data_offsets");

    TensorView t;
    t.name = name_;
    t.file = path_;
    t.in_file_mapping = true;
    if (!dtype->is_string()) fail("has a dtype that is not a string");
    const DTypeInfo* di = dtype_by_name(dtype->string());
    if (!di) fail("has unsupported dtype \"" + dtype->string() + "\"");
    t.dtype = di->type;

    if (!shape->is_array()) fail("has a shape that is not an array");
    uint64_t numel = 1;
    for (const json::Value& d : shape->array()) {
      uint64_t n = non_negative(d, "shape dimension");
      if (n != 0 && numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / n)
        fail("has a shape whose element count overflows");
      numel *= n;
      t.shape.push_back(static_cast<int64_t>(n));
    }
    if (numel > std::numeric_limits<uint64_t>::max() / di->size) fail("has a byte size that overflows");
    uint64_t nbytes = numel * di->size;

    if (!offsets->is_array() || offsets->array().size() != 2) fail("has data_offsets that are not [begin, end]");
    begin = non_negative(offsets->array()[0], "data_offsets begin");
    end = non_negative(offsets->array()[1], "data_offsets end");
    if (begin > end) fail("has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] with begin > end");
    if (end > data_len)
      fail("has data_offsets end " + std::to_string(end) + " past the end of the data section (" +
           std::to_string(data_len) + " bytes; file truncated?)");
    if (end - begin != nbytes)
      fail("occupies " + std::to_string(end - begin) + " bytes but shape " + t.shape_str() + " of " + di->name +
           " needs " + std::to_string(nbytes));
    // Kernels read elements in place, so each one must sit at an address aligned to its size
    // (the mapping itself is page aligned).
    if (nbytes > 0 && (data_start + begin) % di->size != 0)
      fail("data at file offset " + std::to_string(data_start + begin) + " is not aligned to its " +
           std::to_string(di->size) + "-byte dtype");
    t.data = data + begin;
    t.nbytes = static_cast<size_t>(nbytes);
    return t;
  }

 private:
  const std::string& path_;
  const std::string& name_;
};

std::map<std::string, std::string> read_metadata(const json::Value& meta, const std::string& path) {
  if (!meta.is_object()) throw EngineError(ErrorKind::BadWeights, path + ": __metadata__ is not an object");
  std::map<std::string, std::string> out;
  for (const json::Member& m : meta.object()) {
    if (!m.value.is_string()) throw EngineError(ErrorKind::BadWeights, path + ": __metadata__ value \"" + m.key + "\" is not a string");
    out[m.key] = m.value.string();
  }
  return out;
}

}  // namespace

const char* file_dtype_name(FileDType t) { return info(t).name; }
size_t file_dtype_size(FileDType t) { return info(t).size; }

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string TensorView::shape_str() const { return px::shape_str(shape); }

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  FileMapping m = map_file(path);
  // From here on the destructor unmaps on every error path.
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = m.addr;
  f->size_ = m.size;
  const auto* bytes = static_cast<const unsigned char*>(m.addr);

  if (m.size < 8)
    throw EngineError(ErrorKind::BadWeights, path + ": file is " + std::to_string(m.size) +
                      " bytes, too short for a safetensors header (truncated?)");
  uint64_t header_len = read_le64(bytes);
  if (header_len > kMaxHeaderBytes)
    throw EngineError(ErrorKind::BadWeights, path + ": header length " + std::to_string(header_len) +
                      " exceeds the 100 MiB limit (corrupt file?)");
  if (header_len > m.size - 8)
    throw EngineError(ErrorKind::BadWeights, path + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                      std::to_string(m.size) + " bytes; truncated?)");
  if (header_len == 0 || bytes[8] != '{')
    throw EngineError(ErrorKind::BadWeights, path + ": header does not start with '{' (not a safetensors file?)");

  std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), static_cast<size_t>(header_len));
  json::Value header = json::parse(header_text, path + " (header)");
  if (!header.is_object()) throw EngineError(ErrorKind::BadWeights, path + ": header is not a JSON object");

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_len = m.size - data_start;
  struct Span {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Span> spans;
  for (const json::Member& mem : header.object()) {
    if (mem.key == "__metadata__") {
      f->metadata_ = read_metadata(mem.value, path);
      continue;
    }
    uint64_t begin = 0, end = 0;
    EntryReader reader(path, mem.key);
    TensorView t = reader.read(mem.value, bytes + data_start, data_len, data_start, begin, end);
    auto it = f->tensors_.emplace(mem.key, std::move(t)).first;
    if (begin != end) spans.push_back({begin, end, &it->first});
  }

  // Zero-size tensors own no bytes and may sit anywhere; the rest must not share a byte.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      throw EngineError(ErrorKind::BadWeights, path + ": tensor " + *spans[i].name + " overlaps tensor " + *spans[i - 1].name +
                        " (bytes " + std::to_string(spans[i].begin) + ".." + std::to_string(spans[i].end) +
                        " vs " + std::to_string(spans[i - 1].begin) + ".." + std::to_string(spans[i - 1].end) + ")");
  return f;
}

SafetensorsFile::~SafetensorsFile() { unmap(map_, size_); }

void release_pages(const void* data, size_t bytes) {
#ifndef _WIN32
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  (void)data;
  (void)bytes;
#endif
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace px
