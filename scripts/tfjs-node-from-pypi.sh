#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node against the TensorFlow C library inside PyPI's tensorflow-cpu wheel, for machines that
# reach PyPI and npm but not the host tfjs-node's install script downloads libtensorflow and its prebuilt addon from.
# The wheel's libtensorflow_cc.so.2 exports the whole C API (TF_*, TFE_*) that tfjs-node links against, and the
# wheel ships the C headers; only the file name differs from the libtensorflow.so tfjs-node expects.
# Built once into ${MODELPLANE_PY_CACHE:-~/.cache/modelplane}/tfjs-node-<versions>, then linked into node_modules
# (not in package.json: `npm ci` would run its downloading install script). See docs/runtimes/tfjs.md.
#   usage: scripts/tfjs-node-from-pypi.sh            → @modelplane/runtime-tfjs then picks the `node` backend
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tf_version=${TF_VERSION:-2.21.0}
tfjs_version=4.22.0
python=${MODELPLANE_PYTHON:-python3}
cache=${MODELPLANE_PY_CACHE:-$HOME/.cache/modelplane}
dir="$cache/tfjs-node-$tfjs_version-tf$tf_version"
node="$root/node_modules/.bin/node"

if [ ! -f "$dir/.complete" ]; then
  # Node's headers, for node-gyp (which would download them): from the node-<os>-<arch> npm package that the pinned
  # `node` package installs, or the same package fetched from npm when an `npm install` pruned it.
  nodedir=
  for candidate in "$root"/node_modules/node/node_modules/node-*-*; do
    [ -f "$candidate/include/node/node_api.h" ] && nodedir=$candidate
  done
  if [ -z "$nodedir" ]; then
    platform=$("$node" -p '`node-${process.platform}-${process.arch}@${process.versions.node}`')
    mkdir -p "$cache/node-headers" && (cd "$cache/node-headers" && echo '{"private":true}' > package.json &&
      npm install --ignore-scripts --no-audit --no-fund --loglevel=error "$platform" >&2)
    nodedir="$cache/node-headers/node_modules/${platform%@*}"
  fi
  rm -rf "$dir" && mkdir -p "$dir/wheel"
  echo "downloading tensorflow-cpu $tf_version from PyPI (~275 MB)" >&2
  "$python" -m pip download --quiet --no-deps --only-binary=:all: "tensorflow-cpu==$tf_version" -d "$dir/wheel"
  "$python" - "$dir" <<'EOF'
import glob, sys, zipfile
target = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{target}/wheel/*.whl")[0])
wanted = ("tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2")
wheel.extractall(target, [n for n in wheel.namelist() if n in wanted or n.startswith("tensorflow/include/")])
EOF
  rm -rf "$dir/wheel"
  (cd "$dir" && echo '{"private":true}' > package.json &&
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error "@tensorflow/tfjs-node@$tfjs_version" node-gyp@11 >&2)
  pkg="$dir/node_modules/@tensorflow/tfjs-node"
  mkdir -p "$pkg/deps/lib"
  ln -s "$dir/tensorflow/include" "$pkg/deps/include"
  for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do ln -s "$dir/tensorflow/$lib" "$pkg/deps/lib/$lib"; done
  # binding.gyp links -ltensorflow -ltensorflow_framework; the binary records the sonames (libtensorflow_cc.so.2 …).
  ln -s libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so"
  ln -s libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"
  echo "building tfjs_binding.node (N-API 8)" >&2
  (cd "$pkg" && PATH="$(dirname "$node"):$PATH" "$dir/node_modules/.bin/node-gyp" rebuild --loglevel=error --nodedir="$nodedir" -j 2 \
    --module_name=tfjs_binding --module_path="$pkg/lib/napi-v8" --napi_build_version=8 >&2)
  touch "$dir/.complete"
fi
mkdir -p "$root/node_modules/@tensorflow"
ln -sfn "$dir/node_modules/@tensorflow/tfjs-node" "$root/node_modules/@tensorflow/tfjs-node"
echo "$root/node_modules/@tensorflow/tfjs-node -> $dir/node_modules/@tensorflow/tfjs-node"
