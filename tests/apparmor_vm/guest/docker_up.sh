# Sourced INSIDE the AppArmor VM by learner_host.sh and kubelet_node.sh: make the guest a
# Docker host the way a learner's laptop is one. cgroup v1, kernel modules, the baked docker disk at /var/lib/docker
# (the node and lab images already in it), containerd and dockerd. Defines step() (prints
# "STEP <name> <uptime>" for the host test) and stamp() (prefixes lines with the uptime).
step() { echo "STEP $1 $(cut -d' ' -f1 /proc/uptime)"; }
stamp() { while IFS= read -r line; do echo "$(cut -d' ' -f1 /proc/uptime) $line"; done; }
step guest-script
# cgroup v1, as on the course's CI hosts: kind's entrypoint then logs "detected cgroup v1" at
# once. On cgroup v2, kind (v0.30, providers/docker/provision.go) waits at most 30 s for the
# node's systemd to reach multi-user.target, and emulated systemd took 71 s on a busy 2-core
# machine. Kubernetes 1.34's kubelet still runs on cgroup v1; AppArmor does not depend on it.
mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
for c in cpuset cpu,cpuacct blkio memory devices freezer net_cls,net_prio perf_event hugetlb pids; do
    mkdir -p /sys/fs/cgroup/$c
    mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || exit 8
done
for pair in cpu:cpu,cpuacct cpuacct:cpu,cpuacct net_cls:net_cls,net_prio net_prio:net_cls,net_prio; do
    ln -s "${pair#*:}" "/sys/fs/cgroup/${pair%%:*}"
done
mkdir -p /sys/fs/cgroup/systemd
mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd || exit 8
for m in overlay br_netfilter veth bridge nf_nat iptable_nat iptable_filter xt_MASQUERADE xt_conntrack xt_addrtype; do
    modprobe $m
done
# kubeadm's SystemVerification reads the kernel config through kind's /lib/modules mount
cp /boot/config-"$(uname -r)" /lib/modules/"$(uname -r)"/config
mkdir -p /var/lib/docker
mount -L course-docker /var/lib/docker || { echo "the docker disk (label course-docker) is missing"; exit 9; }
step docker-disk-mounted
containerd >/tmp/containerd.log 2>&1 &
sleep 2
# no iptables rules: they cost ~30 s of emulated xtables calls at dockerd start and again for
# kind's network; the single node needs neither NAT (no network device) nor Docker's DNS
dockerd --containerd=/run/containerd/containerd.sock --iptables=false >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { tail -30 /tmp/dockerd.log; exit 10; }
step docker-ready
