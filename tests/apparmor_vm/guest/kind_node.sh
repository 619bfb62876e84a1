#!/bin/sh
# Runs INSIDE the AppArmor VM: start Docker on the baked docker disk (the AppArmor kind node
# image is already in it), create the cluster, load a profile on the node and run a pod that
# uses it. Prints "STEP <name> <uptime>" marks and "FACT <key>=<value>" lines for the host
# test; kind's own output goes to kind.log, each line prefixed with the guest's uptime.
# $SHARE/limits sets KIND_WAIT, SA_WAIT and POD_WAIT (seconds), all below the host's boot timeout.
NODE=seccomp-course-apparmor-control-plane
SHARE=/mnt/course
export PATH=$SHARE/bin:$PATH
KIND_WAIT=900
SA_WAIT=600
POD_WAIT=600
. $SHARE/limits
kubectl() { docker exec -i $NODE kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
. $SHARE/node_watch.sh  # watch_node, diagnose
. $SHARE/docker_up.sh   # cgroup v1, modules, the docker disk, containerd, dockerd
IMAGE=$(cat $SHARE/node-image)
if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "the node image $IMAGE is not on the docker disk; images there:"; docker images
    tail -30 /tmp/dockerd.log
    exit 10
fi
step image-present
watch_node &
WATCH=$!
{ kind create cluster --image "$IMAGE" --config $SHARE/cluster.yaml --wait "${KIND_WAIT}s" --retain 2>&1
  echo "KIND-EXIT $?"; } | stamp >$SHARE/kind.log
kill $WATCH
grep -q "KIND-EXIT 0" $SHARE/kind.log || { diagnose; exit 11; }
step cluster-created
echo "FACT node_apparmor=$(docker exec $NODE cat /sys/module/apparmor/parameters/enabled)"
echo "FACT cm_renew_deadline=$(docker exec $NODE grep -o -- '--leader-elect-renew-deadline=[^ "]*' /etc/kubernetes/manifests/kube-controller-manager.yaml)"
echo "FACT apiserver_etcd_check=$(docker exec $NODE grep -o -- '--etcd-healthcheck-timeout=[^ "]*' /etc/kubernetes/manifests/kube-apiserver.yaml)"
echo "FACT apiserver_liveness=$(docker exec $NODE sh -c 'sed -n "/livenessProbe/,/timeoutSeconds/p" /etc/kubernetes/manifests/kube-apiserver.yaml' | grep -o 'failureThreshold: [0-9]*')"
echo "FACT node_securityfs=$(docker exec $NODE sh -c '[ -d /sys/kernel/security/apparmor ] && echo yes')"
docker exec -i $NODE apparmor_parser -r < $SHARE/profile || exit 12
step profile-loaded
PAUSE=$(docker exec $NODE crictl images -o json | python3 -c \
    'import json,sys; print([t for i in json.load(sys.stdin)["images"] for t in i["repoTags"] if "/pause:" in t][0])')
# the API refuses pods until the controller-manager has made the namespace's ServiceAccount;
# the wait is measured in uptime seconds (each emulated `kubectl` takes seconds by itself)
deadline=$(( $(cut -d. -f1 /proc/uptime) + SA_WAIT ))
until kubectl get serviceaccount default >/dev/null 2>&1; do
    [ "$(cut -d. -f1 /proc/uptime)" -lt "$deadline" ] || { echo "no default ServiceAccount after ${SA_WAIT}s"; diagnose; exit 15; }
    sleep 2
done
step serviceaccount-ready
sed "s#@IMAGE@#$PAUSE#" $SHARE/pod.yaml | kubectl apply -f - || { diagnose; exit 13; }
kubectl wait --for=condition=Ready pod/course-apparmor-probe --timeout="${POD_WAIT}s" || { diagnose; exit 14; }
step pod-ready
CID=$(docker exec $NODE crictl ps --name probe -q)
PID=$(docker exec $NODE crictl inspect --output go-template --template '{{.info.pid}}' "$CID")
echo "FACT pod_label=$(docker exec $NODE cat /proc/$PID/attr/current)"
echo "FACT pod_field=$(kubectl get pod course-apparmor-probe -o jsonpath='{.spec.containers[0].securityContext.appArmorProfile.localhostProfile}')"
step done
