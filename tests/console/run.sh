#!/usr/bin/env bash
# The console browser test, as `.ci/run` runs it (and as anyone can by hand):
#   1. builds `ferry` and `ferry-demo` (crate ferry-tests) and installs playwright-core;
#   2. starts `ferry` on a free port with a fresh data directory;
#   3. seeds the review queue with `ferry-demo seed` (two phones, conflicting offline edits);
#   4. adds a ward leader (`ferry user add chutich --role leader --unit 07132`);
#      runs console.test.mjs in headless Chromium (Debian `chromium`): sign in, queue,
#      resolve the date-of-birth conflict, see it on the record page, the progress report
#      with its charts and XLSX download, the data-quality, coverage, officers and data-use reports, a phone whose pushes
#      fail marked stalled on the device health page, the leader's view; screenshots of the queue, the
#      item page and the reports go to docs/screenshots/ (override with SCREENSHOT_DIR);
#   5. syncs both phones again (`ferry-demo sync --check`): both must show the admin's
#      choice with no conflict left.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

chromium_bin="${CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$chromium_bin" ] || [ ! -x "$chromium_bin" ]; then
  echo "console-tests: chromium not found (apt-get install -y chromium)" >&2
  exit 1
fi

cargo build -q -p ferry-tests --bin ferry --bin ferry-demo
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
bin="$target/debug"

if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d)"
password="console-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
FERRY_BIND=127.0.0.1:0 FERRY_DATA_DIR="$work/data" FERRY_ADMIN_PASSWORD="$password" \
  FERRY_LOG=warn "$bin/ferry" serve >"$work/stdout" 2>"$work/stderr" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "${FERRY_CONSOLE_KEEP_LOG:-}" ]; then cp "$work/stderr" "$FERRY_CONSOLE_KEEP_LOG"; fi
  rm -rf "$work"
}
trap cleanup EXIT

url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^listening on //p' "$work/stdout" | head -n 1)"
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "console-tests: ferry did not start" >&2
  cat "$work/stderr" >&2
  exit 1
fi
echo "console-tests: ferry at $url"

"$bin/ferry-demo" seed --server "$url" --dir "$work/phones" --admin-password "$password"
# A ward leader (reports only) for the report pages.
leader_password="leader-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
FERRY_DATA_DIR="$work/data" FERRY_LOG=warn "$bin/ferry" user add chutich --role leader \
  --unit 07132 --password "$leader_password" >/dev/null

(cd "$here" && FERRY_URL="$url" FERRY_ADMIN_PASSWORD="$password" CHROMIUM="$chromium_bin" \
  FERRY_LEADER_PASSWORD="$leader_password" \
  SCREENSHOT_DIR="${SCREENSHOT_DIR:-$root/docs/screenshots}" \
  node --test --test-reporter=spec console.test.mjs)

"$bin/ferry-demo" sync --server "$url" --dir "$work/phones" --check
