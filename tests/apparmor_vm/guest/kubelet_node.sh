#!/bin/sh
# Runs INSIDE the AppArmor VM: start Docker on the baked docker disk (the AppArmor kind node image
# is already in it), start the node the way kind does, load a profile on it, and run the node's
# own kubelet standalone (no control plane) with a static pod that asks for the profile through
# securityContext.appArmorProfile. Prints "STEP <name> <uptime>" marks and "FACT <key>=<value>"
# lines for the host test. $SHARE/limits sets NODE_WAIT and POD_WAIT (seconds), both below the
# host's boot timeout; on a failed step node-diag.log gets the node's state.
NODE=course-apparmor-kubelet-node
SHARE=/mnt/course
KUBELET_LOG=/var/log/kubelet-standalone.log
NODE_WAIT=300
POD_WAIT=600
. $SHARE/limits
. $SHARE/node_watch.sh  # watch_node, diagnose
. $SHARE/docker_up.sh   # cgroup v1, modules, the docker disk, containerd, dockerd
IMAGE=$(cat $SHARE/node-image)
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "the node image $IMAGE is not on the docker disk; images there:"; docker images
    tail -30 /tmp/dockerd.log
    exit 10
fi
step image-present
start_node "$IMAGE" "" --hostname "$NODE"
step node-created
watch_node &
WATCH=$!
until_uptime() {  # until_uptime SECONDS WHAT COMMAND...: retry COMMAND every 2 s for SECONDS of uptime
    wait_s=$1; what=$2; shift 2
    deadline=$(( $(cut -d. -f1 /proc/uptime) + wait_s ))
    until "$@" >/dev/null 2>&1; do
        [ "$(cut -d. -f1 /proc/uptime)" -lt "$deadline" ] || { echo "$what: not after ${wait_s}s"; return 1; }
        sleep 2
    done
}
until_uptime "$NODE_WAIT" "containerd in the node" docker exec $NODE systemctl is-active containerd \
    || { kill $WATCH; diagnose; exit 12; }
step node-ready
echo "FACT node_apparmor=$(docker exec $NODE cat /sys/module/apparmor/parameters/enabled)"
echo "FACT node_securityfs=$(docker exec $NODE sh -c '[ -d /sys/kernel/security/apparmor ] && echo yes')"
docker exec -i $NODE apparmor_parser -r < $SHARE/profile || { kill $WATCH; exit 13; }
step profile-loaded
PAUSE=$(docker exec $NODE crictl images -o json | python3 -c \
    'import json,sys; print([t for i in json.load(sys.stdin)["images"] for t in i["repoTags"] if "/pause:" in t][0])')
docker exec -i $NODE sh -c 'mkdir -p /var/lib/kubelet && cat > /var/lib/kubelet/standalone.yaml' < $SHARE/kubelet.yaml
sed "s#@IMAGE@#$PAUSE#" $SHARE/pod.yaml | docker exec -i $NODE sh -c 'cat > /etc/kubernetes/manifests/probe.yaml'
docker exec --detach $NODE sh -c "kubelet --config=/var/lib/kubelet/standalone.yaml \
    --pod-infra-container-image=$PAUSE >$KUBELET_LOG 2>&1"
step kubelet-started
probe_running() { [ -n "$(docker exec $NODE crictl ps --name probe --state running -q)" ]; }
until_uptime "$POD_WAIT" "the static pod's container" probe_running || { kill $WATCH; diagnose; exit 14; }
kill $WATCH
step pod-running
CID=$(docker exec $NODE crictl ps --name probe -q)
PID=$(docker exec $NODE crictl inspect --output go-template --template '{{.info.pid}}' "$CID")
echo "FACT pod_label=$(docker exec $NODE cat /proc/$PID/attr/current)"
echo "FACT oci_apparmor=$(docker exec $NODE crictl inspect --output go-template \
    --template '{{.info.runtimeSpec.process.apparmorProfile}}' "$CID")"
step done
