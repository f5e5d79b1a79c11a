// The N-API half of the WebGPU backend (linked into the addons, not the engine core, which stays
// free of Node): a WebGpuExecutor that runs each call on the JS thread, where the executor object of
// src/engine/webgpu/executor.ts does the GPU work. Engine calls run on libuv worker threads, so a
// blocking call queues itself on a thread-safe function and waits for the JS side (a value, or a
// promise it settles); the JS thread is idle during engine calls. free() and forget() only queue.
#pragma once
#include <napi.h>

#include <memory>

#include "webgpu_backend.h"

namespace px {

// Wraps `executor` (name, alloc, free, write, read, run, forget); call on the JS thread. Blocking
// calls from the JS thread itself are refused (they would wait for themselves).
std::shared_ptr<WebGpuExecutor> js_webgpu_executor(Napi::Env env, Napi::Object executor);

}  // namespace px
