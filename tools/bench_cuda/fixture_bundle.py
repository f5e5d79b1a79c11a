"""The fixture folder, shrunk to travel to the GPU machine (whose copy of the working tree is
limited to 64 MiB; pixtral-tiny is 150 MB). Python standard library only.

  fixture_bundle.py pack FIXTURES BUNDLE     (here)   FIXTURES/manifest.json -> BUNDLE (.tar.xz)
  fixture_bundle.py unpack BUNDLE DIR        (there)  -> DIR/manifest.json, params.json,
                                                         consolidated.safetensors, cases/...

Kept: the manifest, params.json, the Mistral-layout weights and every model case (not the
preprocess_* cases, not the transformers-layout copy of the weights). The one change: rows of
tok_embeddings that no case's prompt or greedy output uses are zero (131072 x D of embeddings is
most of the file and the cases read a few hundred rows), so the rebuilt file's sha256 differs from
the manifest's and fixture_parity does not check it.
"""

import io
import json
import os
import struct
import sys
import tarfile

EMBED = "tok_embeddings.weight"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def write_safetensors(path, header, data):
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + data)


def used_ids(fixtures, manifest):
    ids = set()
    for case in manifest["cases"].values():
        for group in ("inputs", "outputs"):
            for name in ("input_ids", "generated_ids"):
                spec = case[group].get(name)
                if spec:
                    raw = open(os.path.join(fixtures, spec["file"]), "rb").read()
                    ids.update(struct.unpack(f"<{len(raw) // 4}i", raw))
    return sorted(ids)


def pack(fixtures, bundle):
    manifest = json.load(open(os.path.join(fixtures, "manifest.json")))
    header, data = read_safetensors(os.path.join(fixtures, manifest["weights"]["mistral"]["file"]))
    spec = header[EMBED]
    assert spec["dtype"] == "BF16"
    begin, end = spec["data_offsets"]
    row = spec["shape"][1] * 2
    ids = used_ids(fixtures, manifest)
    rows = b"".join(data[begin + i * row: begin + (i + 1) * row] for i in ids)
    rest = data[:begin] + data[end:]
    with tarfile.open(bundle, "w:xz") as tar:
        def add(name, blob):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        add("manifest.json", open(os.path.join(fixtures, "manifest.json"), "rb").read())
        add("params.json", open(os.path.join(fixtures, "params.json"), "rb").read())
        add("weights/header.json", json.dumps({"header": header, "ids": ids}).encode())
        add("weights/rest.bin", rest)
        add("weights/embedding_rows.bin", rows)
        for name, case in manifest["cases"].items():
            if name.startswith("preprocess_"):
                continue
            for group in ("inputs", "outputs"):
                for arr in case[group].values():
                    if "file" in arr:
                        add(arr["file"], open(os.path.join(fixtures, arr["file"]), "rb").read())
    print(f"{bundle}: {os.path.getsize(bundle) / 2**20:.1f} MiB, {len(ids)} embedding rows kept")


def unpack(bundle, out):
    with tarfile.open(bundle, "r:xz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    meta = json.loads(files.pop("weights/header.json"))
    rest, rows = files.pop("weights/rest.bin"), files.pop("weights/embedding_rows.bin")
    header, ids = meta["header"], meta["ids"]
    begin, end = header[EMBED]["data_offsets"]
    row = header[EMBED]["shape"][1] * 2
    table = bytearray(end - begin)
    for k, i in enumerate(ids):
        table[i * row:(i + 1) * row] = rows[k * row:(k + 1) * row]
    for name, blob in files.items():
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(blob)
    write_safetensors(os.path.join(out, "consolidated.safetensors"), header, rest[:begin] + bytes(table) + rest[begin:])
    print(f"{out}: fixtures unpacked ({len(files)} files)")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__)
    (pack if sys.argv[1] == "pack" else unpack)(sys.argv[2], sys.argv[3])
