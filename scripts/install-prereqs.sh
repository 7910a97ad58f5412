#!/usr/bin/env bash
# Installs what building, running and testing Boarding Desk needs on Debian/Ubuntu, and only what
# is missing: Tauri's system libraries, Xvfb + WebKitWebDriver for the end-to-end tests,
# GNOME Keyring and PostgreSQL (the tests start private instances of them and stop them after),
# tauri-driver, and a check of Node.js and Rust. Safe to run again; fast when all is present.
set -euo pipefail

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential curl wget file pkg-config libssl-dev
  libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver dbus-daemon libdbus-1-dev gnome-keyring postgresql
)
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

say() { printf '[prereqs] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root (or sudo) to run: $*"; exit 1
  fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v major minor
  v=$(node --version | sed 's/^v//'); major=${v%%.*}; minor=$(echo "$v" | cut -d. -f2)
  [ "$major" -gt "$NODE_MIN_MAJOR" ] || { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ]; }
}
if ! node_ok || ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "system packages present"
fi

if ! node_ok; then
  say "Node.js >= ${NODE_MIN_MAJOR}.${NODE_MIN_MINOR} is required (found: $(node --version 2>/dev/null || echo none))."
  say "Install a current Node.js (e.g. from your distribution's backports or NodeSource) and run again."
  exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"
  else say "Rust is required: install it with rustup (https://rustup.rs) and run again."; exit 1
  fi
fi

if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  say "installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
else
  say "tauri-driver present"
fi
