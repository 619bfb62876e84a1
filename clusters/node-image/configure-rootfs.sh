#!/bin/bash
# Turns the debootstrapped tree into a kind node root. Runs inside it (chroot) after kind's own
# node files (sigs.k8s.io/kind@v0.30.0 images/base/files) and files/ were copied in; mirrors what
# kind's base-image Dockerfile does, adapted to Debian's packaged containerd, runc and CNI plugins.
set -euo pipefail

# kind's containerd.service starts /usr/local/bin/containerd; Debian installs /usr/bin/containerd.
ln -sf /usr/bin/containerd /usr/local/bin/containerd
# containerd looks for CNI plugins in /opt/cni/bin; Debian puts them in /usr/lib/cni.
mkdir -p /opt/cni
ln -sfn /usr/lib/cni /opt/cni/bin

# A node runs only what Kubernetes needs: drop the units Debian's packages enabled.
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/basic.target.wants/* \
      /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl*
# Kernel messages of the host would show up in every node's journal.
echo "ReadKMsg=no" >> /etc/systemd/journald.conf
ln -sf /lib/systemd/systemd /sbin/init

systemctl enable kubelet.service containerd.service undo-mount-hacks.service course-cni.service
# binfmt registrations are kernel-global: a node must not change the host's.
systemctl mask systemd-binfmt.service

# Where the Docker host's capability bounding set lacks CAP_SYS_RESOURCE (our CI; see
# clusters/host/runc-capfix), nothing in the node may lower an oom_score_adj: the kubelet asks
# -998 for pod sandboxes and runc then fails ("can't get final child's PID from pipe: EOF").
# With this, containerd clamps the value to its own; elsewhere containerd runs at -999, below
# anything the kubelet asks for, so the clamp changes nothing.
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
grep -q 'restrict_oom_score_adj = true' /etc/containerd/config.toml

mkdir -p /etc/kubernetes/manifests /etc/cni/net.d
# The base OCI spec for pods: containerd's default plus kind's hook that gives each container
# its own copy of product_uuid (kubelet reads it).
ctr oci spec \
  | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
