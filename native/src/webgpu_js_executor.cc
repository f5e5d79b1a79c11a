// See webgpu_js_executor.h. A blocking call's closures capture the caller's stack: the caller stays
// blocked until the call settles its promise, and nothing touches that stack afterwards.
#include "webgpu_js_executor.h"

#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <thread>

namespace px {
namespace {

struct Call {
  std::function<void(Napi::Env, Napi::Object)> run;
  std::promise<void>* done;  // null for calls nobody waits for
};

struct Context {
  Napi::ObjectReference executor;
};

// A JS failure as the EngineError it stands for (the JS side sets `code` like the engine does).
std::exception_ptr failure(Napi::Value error, const char* what) {
  std::string message = error.ToString();
  ErrorKind kind = ErrorKind::Internal;
  if (error.IsObject()) {
    Napi::Object e = error.As<Napi::Object>();
    if (e.Get("message").IsString()) message = e.Get("message").As<Napi::String>();
    const Napi::Value code = e.Get("code");
    const std::string c = code.IsString() ? code.As<Napi::String>().Utf8Value() : "";
    if (c == "ENOMEM") kind = ErrorKind::OutOfMemory;
    else if (c == "EUNSUPPORTED") kind = ErrorKind::Unsupported;
    else if (c == "EBADINPUT") kind = ErrorKind::BadInput;
  }
  return std::make_exception_ptr(EngineError(kind, std::string("webgpu ") + what + ": " + message));
}

void call_js(Napi::Env env, Napi::Function, Context* context, Call* call) {
  std::unique_ptr<Call> owned(call);
  if (env == nullptr) {  // the environment is shutting down
    if (call->done)
      call->done->set_exception(std::make_exception_ptr(EngineError(ErrorKind::Internal, "webgpu: Node is shutting down")));
    return;
  }
  Napi::HandleScope scope(env);
  call->run(env, context->executor.Value());
}

void finalize(Napi::Env, void*, Context* context) { delete context; }

using Tsfn = Napi::TypedThreadSafeFunction<Context, Call, call_js>;

class JsWebGpuExecutor final : public WebGpuExecutor {
 public:
  JsWebGpuExecutor(Napi::Env env, Napi::Object executor)
      : js_thread_(std::this_thread::get_id()) {
    const Napi::Value name = executor.Get("name");
    if (!name.IsString()) throw Napi::TypeError::New(env, "the webgpu executor has no name");
    name_ = name.As<Napi::String>();
    auto* context = new Context{Napi::Persistent(executor)};
    tsfn_ = Tsfn::New(env, "pixtral-webgpu", 0, 1, context, finalize, static_cast<void*>(nullptr));
    tsfn_.Unref(env);  // an idle backend does not keep Node running
  }
  ~JsWebGpuExecutor() override { tsfn_.Release(); }

  std::string name() const override { return name_; }

  void alloc(uint32_t id, size_t bytes, size_t row_bytes) override {
    invoke("alloc", [=](Napi::Env env, Napi::Object ex) {
      return method(ex, "alloc").Call(ex, {number(env, id), number(env, bytes), number(env, row_bytes)});
    });
  }

  void free(uint32_t id) override {
    post([=](Napi::Env env, Napi::Object ex) { method(ex, "free").Call(ex, {number(env, id)}); });
  }

  void write(uint32_t id, size_t offset, const void* data, size_t bytes) override {
    invoke("write", [=](Napi::Env env, Napi::Object ex) {
      // The executor copies the bytes before write() returns, so a view of the caller's memory is
      // enough where Node allows one (Electron does not: then a copy).
      napi_value ab = nullptr;
      const bool external = napi_create_external_arraybuffer(env, const_cast<void*>(data), bytes, nullptr, nullptr, &ab) == napi_ok;
      Napi::ArrayBuffer buffer;
      if (external) {
        buffer = Napi::ArrayBuffer(env, ab);
      } else {
        buffer = Napi::ArrayBuffer::New(env, bytes);
        std::memcpy(buffer.Data(), data, bytes);
      }
      Napi::Value r = method(ex, "write").Call(ex, {number(env, id), number(env, offset), Napi::Uint8Array::New(env, bytes, buffer, 0)});
      if (external) buffer.Detach();  // no JS reference outlives the caller's memory
      return r;
    });
  }

  void read(uint32_t id, size_t offset, void* data, size_t bytes) override {
    invoke(
        "read",
        [=](Napi::Env env, Napi::Object ex) {
          return method(ex, "read").Call(ex, {number(env, id), number(env, offset), number(env, bytes)});
        },
        [=](Napi::Value v) {
          if (!v.IsTypedArray() || v.As<Napi::TypedArray>().ByteLength() != bytes)
            throw Napi::TypeError::New(v.Env(), "read must resolve to " + std::to_string(bytes) + " bytes");
          Napi::TypedArray a = v.As<Napi::TypedArray>();
          std::memcpy(data, static_cast<const char*>(a.ArrayBuffer().Data()) + a.ByteOffset(), bytes);
        });
  }

  void run(uint64_t graph, const std::vector<double>& nodes, bool keep) override {
    invoke("run", [&](Napi::Env env, Napi::Object ex) {
      Napi::Value list = env.Null();
      if (!nodes.empty()) {
        Napi::Float64Array a = Napi::Float64Array::New(env, nodes.size());
        std::memcpy(a.Data(), nodes.data(), nodes.size() * sizeof(double));
        list = a;
      }
      return method(ex, "run").Call(ex, {number(env, graph), list, Napi::Boolean::New(env, keep)});
    });
  }

  void forget(uint64_t graph) override {
    post([=](Napi::Env env, Napi::Object ex) { method(ex, "forget").Call(ex, {number(env, graph)}); });
  }

 private:
  using Start = std::function<Napi::Value(Napi::Env, Napi::Object)>;
  using Finish = std::function<void(Napi::Value)>;

  static Napi::Value number(Napi::Env env, double v) { return Napi::Number::New(env, v); }
  static Napi::Function method(Napi::Object ex, const char* name) {
    const Napi::Value f = ex.Get(name);
    if (!f.IsFunction()) throw Napi::TypeError::New(ex.Env(), std::string("the webgpu executor has no ") + name + "()");
    return f.As<Napi::Function>();
  }

  // Runs start() on the JS thread and finish() on what it returns (or what its promise resolves
  // to); blocks until then and rethrows a JS failure as an EngineError.
  void invoke(const char* what, const Start& start, const Finish& finish = nullptr) {
    if (std::this_thread::get_id() == js_thread_)
      throw EngineError(ErrorKind::Internal, std::string("webgpu ") + what + " was called on the JS thread, which it needs free");
    std::promise<void> done;
    std::future<void> settled = done.get_future();
    auto settle = [&done, &finish, what](Napi::Value v) {
      try {
        if (finish) finish(v);
        done.set_value();
      } catch (const Napi::Error& e) {
        done.set_exception(failure(e.Value(), what));
      }
    };
    auto* call = new Call{[&](Napi::Env env, Napi::Object ex) {
                            try {
                              Napi::Value r = start(env, ex);
                              if (!r.IsPromise()) return settle(r);
                              Napi::Function on_ok = Napi::Function::New(env, [settle](const Napi::CallbackInfo& info) { settle(info[0]); });
                              Napi::Function on_error = Napi::Function::New(env, [&done, what](const Napi::CallbackInfo& info) {
                                done.set_exception(failure(info[0], what));
                              });
                              r.As<Napi::Object>().Get("then").As<Napi::Function>().Call(r, {on_ok, on_error});
                            } catch (const Napi::Error& e) {
                              done.set_exception(failure(e.Value(), what));
                            }
                          },
                          &done};
    if (tsfn_.BlockingCall(call) != napi_ok) {
      delete call;
      throw EngineError(ErrorKind::Internal, "webgpu: the JS thread no longer takes calls");
    }
    settled.get();
  }

  void post(std::function<void(Napi::Env, Napi::Object)> fn) {
    auto* call = new Call{[fn = std::move(fn)](Napi::Env env, Napi::Object ex) {
                            try {
                              fn(env, ex);
                            } catch (const Napi::Error&) {
                              // Releasing what is already gone: nothing waits for the answer.
                            }
                          },
                          nullptr};
    if (tsfn_.NonBlockingCall(call) != napi_ok) delete call;
  }

  std::thread::id js_thread_;
  std::string name_;
  Tsfn tsfn_;
};

}  // namespace

std::shared_ptr<WebGpuExecutor> js_webgpu_executor(Napi::Env env, Napi::Object executor) {
  return std::make_shared<JsWebGpuExecutor>(env, executor);
}

}  // namespace px
