#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Build the end-to-end test guest from Debian packages:
#   vmlinuz     the kernel of the package linux-image-amd64 depends on
#   initrd.img  busybox-static + the virtio network modules of that kernel
#               (decompressed, in dependency order) + tests/guest/init
#               + /bin/rawsend (tests/guest/rawsend.c, built static)
#   rawsend     the same helper, for the test's control run outside the guest
#
#   build-guest.sh [OUTDIR]
#
# OUTDIR defaults to $ECLUSE_GUEST_DIR, then to $ECLUSE_BUILD_DIR/guest, then
# to build/guest in the source tree.  Cached: when OUTDIR already holds both
# outputs and they are newer than this script, the init and rawsend.c, nothing
# is done.  Needs a C compiler with static glibc (cc, or $CC; libc6-dev),
# apt-get (Debian's archive), dpkg, cpio, gzip, modinfo (kmod), and xz
# or zstd when the kernel's modules are compressed.  A kernel .deb can be given
# in $ECLUSE_GUEST_KERNEL_DEB and a busybox-static .deb in
# $ECLUSE_GUEST_BUSYBOX_DEB to build without the archive.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:-${ECLUSE_GUEST_DIR:-${ECLUSE_BUILD_DIR:-$src/build}/guest}}
init=$here/init
rawsend_c=$here/rawsend.c
self=$here/build-guest.sh

# The modules the guest needs (the virtio network card; the ACPI power button
# and evdev, so that a shutdown request powers the guest off); their
# dependencies are added from the modules' own metadata.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net
        button evdev)

die() { echo "build-guest.sh: error: $*" >&2; exit 1; }
note() { echo "build-guest.sh: $*" >&2; }

fresh() { # OUTPUT: exists and newer than every input
        [ -s "$1" ] && [ "$1" -nt "$self" ] && [ "$1" -nt "$init" ] && [ "$1" -nt "$rawsend_c" ]
}

if fresh "$out/vmlinuz" && fresh "$out/initrd.img" && fresh "$out/rawsend"; then
        note "up to date: $out"
        exit 0
fi

cc=${CC:-cc}
for tool in dpkg-deb cpio gzip modinfo "$cc"; do
        command -v "$tool" >/dev/null || die "$tool not found (scripts/dev deps installs it)"
done

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/ecluse-guest.XXXXXX")
trap 'rm -rf "$work" "$out/vmlinuz.tmp.$$" "$out/initrd.img.tmp.$$" "$out/rawsend.tmp.$$"' EXIT

# apt-get download as root warns that _apt cannot write here; keep it quiet.
apt_download() { # PACKAGE
        (cd "$work" && apt-get -qq -o APT::Sandbox::User=root download "$1") >&2
}

# The concrete kernel package linux-image-amd64 depends on today.
kernel_package() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

if [ -n "${ECLUSE_GUEST_KERNEL_DEB:-}" ]; then
        kdeb=$ECLUSE_GUEST_KERNEL_DEB
else
        pkg=$(kernel_package)
        if [ -z "$pkg" ]; then
                note "apt-cache does not know linux-image-amd64; running apt-get update"
                apt-get update -qq >&2 || die "apt-get update failed"
                pkg=$(kernel_package)
        fi
        [ -n "$pkg" ] || die "cannot find the kernel package linux-image-amd64 depends on"
        note "downloading $pkg"
        if ! apt_download "$pkg"; then
                # Stale package lists name a version the archive has dropped.
                note "apt-get download $pkg failed; running apt-get update and trying again"
                apt-get update -qq >&2 || die "apt-get update failed"
                pkg=$(kernel_package)
                apt_download "$pkg" || die "apt-get download $pkg failed"
        fi
        kdeb=$(ls "$work"/"$pkg"_*.deb)
fi
dpkg-deb -x "$kdeb" "$work/kernel"

kver=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -printf "%f\n" | head -n1)
[ -n "$kver" ] || die "no /lib/modules in $kdeb"
[ -f "$work/kernel/boot/vmlinuz-$kver" ] || die "no /boot/vmlinuz-$kver in $kdeb"
moddir=$work/kernel/lib/modules/$kver
# rawsend sends through AF_PACKET: load it when this kernel has it as a module.
if grep -q '^CONFIG_PACKET=m' "$work/kernel/boot/config-$kver" 2>/dev/null; then
        MODULES+=(af_packet)
fi

# The raw-frame helper, static: the initramfs has no libc.
"$cc" -static -O2 -Wall -o "$work/rawsend" "$rawsend_c" || die "cannot build $rawsend_c (static glibc: libc6-dev)"

# busybox-static: the installed one when the package is there, else from the archive.
if [ -n "${ECLUSE_GUEST_BUSYBOX_DEB:-}" ]; then
        dpkg-deb -x "$ECLUSE_GUEST_BUSYBOX_DEB" "$work/busybox"
        busybox=$work/busybox/bin/busybox
elif dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
        busybox=$(dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n1)
else
        note "downloading busybox-static"
        apt_download busybox-static || die "apt-get download busybox-static failed"
        dpkg-deb -x "$(ls "$work"/busybox-static_*.deb)" "$work/busybox"
        busybox=$work/busybox/bin/busybox
fi
[ -x "$busybox" ] || die "no busybox binary in busybox-static"

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$init" "$root/init"
install -m 0755 "$work/rawsend" "$root/bin/rawsend"
# busybox acpid runs ./PWRF/00000080 (in its config directory) on a power
# button press: power off at once, there is nothing to save.
mkdir -p "$root/etc/acpi/PWRF"
cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "ECLUSE-GUEST power button" >/dev/console
exec /bin/busybox poweroff -f
EOF
chmod 0755 "$root/etc/acpi/PWRF/00000080"

# Decompress a module once into $work/mods/NAME.ko and print its path.
module_file() { # NAME
        local name=$1 f dst=$work/mods/$1.ko
        if [ ! -f "$dst" ]; then
                mkdir -p "$work/mods"
                # Module file names use '-' or '_' interchangeably with their names.
                f=$(find "$moddir/kernel" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) | head -n1)
                [ -n "$f" ] || die "module $name not found in $kver"
                case "$f" in
                *.ko) cp "$f" "$dst" ;;
                *.ko.xz) xz -dc "$f" >"$dst" || die "xz cannot decompress $f" ;;
                *.ko.zst) zstd -qdc "$f" >"$dst" || die "zstd cannot decompress $f" ;;
                *.ko.gz) gzip -dc "$f" >"$dst" ;;
                *) die "unknown module compression: $f" ;;
                esac
        fi
        echo "$dst"
}

# Dependencies first (post-order), each module once.
order=()
declare -A seen=()
visit() { # NAME
        local name=$1 dep deps
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        deps=$(modinfo -F depends "$(module_file "$name")")
        for dep in ${deps//,/ }; do
                visit "$dep"
        done
        order+=("$name")
}
for m in "${MODULES[@]}"; do
        visit "$m"
done
for m in "${order[@]}"; do
        cp "$work/mods/$m.ko" "$root/lib/modules/$m.ko"
done
printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
echo "$kver" >"$root/etc/kernel-version"
note "kernel $kver, modules: ${order[*]}"

# Write both outputs under temporary names, then move them into place, so an
# interrupted build never leaves a fresh-looking half.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
        gzip -9n >"$out/initrd.img.tmp.$$"
install -m 0644 "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.tmp.$$"
install -m 0755 "$work/rawsend" "$out/rawsend.tmp.$$"
chmod 0644 "$out/initrd.img.tmp.$$"
echo "$kver" >"$out/kernel-version"
mv -f "$out/vmlinuz.tmp.$$" "$out/vmlinuz"
mv -f "$out/initrd.img.tmp.$$" "$out/initrd.img"
mv -f "$out/rawsend.tmp.$$" "$out/rawsend"
note "built $out/vmlinuz, $out/initrd.img and $out/rawsend"
