// See quantize.h. The header of the quantized file is a pure function of the precision, the source
// tensors and the source files' sizes and times, so an existing file is reused exactly when its
// header bytes equal the header this load would write (the data behind it was written before an
// atomic rename, so a file with that header is complete).
#include "quantize.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error.h"
#include "float_formats.h"
#include "json.h"
#include "quant_blocks.h"
#include "thread_pool.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace px {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kAlign = 64;           // every tensor starts at a file offset that is a multiple of this
constexpr size_t kSlabBytes = 32u << 20;  // quantized rows produced and written at a time
constexpr const char* kFormat = "pixtral-quantized";
constexpr const char* kVersion = "1";

// One tensor of the quantized file.
struct Entry {
  const QuantizedWeights::Source* source;
  DType dtype;      // BF16 (copied) or a block type
  int64_t rows, cols;
  size_t bytes;
  uint64_t offset;  // from the start of the data section
};

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

std::vector<Entry> layout(Precision p, const std::vector<QuantizedWeights::Source>& sources) {
  std::vector<Entry> out;
  uint64_t offset = 0;
  for (const auto& s : sources) {
    const TensorView& v = *s.view;
    if (v.dtype != FileDType::BF16)
      throw EngineError(ErrorKind::BadWeights, v.file + ": tensor " + v.name + " is " + file_dtype_name(v.dtype) +
                                                   "; only bf16 checkpoints are quantized");
    const DType dt = stored_dtype(p, s.name, v.shape);
    const int64_t rows = v.shape.size() <= 1 ? 1 : v.shape[0];
    const int64_t cols = rows == 0 ? 0 : v.numel() / rows;
    const size_t bytes = static_cast<size_t>(rows) * row_bytes(dt, cols);
    out.push_back({&s, dt, rows, cols, bytes, offset});
    offset = align_up(offset + bytes);
  }
  return out;
}

std::string shape_json(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// Sizes and modification times of the checkpoint files: a re-downloaded checkpoint changes them.
std::string signature(const std::vector<std::string>& files) {
  std::string s;
  for (const std::string& f : files) {
    const fs::path p = fs::u8path(f);
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    const auto time = fs::last_write_time(p, ec).time_since_epoch().count();
    s += (s.empty() ? "" : ";") + p.filename().u8string() + ":" + std::to_string(size) + ":" + std::to_string(time);
  }
  return s;
}

// The whole header (8-byte length + JSON padded so the data section starts at a multiple of 64).
std::string header_bytes(Precision p, const std::vector<Entry>& entries, const std::string& source) {
  std::string blocks = "{", tensors;
  for (const Entry& e : entries) {
    const std::string& name = e.source->name;
    const bool block = is_block(e.dtype);
    if (block)
      blocks += std::string(blocks.size() > 1 ? "," : "") + json::quote(name) + ":[" + json::quote(dtype_name(e.dtype)) + "," +
                shape_json(e.source->view->shape).substr(1);
    const std::vector<int64_t> shape = block ? std::vector<int64_t>{e.rows, static_cast<int64_t>(e.bytes / e.rows)} : e.source->view->shape;
    tensors += "," + json::quote(name) + ":{\"dtype\":" + (block ? "\"U8\"" : "\"BF16\"") + ",\"shape\":" + shape_json(shape) +
               ",\"data_offsets\":[" + std::to_string(e.offset) + "," + std::to_string(e.offset + e.bytes) + "]}";
  }
  blocks += "}";
  std::string json = "{\"__metadata__\":{\"format\":" + json::quote(kFormat) + ",\"version\":" + json::quote(kVersion) +
                     ",\"precision\":" + json::quote(precision_name(p)) + ",\"source\":" + json::quote(source) +
                     ",\"block_tensors\":" + json::quote(blocks) + "}" + tensors + "}";
  json.append((kAlign - (8 + json.size()) % kAlign) % kAlign, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json;
}

// Destination of the quantized bytes, written in file order.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual bool write(const void* data, size_t n) = 0;
  bool pad_to(uint64_t at) {
    static const char zeros[kAlign] = {};
    return at == written ? true : (at > written && at - written <= kAlign && write(zeros, at - written));
  }
  uint64_t written = 0;
};

class FileSink final : public Sink {
 public:
  explicit FileSink(const std::string& path) : out_(fs::u8path(path), std::ios::binary | std::ios::trunc) {}
  bool ok() const { return static_cast<bool>(out_); }
  bool write(const void* data, size_t n) override {
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    written += n;
    return static_cast<bool>(out_);
  }
  bool close() {
    out_.close();
    return !out_.fail();
  }

 private:
  std::ofstream out_;
};

class MemorySink final : public Sink {
 public:
  explicit MemorySink(char* base) : base_(base) {}
  bool write(const void* data, size_t n) override {
    std::memcpy(base_ + written, data, n);
    written += n;
    return true;
  }

 private:
  char* base_;
};

// Writes the header and every tensor: bf16 ones copied, the rest quantized a slab of rows at a time.
bool write_all(Sink& sink, const std::string& header, const std::vector<Entry>& entries) {
  if (!sink.write(header.data(), header.size())) return false;
  const uint64_t data_start = header.size();
  ThreadPool pool(default_thread_count());
  std::vector<char> slab;
  for (const Entry& e : entries) {
    const TensorView& v = *e.source->view;
    if (!sink.pad_to(data_start + e.offset)) return false;
    if (!is_block(e.dtype)) {
      if (!sink.write(v.data, v.nbytes)) return false;
    } else {
      const size_t row_out = row_bytes(e.dtype, e.cols), row_in = static_cast<size_t>(e.cols) * 2;
      const int64_t per_slab = std::max<int64_t>(1, static_cast<int64_t>(kSlabBytes / row_out));
      for (int64_t r0 = 0; r0 < e.rows; r0 += per_slab) {
        const int64_t n = std::min(per_slab, e.rows - r0);
        slab.resize(static_cast<size_t>(n) * row_out);
        pool.parallel_for(static_cast<int>(n), [&](int r, int) {
          thread_local std::vector<float> row;
          row.resize(static_cast<size_t>(e.cols));
          widen_row(DType::BF16, static_cast<const char*>(v.data) + static_cast<size_t>(r0 + r) * row_in, e.cols, row.data());
          quantize_row(e.dtype, row.data(), e.cols, slab.data() + static_cast<size_t>(r) * row_out);
        });
        if (!sink.write(slab.data(), slab.size())) return false;
      }
    }
    release_pages(v.data, v.nbytes);  // the checkpoint's pages are done with; keep RSS bounded
  }
  return true;
}

// The header an existing file starts with, or "" when it cannot be read.
std::string existing_header(const std::string& path, size_t length) {
  std::ifstream in(fs::u8path(path), std::ios::binary);
  std::string bytes(length, '\0');
  if (!in || !in.read(&bytes[0], static_cast<std::streamsize>(length))) return "";
  return bytes;
}

// A folder whose mode says nobody may write to it (a shared, read-only model store) is left alone
// even by a process that could (root).
bool writable_folder(const std::string& dir) {
#ifndef _WIN32
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0222) && ::access(dir.c_str(), W_OK) == 0;
#else
  (void)dir;
  return true;
#endif
}

// Makes the file as one write to a temporary name and a rename, flushed to disk first, so a
// crash or a full disk never leaves a file with a valid header and missing data.
bool write_file(const std::string& path, const std::string& header, const std::vector<Entry>& entries) {
  const std::string partial = path + ".partial";
  bool ok = false;
  {
    FileSink sink(partial);
    ok = sink.ok() && write_all(sink, header, entries) && sink.close();
  }
#ifndef _WIN32
  if (ok) {
    const int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
    ok = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
  }
#endif
  std::error_code ec;
  if (ok) fs::rename(fs::u8path(partial), fs::u8path(path), ec);
  if (!ok || ec) {
    fs::remove(fs::u8path(partial), ec);
    return false;
  }
  return true;
}

FileDType file_type(DType t) { return t == DType::Q8_0 ? FileDType::Q8_0 : t == DType::Q4_0 ? FileDType::Q4_0 : FileDType::BF16; }

}  // namespace

std::string QuantizedWeights::file_name(Precision precision) {
  return std::string("pixtral-") + precision_name(precision) + ".safetensors";
}

std::unique_ptr<QuantizedWeights> QuantizedWeights::open(const std::string& dir, Precision precision,
                                                         const std::vector<Source>& sources,
                                                         const std::vector<std::string>& source_files) {
  std::unique_ptr<QuantizedWeights> q(new QuantizedWeights());
  const std::vector<Entry> entries = layout(precision, sources);
  const std::string header = header_bytes(precision, entries, signature(source_files));
  const std::string path = (fs::u8path(dir) / fs::u8path(file_name(precision))).u8string();
  const size_t total = header.size() + (entries.empty() ? 0 : entries.back().offset + entries.back().bytes);

  // The same header on a file of the full size: a complete file of this layout (see the top).
  std::error_code ec;
  const bool reuse = existing_header(path, header.size()) == header && fs::file_size(fs::u8path(path), ec) == total;
  if (reuse || (writable_folder(dir) && write_file(path, header, entries))) {
    q->created_ = !reuse;
    q->path_ = path;
    q->file_ = SafetensorsFile::open(path);
    for (const Entry& e : entries) {
      const TensorView* t = q->file_->find(e.source->name);
      if (!t || t->nbytes != e.bytes)
        throw EngineError(ErrorKind::BadWeights, path + ": tensor " + e.source->name + " does not match its header");
      TensorView v = *t;
      v.dtype = file_type(e.dtype);
      v.shape = e.source->view->shape;
      q->views_.emplace(e.source->name, std::move(v));
    }
    return q;
  }

  // The folder cannot take the file: the same bytes, in memory.
  q->created_ = true;
  q->memory_bytes_ = (total + kAlign - 1) / kAlign * kAlign;
#if defined(_WIN32)
  q->memory_ = _aligned_malloc(q->memory_bytes_, kAlign);
#else
  q->memory_ = std::aligned_alloc(kAlign, q->memory_bytes_);
#endif
  if (!q->memory_)
    throw EngineError(ErrorKind::OutOfMemory, "out of memory quantizing the weights to " + std::string(precision_name(precision)) +
                                                  " (" + std::to_string(total >> 20) + " MiB)");
  MemorySink sink(static_cast<char*>(q->memory_));
  write_all(sink, header, entries);
  for (const Entry& e : entries) {
    const TensorView& src = *e.source->view;
    q->views_.emplace(e.source->name, TensorView{src.name, "(" + file_name(precision) + " in memory)", file_type(e.dtype), src.shape,
                                                 static_cast<char*>(q->memory_) + header.size() + e.offset, e.bytes});
  }
  return q;
}

QuantizedWeights::~QuantizedWeights() {
#if defined(_WIN32)
  _aligned_free(memory_);
#else
  std::free(memory_);
#endif
}

const TensorView* QuantizedWeights::find(const std::string& name) const {
  auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second;
}

}  // namespace px
