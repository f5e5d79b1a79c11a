#!/usr/bin/env python3
"""Builds the CUDA backend without Node (the GPU machine has nvcc, g++ and python3; maybe no make):

  python3 native/cuda/build.py [--archs "80 86 89 90"] [--out DIR] [--programs] [-j N]

- libpixtral_cuda.so: every cuda/*.cu of native/sources.json ("cuda") plus the host files it needs
  ("cuda_host"), the CUDA runtime linked statically, only the plugin symbols exported (exports.map).
  --archs picks the SASS targets (default: every shipped one); PTX of the newest is always embedded
  so later GPUs run it too.
- --programs: op_harness, fixture_parity and bench_cuda, built with g++ from the same lists as
  binding.gyp builds them, for running the checks on a machine without Node.
Incremental: an object is rebuilt when its source or a header the compiler listed (-MD) is newer.
native/cuda/build.mjs (npm run build:cuda) calls this file, so both paths compile the same.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time

NATIVE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL_ARCHS = ["80", "86", "89", "90"]
CXXFLAGS = ["-std=c++17", "-O3", "-fPIC", "-Wall", "-Wextra", "-Wno-unused-parameter"]


def stale(obj, src):
    """True when obj is missing or older than src or any dependency in its .d file."""
    if not os.path.exists(obj) or not os.path.exists(obj + ".d"):
        return True
    deps = open(obj + ".d").read().replace("\\\n", " ").split(":", 1)[-1].split()
    built = os.path.getmtime(obj)
    return any(not os.path.exists(d) or os.path.getmtime(d) > built for d in [src] + deps)


def compile_all(jobs, commands):
    """commands: [(obj, src, argv)]; compiles the stale ones in parallel, stops at the first error."""
    todo = [(o, s, a) for o, s, a in commands if stale(o, s)]
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for (obj, _, argv), result in zip(todo, pool.map(lambda c: subprocess.run(c[2], capture_output=True, text=True), todo)):
            print(" ".join(argv), flush=True)
            sys.stdout.write(result.stdout + result.stderr)
            if result.returncode != 0:
                sys.exit(f"build failed: {obj}")


def run(argv):
    print(" ".join(argv), flush=True)
    if subprocess.run(argv).returncode != 0:
        sys.exit(f"build failed: {argv[argv.index('-o') + 1]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default=" ".join(ALL_ARCHS))
    ap.add_argument("--out", default=os.path.join(NATIVE, "build", "Release"))
    ap.add_argument("--programs", action="store_true")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    archs = args.archs.split()
    lists = json.load(open(os.path.join(NATIVE, "sources.json")))
    nvcc = os.environ.get("NVCC", "nvcc")
    cxx = os.environ.get("CXX", "g++")
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in archs] + [f"-gencode=arch=compute_{archs[-1]},code=compute_{archs[-1]}"]
    cuda_dir = os.path.join(args.out, "obj.cuda-" + "-".join(archs))
    host_dir = os.path.join(args.out, "obj.host")
    os.makedirs(cuda_dir, exist_ok=True)
    os.makedirs(host_dir, exist_ok=True)
    obj = lambda d, f: os.path.join(d, f.replace("/", "_") + ".o")
    src = lambda f: os.path.join(NATIVE, f)
    started = time.time()

    host = sorted(set(lists["cuda_host"] + (lists["core"] + lists["harness"] + lists["fixture_parity"] + lists["bench_cuda"] if args.programs else [])))
    commands = [(obj(cuda_dir, f), src(f), [nvcc, "-std=c++17", "-O3", *gencode, "-Xcompiler", "-fPIC,-fvisibility=hidden", "-Xptxas",
                                            "-warn-spills", "-MD", "-MF", obj(cuda_dir, f) + ".d", "-c", src(f), "-o", obj(cuda_dir, f)])
                for f in lists["cuda"]]
    x86 = lists["x86_kernels"]
    commands += [(obj(host_dir, f), src(f), [cxx, *CXXFLAGS, *x86.get(f, []),
                                             "-MMD", "-MF", obj(host_dir, f) + ".d", "-c", src(f), "-o", obj(host_dir, f)])
                 for f in host + (list(x86) if args.programs else [])]
    compile_all(args.jobs, commands)

    # Relinked when an object is newer or the last link was for other targets (library.archs).
    library = os.path.join(args.out, "libpixtral_cuda.so")
    stamp = library + ".archs"
    parts = [obj(cuda_dir, f) for f in lists["cuda"]] + [obj(host_dir, f) for f in lists["cuda_host"]]
    same_archs = os.path.exists(stamp) and open(stamp).read() == " ".join(archs)
    if not same_archs or not os.path.exists(library) or any(os.path.getmtime(p) > os.path.getmtime(library) for p in parts):
        run([nvcc, "-shared", "-cudart", "static", *gencode, "-Xlinker", f"--version-script={os.path.join(NATIVE, 'cuda', 'exports.map')}",
             "-o", library, *parts, "-ldl", "-lpthread", "-lrt"])
        open(stamp, "w").write(" ".join(archs))
    if args.programs:
        core = [obj(host_dir, f) for f in lists["core"] + list(x86)]
        for program, key in (("op_harness", "harness"), ("fixture_parity", "fixture_parity"), ("bench_cuda", "bench_cuda")):
            run([cxx, "-o", os.path.join(args.out, program), *core, *[obj(host_dir, f) for f in lists[key]], "-lpthread", "-ldl"])
    print(f"libpixtral_cuda.so for sm_{', sm_'.join(archs)} (+ PTX){' and the programs' if args.programs else ''} built in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
