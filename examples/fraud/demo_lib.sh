# Shared by demo.sh, rollout_demo.sh and retrain_demo.sh (sourced, not run).
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

expect_exit() {  # expect_exit CODE command...
  local want=$1; shift
  "$@"; local got=$?
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want from '$*', got $got" >&2; exit 1; fi
}

start_server() {  # start_server DEPLOY_FILE: serve it on a free port; sets $port and $server
  port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  OMP_NUM_THREADS=1 shipyard serve --desired "$1" --port "$port" > server.log 2>&1 &
  server=$!
  python - "$port" <<'EOF' || { cat server.log; exit 1; }
import sys, time, httpx
for _ in range(240):
    try:
        if httpx.get(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1).status_code == 200:
            sys.exit(0)
    except httpx.HTTPError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
}
