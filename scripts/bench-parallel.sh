#!/usr/bin/env bash
# Wall time of a pipeline from an empty cache, one stage at a time with 2 TensorFlow threads each, against two
# stages at a time with 1 thread each (the defaults), in a throwaway copy of the workspace.
#
#   scripts/bench-parallel.sh [pipeline-target] [repeats]     e.g. scripts/bench-parallel.sh exp4-quick 2
#
# Each configuration runs `nx run pipelines:<target>` from an empty artifacts folder and Nx cache; the configurations
# alternate so that load from other processes hits both alike. Prints one line per run and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-exp4-quick}"
repeats="${2:-2}"
export GROWLAB_DATA_DIR="${GROWLAB_DATA_DIR:-$(cd ../shared/datasets 2>/dev/null && pwd)}"
export NX_DAEMON=false NX_NO_CLOUD=true NX_ISOLATE_PLUGINS=false NX_TUI=false

copy="$(mktemp -d /tmp/growlab-bench-XXXXXX)"
trap 'rm -rf "$copy"' EXIT
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$copy" 2>/dev/null || true
mkdir -p "$copy/node_modules/@growlab"
for e in node_modules/* node_modules/.[!.]*; do
  name="$(basename "$e")"
  [ "$name" = "@growlab" ] || ln -s "$PWD/$e" "$copy/node_modules/$name"
done
for p in packages/*; do ln -s "$copy/$p" "$copy/node_modules/@growlab/$(basename "$p")"; done
ln -s "$copy/tools/pipeline" "$copy/node_modules/@growlab/pipeline"
[ -d tools/cache-server ] && ln -s "$copy/tools/cache-server" "$copy/node_modules/@growlab/cache-server"
for p in packages/* tools/*; do [ -d "$p/node_modules" ] && ln -s "$PWD/$p/node_modules" "$copy/$p/node_modules"; done
cd "$copy"

run() { # label parallel threads
  rm -rf artifacts .nx/cache
  local start end
  start=$(date +%s%N)
  TF_NUM_INTRAOP_THREADS="$3" TF_NUM_INTEROP_THREADS="$3" npx nx run "pipelines:$target" --parallel="$2" --output-style=static > "run-$1.log" 2>&1 \
    || { echo "$1 failed:"; tail -30 "run-$1.log"; exit 1; }
  end=$(date +%s%N)
  local ms=$(( (end - start) / 1000000 ))
  echo "$1 $ms" >> times.txt
  echo "$1: $(( ms / 1000 )).$(( ms % 1000 / 100 )) s (load $(cut -d' ' -f1 /proc/loadavg))"
}

echo "pipeline $target, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$repeats"); do
  run "K1x2threads" 1 2
  run "K2x1thread" 2 1
done
for label in K1x2threads K2x1thread; do
  mapfile -t ms < <(grep "^$label " times.txt | cut -d' ' -f2 | sort -n)
  n=${#ms[@]}
  if (( n % 2 )); then med=${ms[$(( n / 2 ))]}; else med=$(( (ms[n / 2 - 1] + ms[n / 2]) / 2 )); fi
  echo "$label: median $(( med / 1000 )).$(( med % 1000 / 100 )) s over $n runs"
done
