#!/bin/sh
# Runs INSIDE the AppArmor VM: start Docker, load the AppArmor kind node image, create the
# cluster, load a profile on the node and run a pod that uses it. Prints "STEP <name> <uptime>"
# marks and "FACT <key>=<value>" lines for the host test.
NODE=seccomp-course-apparmor-control-plane
SHARE=/mnt/course
export PATH=$SHARE/bin:$PATH
step() { echo "STEP $1 $(cut -d' ' -f1 /proc/uptime)"; }
kubectl() { docker exec -i $NODE kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

mount -t cgroup2 none /sys/fs/cgroup
for m in overlay br_netfilter veth bridge nf_nat iptable_nat iptable_filter xt_MASQUERADE xt_conntrack xt_addrtype; do
    modprobe $m
done
# kubeadm's SystemVerification reads the kernel config through kind's /lib/modules mount
cp /boot/config-"$(uname -r)" /lib/modules/"$(uname -r)"/config
containerd >/tmp/containerd.log 2>&1 &
sleep 2
dockerd --containerd=/run/containerd/containerd.sock >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 1; done
step docker-ready
docker load -i $SHARE/node.tar || exit 10
step image-loaded
kind create cluster --image "$(cat $SHARE/node-image)" --config $SHARE/cluster.yaml --wait 30m \
    >$SHARE/kind.log 2>&1 || exit 11
step cluster-created
echo "FACT node_apparmor=$(docker exec $NODE cat /sys/module/apparmor/parameters/enabled)"
echo "FACT node_securityfs=$(docker exec $NODE sh -c '[ -d /sys/kernel/security/apparmor ] && echo yes')"
docker exec -i $NODE apparmor_parser -r < $SHARE/profile || exit 12
step profile-loaded
PAUSE=$(docker exec $NODE crictl images -o json | python3 -c \
    'import json,sys; print([t for i in json.load(sys.stdin)["images"] for t in i["repoTags"] if "/pause:" in t][0])')
sed "s#@IMAGE@#$PAUSE#" $SHARE/pod.yaml | kubectl apply -f - || exit 13
kubectl wait --for=condition=Ready pod/course-apparmor-probe --timeout=900s || exit 14
step pod-ready
CID=$(docker exec $NODE crictl ps --name probe -q)
PID=$(docker exec $NODE crictl inspect --output go-template --template '{{.info.pid}}' "$CID")
echo "FACT pod_label=$(docker exec $NODE cat /proc/$PID/attr/current)"
echo "FACT pod_field=$(kubectl get pod course-apparmor-probe -o jsonpath='{.spec.containers[0].securityContext.appArmorProfile.localhostProfile}')"
step done
