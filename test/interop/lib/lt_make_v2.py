#!/usr/bin/python3
"""Make a BitTorrent v2 (or hybrid) torrent with libtorrent, for the BEP 52 interop test.

  lt_make_v2.py --dir DIR --name NAME --size BYTES --piece-length N [--hybrid] --out FILE.torrent

Writes DIR/NAME (random bytes), lets libtorrent hash it (create_torrent + set_piece_hashes) and write the
.torrent, then prints one JSON line: the v2 info hash (64 hex), the v1 one for a hybrid torrent, the
file's length, pieces root (64 hex) and piece layer (hex of the concatenated hashes, from the torrent's
"piece layers"), and the piece length.
"""
import argparse
import json
import os
import sys

try:
    import libtorrent as lt
except ImportError:
    print(json.dumps({"event": "fatal", "error": "python3-libtorrent is not installed (apt-get install python3-libtorrent)"}), flush=True)
    sys.exit(3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--piece-length", type=int, required=True)
    ap.add_argument("--hybrid", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    path = os.path.join(args.dir, args.name)
    with open(path, "wb") as f:
        f.write(os.urandom(args.size))

    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = 0 if args.hybrid else lt.create_torrent.v2_only
    ct = lt.create_torrent(fs, args.piece_length, flags=flags)
    ct.set_creator("lt-interop")
    lt.set_piece_hashes(ct, args.dir)
    data = lt.bencode(ct.generate())
    with open(args.out, "wb") as f:
        f.write(data)

    ti = lt.torrent_info(args.out)
    ih = ti.info_hashes()
    files = ti.files()
    root = files.root(0)
    layers = lt.bdecode(data).get(b"piece layers", {})
    layer = layers.get(root.to_bytes(), b"")
    print(json.dumps({
        "event": "made",
        "info_hash_v2": str(ih.v2),
        "info_hash_v1": str(ih.v1) if ih.has_v1() else None,
        "length": files.file_size(0),
        "pieces_root": str(root),
        "piece_layer": layer.hex(),
        "piece_length": ti.piece_length(),
        "num_pieces": ti.num_pieces(),
    }), flush=True)


if __name__ == "__main__":
    main()
