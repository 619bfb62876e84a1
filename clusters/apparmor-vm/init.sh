#!/bin/sh
# PID 1 of the AppArmor verification VM: no systemd (fast boot under TCG). Mount the kernel
# filesystems, start auditd so AppArmor records land in a file instead of the console, run
# /mnt/course/guest.sh from the 9p share, report its exit code on the console, power off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
hostname course-apparmor-vm
ip link set lo up
modprobe 9pnet_virtio
mkdir -p /mnt/course
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 course /mnt/course; then
    echo "COURSE-VM-EXIT 90 (9p share did not mount)"
    echo o >/proc/sysrq-trigger
fi
mkdir -p /var/log/audit
auditd
for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -s /var/run/auditd.pid ] && break
    sleep 0.2
done
sh /mnt/course/guest.sh >/mnt/course/guest.log 2>&1
status=$?
cp /var/log/audit/audit.log /mnt/course/audit.log 2>/dev/null
sync
echo "COURSE-VM-EXIT $status"
# minbase has no poweroff(8); the kernel's sysrq "o" powers off at once (QEMU then exits).
echo o >/proc/sysrq-trigger
sleep 30
