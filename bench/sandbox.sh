# Sourced by the bench scripts: start and stop `plivo-bulk sandbox` (or
# bench/cmd/shapeserver, the sandbox behind another limiter shape) on
# loopback. Needs $bin (the binary) and $out (a scratch folder).
sb=

# start_sandbox ARGS...: stops the sandbox started before, if any, starts
# `plivo-bulk sandbox` with ARGS on 127.0.0.1 and sets PLIVO_* from what it
# prints.
start_sandbox() { start_server "$bin" sandbox "$@"; }

# start_shaped ARGS...: the same with $out/shapeserver (see throttle.sh).
start_shaped() { start_server "$out/shapeserver" "$@"; }

start_server() {
  stop_sandbox
  rm -f "$out/sandbox.out" # else the wait below may read the last sandbox's address
  "$@" --listen 127.0.0.1:0 >"$out/sandbox.out" 2>&1 &
  sb=$!
  for _ in $(seq 1 600); do
    grep -q 'export PLIVO_API_URL' "$out/sandbox.out" 2>/dev/null && break
    kill -0 "$sb" 2>/dev/null || { cat "$out/sandbox.out" >&2; exit 1; }
    sleep 0.1
  done
  eval "$(grep -o 'export PLIVO_API_URL.*' "$out/sandbox.out")"
}

# stop_sandbox: stops it, as Ctrl-C would (it writes its --dump file then).
stop_sandbox() {
  if [[ -n $sb ]]; then
    kill -INT "$sb" 2>/dev/null || true
    wait "$sb" 2>/dev/null || true
    sb=
  fi
}
