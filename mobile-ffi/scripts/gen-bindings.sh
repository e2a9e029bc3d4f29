#!/usr/bin/env bash
# Builds the mobile-ffi cdylib (debug) and generates Kotlin, Swift and Python bindings from
# it into target/bindings/{kotlin,swift,python}. The Python folder also gets a copy of the
# library, so `import mobile_ffi` works from there.
#
#   mobile-ffi/scripts/gen-bindings.sh            # all three languages
#   mobile-ffi/scripts/gen-bindings.sh python     # only some
#
# Environment: PROFILE=release builds and uses target/release instead of target/debug.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
profile="${PROFILE:-debug}"
languages=("$@")
[ ${#languages[@]} -gt 0 ] || languages=(kotlin swift python)

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
  Darwin) lib_name="libmobile_ffi.dylib" ;;
  *) lib_name="libmobile_ffi.so" ;;
esac

if [ "$profile" = release ]; then
  cargo build -p mobile-ffi --release
else
  cargo build -p mobile-ffi
fi
lib="$target_dir/$profile/$lib_name"
[ -f "$lib" ] || { echo "gen-bindings: $lib was not built" >&2; exit 1; }

cargo build -p uniffi-bindgen
bindgen="$target_dir/debug/uniffi-bindgen"

for language in "${languages[@]}"; do
  out="$target_dir/bindings/$language"
  rm -rf "$out"
  mkdir -p "$out"
  # Ferry's uniffi-bindgen carries mobile-ffi/uniffi.toml (package names, modules).
  # No formatter (ktlint, swiftformat, black) is assumed to be installed.
  "$bindgen" generate "$lib" --language "$language" --out-dir "$out" --no-format
  if [ "$language" = python ]; then
    cp "$lib" "$out/"
  fi
  echo "gen-bindings: $language -> $out"
done
