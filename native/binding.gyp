# The engine, built by node-gyp (bundled with npm, builds offline against the installed Node
# headers): the engine core as a static library, linked into the production addon
# (pixtral_native.node), into pixtral_testing.node (benchmarks and the op harness on backends driven
# from JS, never shipped) and into the op_harness program. The addons also get the N-API half of the
# WebGPU backend (webgpu_js_executor.cc), which the Node-free core cannot hold. kernels_avx2.cc and
# kernels_avx512.cc are libraries of their own so that only they get their instruction-set flags
# and the rest stays runnable on any x86-64 (runtime dispatch picks the kernel set).
# The CUDA backend is a separate library built by native/cuda/build.mjs; fixture_parity and bench_cuda
# are the programs that check and time it on a GPU machine (built here so CI compiles them).
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
    },
    "conditions": [
      ["OS=='linux'", { "libraries": ["-lpthread", "-ldl"] }]
    ]
  },
  "targets": [
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["src/kernels_avx2.cc"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["<!@(node -p \"require('./sources.json').x86_kernels['src/kernels_avx2.cc'].join(' ')\")"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<!@(node -p \"require('./sources.json').x86_kernels['src/kernels_avx2.cc'].join(' ')\")"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX2"] } }
        }]
      ]
    },
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["src/kernels_avx512.cc"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["<!@(node -p \"require('./sources.json').x86_kernels['src/kernels_avx512.cc'].join(' ')\")",
                        "-Wno-maybe-uninitialized"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<!@(node -p \"require('./sources.json').x86_kernels['src/kernels_avx512.cc'].join(' ')\")"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/arch:AVX512"] } }
        }]
      ]
    },
    {
      "target_name": "pixtral_core",
      "type": "static_library",
      "dependencies": ["kernels_avx2", "kernels_avx512"],
      "sources": ["<!@(node -p \"require('./sources.json').core.join(' ')\")"]
    },
    {
      "target_name": "pixtral_native",
      "dependencies": ["pixtral_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["src/addon.cc", "src/webgpu_js_executor.cc"]
    },
    {
      "target_name": "pixtral_testing",
      "dependencies": ["pixtral_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "sources": ["test/testing_addon.cc", "test/fma_peak.cc", "src/webgpu_js_executor.cc", "test/op_harness.cc", "test/reference_ops.cc"]
    },
    {
      "target_name": "op_harness",
      "type": "executable",
      "dependencies": ["pixtral_core"],
      "sources": ["<!@(node -p \"require('./sources.json').harness.join(' ')\")"]
    },
    {
      "target_name": "fixture_parity",
      "type": "executable",
      "dependencies": ["pixtral_core"],
      "sources": ["<!@(node -p \"require('./sources.json').fixture_parity.join(' ')\")"]
    },
    {
      "target_name": "bench_cuda",
      "type": "executable",
      "dependencies": ["pixtral_core"],
      "sources": ["<!@(node -p \"require('./sources.json').bench_cuda.join(' ')\")"]
    }
  ]
}
