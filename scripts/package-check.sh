#!/usr/bin/env bash
# The package as a user installs it: `npm pack`, then `npm install -g` of the tarball into a
# fresh prefix, then the installed `mfa-gateway` run from outside the repository:
# --version, check-config on the sample config, and `serve` answering /.gateway/health.
# Run by .ci/run; needs only node and npm on PATH (and the npm registry for dependencies).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf 'package-check: %s\n' "$*"; }

step "npm pack"
tarball="$(cd "$repo" && npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n1)"
[ -f "$work/$tarball" ] || { echo "package-check: npm pack made no tarball" >&2; exit 1; }

step "npm install -g $tarball into a fresh prefix"
npm install -g --prefix "$work/prefix" --no-audit --no-fund --loglevel=error "$work/$tarball" >/dev/null
bin="$work/prefix/bin/mfa-gateway"
pkg="$work/prefix/lib/node_modules/mfa-gateway"
[ -x "$bin" ] || { echo "package-check: $bin was not installed" >&2; exit 1; }
[ ! -e "$pkg/src" ] || { echo "package-check: the package ships src/ (it should ship dist/ only)" >&2; exit 1; }

mkdir -p "$work/site" && cd "$work/site"
cp -r "$pkg/config" ./config

step "mfa-gateway --version"
version="$("$bin" --version)"
expected="$(node -p "require('$repo/package.json').version")"
[ "$version" = "$expected" ] || { echo "package-check: --version printed '$version', expected '$expected'" >&2; exit 1; }

export GATEWAY_SESSION_SECRET="package-check-session-secret-0123456789abcdef"
step "mfa-gateway check-config (the sample config)"
"$bin" check-config

step "mfa-gateway serve, then GET /.gateway/health"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
sed -i "s/^  listen: .*/  listen: 127.0.0.1:$port/" config/gateway.yaml
"$bin" serve >"$work/serve.log" 2>&1 &
server_pid=$!
ok=0
for _ in $(seq 1 50); do
  if node -e "fetch('http://127.0.0.1:$port/.gateway/health').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"; then ok=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ok" != 1 ]; then
  echo "package-check: the installed gateway did not answer health within 5 s; its log:" >&2
  cat "$work/serve.log" >&2
  exit 1
fi
kill -TERM "$server_pid"
wait "$server_pid" || { echo "package-check: serve did not exit cleanly on SIGTERM" >&2; cat "$work/serve.log" >&2; exit 1; }
server_pid=""
step "ok"
