# Sourced by scripts/run and scripts/test: make .venv hold the pinned
# requirements files named and the package itself (editable: the checkout's
# code is what runs).
# Works on a fresh Debian or Raspberry Pi OS with Python 3.11+; as root it
# installs the few Debian packages a venv and the spidev build need.

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

say() { printf 'enviro-sensor: %s\n' "$*" >&2; }

apt_install() {
  # Installs Debian packages when we are root and apt exists; 1 otherwise.
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq >/dev/null || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_venv() {
  if ! command -v "$PYTHON" >/dev/null; then
    say "needs Python 3.11 or newer ($PYTHON not found)"; exit 1
  fi
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "needs Python 3.11 or newer, $PYTHON is $("$PYTHON" -V 2>&1)"; exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    # Debian ships venv and ensurepip separately from python3.
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv || { say "cannot create a virtual environment: install python3-venv"; exit 1; }
      "$PYTHON" -m venv "$VENV"
    fi
  fi
  # spidev (the LCD's SPI binding) is built from source: it needs a compiler.
  if ! command -v cc >/dev/null || [ ! -e "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then
    apt_install gcc libc6-dev python3-dev || say "no C compiler or Python headers: spidev may fail to build (install gcc python3-dev)"
  fi
  # sounddevice (enviroplus.noise: the noise sensor) loads PortAudio when it
  # is imported; without it the service runs and reports the sensor absent.
  if ! { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q 'libportaudio\.so\.2'; then
    apt_install libportaudio2 || say "no PortAudio (install libportaudio2): the noise sensor will be reported absent"
  fi
  local stamp="$VENV/.installed-$(cat "$@" pyproject.toml | sha256sum | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    say "installing Python packages into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    local args=()
    for file in "$@"; do args+=(-r "$file"); done
    "$VENV/bin/python" -m pip install -q "${args[@]}" || { say "pip install failed"; exit 1; }
    # The package on top, its dependencies being the pins just installed.
    "$VENV/bin/python" -m pip install -q --no-deps -e . || { say "pip install -e . failed"; exit 1; }
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}
