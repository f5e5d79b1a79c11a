// Stage 0 of the pipeline (weights on disk -> memory): one memory-mapped .safetensors file.
// The header is parsed and validated in full (JSON, dtypes, shapes, offsets inside the file, no
// overlapping tensors) before any tensor pointer is handed out. Tensor data is never copied: views
// point into the read-only mapping, which lives as long as the SafetensorsFile.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace px {

// Element types of tensors in weight files: the safetensors dtypes, and the 32-value block types of
// quantized files (ours and GGUF), which no safetensors header names.
enum class FileDType { BF16, F16, F32, F64, I8, U8, I16, I32, I64, BOOL, Q8_0, Q4_0 };

const char* file_dtype_name(FileDType t);
size_t file_dtype_size(FileDType t);  // bytes per element; block types: bytes per 32-value block
std::string shape_str(const std::vector<int64_t>& shape);  // "[4096, 5120]"

struct TensorView {
  std::string name;            // key in the file
  std::string file;            // path of the file it lives in (for error messages)
  FileDType dtype;
  std::vector<int64_t> shape;  // row-major
  const void* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  // data lies in a read-only file mapping (a backend that copies it may let the pages go); false
  // for tensors made in memory.
  bool in_file_mapping = false;

  int64_t numel() const;
  std::string shape_str() const;  // "[4096, 5120]"
};

class SafetensorsFile {
 public:
  // Maps `path` and validates its header. Throws EngineError naming the file (and tensor) on:
  // missing/unreadable file, file shorter than 8 bytes, header length that overflows or runs past
  // the end of the file, malformed JSON, unknown dtype, negative/overflowing shape, data_offsets not
  // [begin, end] with begin <= end inside the data section, byte size != numel * dtype size,
  // overlapping tensors.
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const TensorView* find(const std::string& name) const;  // nullptr if absent
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // __metadata__

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A read-only mapping of a whole file; the file handles are closed once it exists. Throws
// EngineError(BadWeights) naming the file when it cannot be opened or mapped.
struct FileMapping {
  void* addr = nullptr;
  size_t size = 0;
};
FileMapping map_file(const std::string& path);
void unmap(void* addr, size_t size);

// Drops mapped bytes from this process's resident set (the whole pages inside [data, data + bytes));
// they stay in the OS page cache and are read back on the next access. A no-op where unsupported.
void release_pages(const void* data, size_t bytes);

}  // namespace px
