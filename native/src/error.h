// Engine errors: every failure the engine can detect becomes an EngineError whose message names
// what went wrong and where (file, tensor, numbers), and whose kind survives the trip to the editor
// (the N-API layer turns it into a JS Error with a matching `code`).
#pragma once
#include <stdexcept>
#include <string>

namespace px {

enum class ErrorKind {
  BadInput,     // the request: ids, images, sizes, options (EBADINPUT)
  BadWeights,   // the model folder: files, params, tensors (EBADWEIGHTS)
  OutOfMemory,  // an allocation on the host or the device failed (ENOMEM)
  Unsupported,  // a backend, kernel set or feature this build or machine cannot run (EUNSUPPORTED)
  Internal,     // a bug: a broken invariant inside the engine (EINTERNAL)
};

inline const char* error_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::BadInput: return "EBADINPUT";
    case ErrorKind::BadWeights: return "EBADWEIGHTS";
    case ErrorKind::OutOfMemory: return "ENOMEM";
    case ErrorKind::Unsupported: return "EUNSUPPORTED";
    case ErrorKind::Internal: return "EINTERNAL";
  }
  return "EINTERNAL";
}

struct EngineError : std::runtime_error {
  EngineError(ErrorKind k, const std::string& msg) : std::runtime_error(msg), kind(k) {}
  ErrorKind kind;
};

// Thrown when a cancel request is observed between layers / steps (ECANCELLED).
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};

}  // namespace px
