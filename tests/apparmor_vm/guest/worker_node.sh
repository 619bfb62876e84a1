#!/bin/sh
# Runs INSIDE the AppArmor VM: the AppArmor kind node, joined as a worker to a cluster whose
# control plane runs natively on the host (test_apparmor_worker_node.py). Only the node runs
# emulated; the API server, etcd and the grader run at native speed on the host.
#
# The network is QEMU's restricted user network: the guest reaches nothing but the host's
# forward of $API_ADDRESS:6443 to the API server's loopback port, and the host's forward of
# $NODE_IP:10250 (the kind network's gateway on the host, so the API server's container can
# reach it) to this guest's kubelet. $NODE_IP is also on a dummy interface here, so the kubelet
# may advertise it. The node container uses the guest's network (no Docker bridge in the
# guest), so its name is the guest's hostname, as course-cni expects.
#
# Then it serves the host: each $SHARE/requests/<n>.sh the host writes is run and answered in
# <n>.out and <n>.rc (the kernel's profile list, a process label, the audit collector), until
# $SHARE/stop appears. "STEP <name> <uptime>" marks go to guest.log, the node's containers to
# node-watch.log every 90 s.
SHARE=/mnt/course
NODE=$(hostname)
NODE_WAIT=240
JOIN_WAIT=900
. $SHARE/limits
. $SHARE/network        # API_ADDRESS API_NAME NODE_IP
. $SHARE/node_watch.sh  # watch_node, diagnose
. $SHARE/docker_up.sh   # cgroup v1, modules, the docker disk, containerd, dockerd
modprobe virtio_net
IFACE=$(basename "$(dirname "$(ls -d /sys/class/net/*/device | head -1)")")  # the virtio NIC, not docker0
ip link set "$IFACE" up && ip addr add 10.0.2.15/24 dev "$IFACE" && ip route add default via 10.0.2.2 \
    || { echo "no network interface to configure (found: $(ls /sys/class/net))"; exit 16; }
ip link add course0 type dummy && ip addr add "$NODE_IP/32" dev course0 && ip link set course0 up || exit 16
step network
serve() {  # answer the host's requests until it asks the guest to stop
    until [ -e $SHARE/stop ]; do
        for request in $SHARE/requests/*.sh; do
            [ -e "$request" ] || continue
            answer=${request%.sh}
            mv "$request" "$answer.run"
            sh "$answer.run" >"$answer.out" 2>&1
            echo $? >"$answer.rc.tmp" && mv "$answer.rc.tmp" "$answer.rc"
        done
        sleep 1
    done
}
serve &
SERVE=$!
mkdir -p /mnt/src
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 src /mnt/src \
    || { echo "the project share (mount tag src) did not mount"; exit 9; }
IMAGE=$(cat $SHARE/node-image)
# the node on the guest's network instead of a bridge, with the /var the host prepared on the
# docker disk: the lab images are in its containerd
[ -d /var/lib/docker/node-var/lib/containerd ] || { echo "the docker disk has no node-var (labs.apparmor.docker_disk)"; exit 9; }
start_node "$IMAGE" /var/lib/docker/node-var --network host
step node-created
watch_node &
WATCH=$!
deadline=$(( $(cut -d. -f1 /proc/uptime) + NODE_WAIT ))
until docker exec "$NODE" systemctl is-active containerd >/dev/null 2>&1; do
    [ "$(cut -d. -f1 /proc/uptime)" -lt "$deadline" ] || { echo "containerd in the node: not after ${NODE_WAIT}s"; kill $WATCH; diagnose; exit 12; }
    sleep 2
done
step node-ready
docker exec "$NODE" sh -c "echo '$API_ADDRESS $API_NAME' >> /etc/hosts"
docker exec -i "$NODE" sh -c 'cat > /kind/join.yaml' < $SHARE/join.yaml || exit 13
step joining
{ timeout "$JOIN_WAIT" docker exec "$NODE" kubeadm join --config /kind/join.yaml --skip-phases=preflight --v=5
  echo $? >/tmp/join.rc; } 2>&1 | stamp
status=$(cat /tmp/join.rc)
if [ $status -ne 0 ]; then
    echo "kubeadm join failed (exit $status; 124: not done after ${JOIN_WAIT}s)"; kill $WATCH; diagnose; exit 13
fi
step joined
for image in $(cat $SHARE/images); do
    docker exec "$NODE" ctr --namespace=k8s.io images ls -q | grep -q "/$image\$" \
        || { echo "$image is not in the node's containerd (the docker disk's node-var)"; exit 14; }
done
step images-present
wait $SERVE
kill $WATCH
step done
