# Shared by the project's scripts.

# Puts Swift on PATH (a fresh machine has it at /opt/swift but maybe not on PATH).
ensure_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
      export PATH="/opt/swift/usr/bin:$PATH"
    else
      echo "swift not found: install Swift 6.2 or later (see README)" >&2
      exit 1
    fi
  fi
}

# Installs Debian packages that are missing (root or sudo; apt-get update once).
ensure_apt_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# libgpiod 2.x for the second backend build (issue 17; docs/hil.md "Both libgpiod APIs"). Where
# the system's libgpiod is already 2.1 or later, nothing is fetched. Otherwise (Debian 12 has 1.6)
# libgpiod-dev and libgpiod3 come from Debian's bookworm-backports through a private apt state and
# are unpacked into .build/gpiod2, so the system's 1.6 stays for the other build. Sets
# GPIOD2_PKG_CONFIG_PATH: build with PKG_CONFIG_PATH="$GPIOD2_PKG_CONFIG_PATH".
ensure_gpiod2() {
  local root dir apt opts
  if pkg-config --atleast-version=2.1 libgpiod 2>/dev/null; then GPIOD2_PKG_CONFIG_PATH=""; return 0; fi
  dir="$(pwd)/.build/gpiod2"
  if [ ! -f "$dir/done" ]; then
    rm -rf "$dir"; apt="$dir/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" "$dir/debs" "$dir/pkgconfig"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" > "$apt/sources.list"
    opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.list.d" -o "Dir::State::Lists=$apt/lists"
          -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
    apt-get -qq "${opts[@]}" update >&2 || { echo "gpiod2: apt-get update of bookworm-backports failed" >&2; return 1; }
    (cd "$dir/debs" && apt-get -qq "${opts[@]}" download libgpiod-dev libgpiod3 >&2) \
      || { echo "gpiod2: cannot download libgpiod-dev/libgpiod3 from bookworm-backports" >&2; return 1; }
    for d in "$dir"/debs/*.deb; do dpkg-deb -x "$d" "$dir/root"; done
    root="$dir/root/usr"
    local libdir; libdir=$(dirname "$(find "$root/lib" -name libgpiod.a | head -n 1)")
    local version; version=$(sed -n 's/^Version: *//p' "$libdir/pkgconfig/libgpiod.pc")
    case "$version" in 2.*) ;; *) echo "gpiod2: backports gave libgpiod '$version', not 2.x" >&2; return 1 ;; esac
    # Only the static library is linked (the HIL guest's binaries are static; dynamic test builds
    # set LD_LIBRARY_PATH to $libdir).
    printf 'prefix=%s\nlibdir=%s\nincludedir=%s/include\n\nName: libgpiod\nDescription: libgpiod %s (bookworm-backports, unpacked)\nVersion: %s\nLibs: -L${libdir} -lgpiod\nCflags: -I${includedir}\n' \
      "$root" "$libdir" "$root" "$version" "$version" > "$dir/pkgconfig/libgpiod.pc"
    echo "$libdir" > "$dir/libdir"
    touch "$dir/done"
  fi
  GPIOD2_PKG_CONFIG_PATH="$dir/pkgconfig"
  GPIOD2_LIBDIR=$(cat "$dir/libdir")
}
