#!/usr/bin/env bash
# Kotlin binding test (run by .ci/run, not by cargo test):
#   1. makes sure kotlinc (npm `kotlin-compiler`, into .tools/) and JNA (Debian `libjna-java`)
#      are there;
#   2. builds the mobile-ffi cdylib and the `ferry` server, generates the Kotlin bindings and
#      compiles them to a jar;
#   3. starts a real `ferry` on a free port with a fresh data dir and two officers (with
#      display names);
#   4. runs mobile-ffi/tests/kotlin/FieldTest.kts against it (with -ea), then
#      AttachTest.kts through a relay that cuts connections (scripts/cutting-relay.py);
#   5. compiles the example program mobile-ffi/examples/kotlin/FieldApp.kt and runs it against
#      the same server.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
kotlinc="$root/.tools/node_modules/kotlin-compiler/bin/kotlinc"
jna="/usr/share/java/jna.jar"

say() { printf 'kotlin-test: %s\n' "$*"; }

# 1. Tools.
if [ ! -f "$jna" ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing libjna-java"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libjna-java >/dev/null
  else
    say "JNA is missing: run 'apt-get install -y libjna-java' as root" >&2
    exit 1
  fi
fi
if [ ! -x "$kotlinc" ]; then
  say "installing kotlinc $KOTLIN_VERSION into .tools"
  npm install --prefix "$root/.tools" "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
fi
command -v java >/dev/null || { say "java is missing (OpenJDK 17 or newer)" >&2; exit 1; }

# 2. Build, generate, compile.
say "building ferry and mobile-ffi"
cargo build -q -p ferry-tests --bin ferry
cargo build -q -p mobile-ffi
ferry="$target_dir/debug/ferry"
"$root/mobile-ffi/scripts/gen-bindings.sh" kotlin >/dev/null
out="$target_dir/kotlin-test"
mkdir -p "$out"
jar="$out/ferry-ffi.jar"
sources=("$target_dir"/bindings/kotlin/vn/ferry/core/*.kt)
if [ ! -f "$jar" ] || [ -n "$(find "${sources[@]}" -newer "$jar")" ]; then
  say "compiling the Kotlin bindings (about a minute)"
  rm -f "$jar"
  "$kotlinc" -nowarn "${sources[@]}" -cp "$jna" -d "$jar"
fi

# 3. A live server with two officers.
work="$(mktemp -d)"
server_pid=""
cleanup() {
  # Wait for the server to finish shutting down (it writes its database files as it
  # stops), so that removing its directory does not race it.
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export FERRY_ADMIN_PASSWORD="kotlin-test-admin-pw" FERRY_LOG="${FERRY_LOG:-warn}"
data="$work/server"
display1="Nguyễn Thị Lan" display2="Trần Văn Minh"
"$ferry" --data-dir "$data" user add kofficer --role officer --unit 07132 \
  --password kofficer-pw-123 --display-name "$display1" >/dev/null
"$ferry" --data-dir "$data" user add kofficer2 --role officer --unit 07132 \
  --password kofficer2-pw-456 >/dev/null
"$ferry" --data-dir "$data" user set kofficer2 --display-name "$display2" >/dev/null
"$ferry" --data-dir "$data" --bind 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
url=""
for _ in $(seq 100); do
  url="$(sed -n 's/^listening on //p' "$work/server.out")"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { say "the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
say "server at $url"

# 4. The test script.
say "running FieldTest.kts"
status=0
FERRY_URL="$url" FERRY_USER=kofficer FERRY_PASSWORD=kofficer-pw-123 \
FERRY_USER2=kofficer2 FERRY_PASSWORD2=kofficer2-pw-456 \
FERRY_DISPLAY="$display1" FERRY_DISPLAY2="$display2" \
FERRY_BIN="$ferry" FERRY_DATA_DIR="$data" FERRY_WORK_DIR="$work/phone" \
  "$kotlinc" -J-ea "-J-Djna.library.path=$target_dir/debug" -cp "$jar:$jna" \
  -script "$root/mobile-ffi/tests/kotlin/FieldTest.kts" >"$work/kotlin.out" 2>&1 || status=$?
# SQLCipher logs its refusal of the wrong keys on stderr ("ERROR CORE …"): expected.
grep -v 'ERROR CORE' "$work/kotlin.out" || true
if [ "$status" != 0 ] || ! grep -q "KOTLIN FIELD TEST OK" "$work/kotlin.out"; then
  say "FAILED (exit $status)" >&2
  exit 1
fi
say "FieldTest.kts passed"

# 4b. Attachments, over a relay that cuts connections in the middle of transfers.
python3 "$root/mobile-ffi/scripts/cutting-relay.py" "${url#http://}" >"$work/relay.out" &
relay_pid=$!
link=""
for _ in $(seq 50); do
  link="$(sed -n 's/^relay on //p' "$work/relay.out")"
  [ -n "$link" ] && break
  sleep 0.1
done
say "running AttachTest.kts through the cutting relay $link"
status=0
FERRY_LINK_URL="$link" FERRY_USER=kofficer FERRY_PASSWORD=kofficer-pw-123 \
FERRY_USER2=kofficer2 FERRY_PASSWORD2=kofficer2-pw-456 FERRY_WORK_DIR="$work/attach" \
  "$kotlinc" -J-ea "-J-Djna.library.path=$target_dir/debug" -cp "$jar:$jna" \
  -script "$root/mobile-ffi/tests/kotlin/AttachTest.kts" >"$work/attach.out" 2>&1 || status=$?
kill "$relay_pid" 2>/dev/null || true
grep -v 'ERROR CORE' "$work/attach.out" || true
if [ "$status" != 0 ] || ! grep -q "KOTLIN ATTACH TEST OK" "$work/attach.out"; then
  say "AttachTest.kts FAILED (exit $status)" >&2
  exit 1
fi
say "AttachTest.kts passed"

# 5. The example program, compiled to a runnable jar.
say "compiling and running examples/kotlin/FieldApp.kt"
app_jar="$out/field-app.jar"
"$kotlinc" -nowarn "$root/mobile-ffi/examples/kotlin/FieldApp.kt" -cp "$jar:$jna" \
  -include-runtime -d "$app_jar"
status=0
java -ea "-Djna.library.path=$target_dir/debug" -cp "$app_jar:$jar:$jna" FieldAppKt \
  "$url" kofficer kofficer-pw-123 "$work/app" >"$work/app.out" 2>&1 || status=$?
grep -v 'ERROR CORE' "$work/app.out" || true
if [ "$status" != 0 ] || ! grep -q "FIELD APP OK" "$work/app.out"; then
  say "the example FAILED (exit $status)" >&2
  exit 1
fi
say "passed"
