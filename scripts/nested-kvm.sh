#!/bin/bash
# Runs regsync kvm-probe and the real-KVM tests against a real KVM on a
# machine without /dev/kvm: a Debian kernel under QEMU (TCG, software
# emulation) with an emulated AMD SVM CPU loads kvm-amd, and the given
# binaries run inside it from an initramfs. Not part of the test command.
# usage: scripts/nested-kvm.sh BINARY... (e.g. build/release/cli/regsync build/release/tests/realkvm_test)
#        NESTED_CMD='/work/regsync kvm-replay ...' scripts/nested-kvm.sh build/release/cli/regsync  (one command instead)
# needs: apt-get install qemu-system-x86 linux-image-amd64 busybox-static cpio
set -e
K=$(ls /lib/modules | sort -V | tail -1); M=/lib/modules/$K/kernel
R=/tmp/nested/root; rm -rf /tmp/nested; mkdir -p $R/{bin,proc,sys,dev,lib64,lib/x86_64-linux-gnu,mod,work}
cp /usr/bin/busybox $R/bin/; for c in sh mount insmod poweroff cat echo ls sleep dmesg timeout; do ln -s busybox $R/bin/$c; done
cp $M/virt/lib/irqbypass.ko $M/drivers/crypto/ccp/ccp.ko $M/arch/x86/kvm/kvm.ko $M/arch/x86/kvm/kvm-amd.ko $R/mod/
for b in "$@"; do
  cp "$b" $R/work/
  for l in $(ldd "$b" | awk '/=>/{print $3}'); do cp -n "$l" $R/lib/x86_64-linux-gnu/; done
done
cp /lib64/ld-linux-x86-64.so.2 $R/lib64/
# The bundled scenarios, where the binaries were built to look for them.
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$R$here" && cp -r "$here/scenarios" "$here/catalogue" "$here/traces" "$R$here/"
cat > $R/init <<'EOS'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
insmod /mod/irqbypass.ko; insmod /mod/ccp.ko; insmod /mod/kvm.ko; insmod /mod/kvm-amd.ko nested=0 vgif=0
ls -l /dev/kvm
cd /work

if [ -n "NESTEDCMD" ]; then sh -c "NESTEDCMD" 2>&1; echo "rc=$?"; else
[ -x /work/regsync ] && /work/regsync kvm-probe; echo "kvm-probe rc=$?"; uname -r
for t in HERE/traces/regressions/*.json; do [ -x /work/regsync ] && timeout -s KILL 120 /work/regsync kvm-replay "$t" 2>&1; echo "kvm-replay $t rc=$?"; done
for t in /work/*_test; do [ -x "$t" ] && "$t" --gtest_color=no; echo "$t rc=$?"; done
fi
echo DONE
poweroff -f
EOS
sed -i "s|HERE|$here|g; s|NESTEDCMD|${NESTED_CMD:-}|g" $R/init
chmod +x $R/init
(cd $R && find . | cpio -o -H newc 2>/dev/null | gzip -1) > /tmp/nested/initrd.cpio.gz
ls -la /tmp/nested/initrd.cpio.gz
qemu-system-x86_64 -machine q35 -cpu EPYC,+svm -m 1024 -smp 1 -kernel /boot/vmlinuz-$K \
  -initrd /tmp/nested/initrd.cpio.gz -append "console=ttyS0 rdinit=/init quiet nowatchdog" \
  -nographic -no-reboot 2>&1 | grep -v "TCG doesn't support"
