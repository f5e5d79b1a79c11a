# The engine addon. node-gyp (bundled with npm, builds offline against the installed Node headers)
# compiles it; kernels_avx2.cc is a separate static library so that only it gets -mavx2/-mfma and
# the rest stays runnable on any x86-64 (runtime dispatch picks the kernel set).
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fPIC"],
    "cflags!": ["-O2"],
    "cflags": ["-O3"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3", "-Wall", "-Wextra"],
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": {
      "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] }
    }
  },
  "targets": [
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["src/kernels_avx2.cc"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma", "-mf16c"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } }
        }]
      ]
    },
    {
      "target_name": "pixtral_native",
      "dependencies": ["kernels_avx2"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": [
        "src/json.cc",
        "src/safetensors.cc",
        "src/model_config.cc",
        "src/model_files.cc",
        "src/thread_pool.cc",
        "src/kernels.cc",
        "src/kernels_neon.cc",
        "src/cpu_backend.cc",
        "src/rope.cc",
        "src/vision_encoder.cc",
        "src/adapter.cc",
        "src/decoder.cc",
        "src/sampler.cc",
        "src/engine.cc",
        "src/addon.cc"
      ],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    }
  ]
}
