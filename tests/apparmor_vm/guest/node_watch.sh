# Sourced INSIDE the AppArmor VM by kubelet_node.sh and learner_host.sh, after $NODE and $SHARE
# are set ($KUBELET_LOG too when the node's kubelet runs standalone and logs to that file).
# watch_node (run it in the background) appends to $SHARE/node-watch.log every 90 s: the
# guest's busiest processes (over 3 s, so a process spinning on the vCPUs is named), the kind
# node's containers with state and restart count, the kubelet's last line, and once per exited
# container its exit code and last log lines, so a control-plane component that keeps
# restarting says why. Each docker exec has a time limit: a wedged containerd must not silence
# the watch. diagnose writes $SHARE/node-diag.log after a failed step. start_node starts the node
# container ($NODE_WAIT bounds its docker run).
kubelet_tail() {  # the kubelet's last $1 lines: its log file when standalone, else its journal
    if [ -n "$KUBELET_LOG" ]; then
        timeout 60 docker exec $NODE tail -n "$1" "$KUBELET_LOG"
    else
        timeout 60 docker exec $NODE sh -c "systemctl is-active kubelet; journalctl -u kubelet -n $1 --no-pager -o cat"
    fi
}
watch_node() {
    while sleep 90; do
        up=$(cut -d' ' -f1 /proc/uptime)
        echo "$up busiest: $(top -b -n 2 -d 3 -w 160 | awk '/^top -/ {frame++} frame == 2' | sed -n '8,11p' \
            | awk '{printf "%s %s%% %s(%s); ", $1, $9, $12, $8}')"
        echo "$up $(timeout 60 docker exec $NODE crictl ps -a -o json 2>&1 | python3 $SHARE/node_watch.py)"
        echo "$up kubelet: $(kubelet_tail 1 2>&1 | tr '\n' ' ' | cut -c1-240)"
        for id in $(timeout 60 docker exec $NODE crictl ps -a --state exited -q 2>/dev/null); do
            grep -qx "$id" /tmp/exited-seen 2>/dev/null && continue
            echo "$id" >>/tmp/exited-seen
            echo "$up exited: $(timeout 60 docker exec $NODE crictl inspect -o go-template \
                --template '{{.status.metadata.name}}#{{.status.metadata.attempt}} code {{.status.exitCode}} {{.status.reason}}' "$id" 2>&1)"
            timeout 60 docker exec $NODE crictl logs --tail 12 "$id" 2>&1 | cut -c1-300 | sed 's/^/    /'
        done
    done >>$SHARE/node-watch.log 2>&1
}
diagnose() {
    {
        echo "== docker ps -a"; docker ps -a
        echo "== node console (tail)"; docker logs -t $NODE 2>&1 | tail -60
        echo "== crictl ps -a"; docker exec $NODE crictl ps -a
        echo "== kubelet (tail)"; kubelet_tail 60
        echo "== containerd (tail)"; docker exec $NODE journalctl -u containerd --no-pager | tail -30
        echo "== pods"; docker exec $NODE kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -A -o wide
        echo "== dockerd (tail)"; tail -20 /tmp/dockerd.log
    } >$SHARE/node-diag.log 2>&1
}

# start_node IMAGE VAR [OPTION...]: the kind node container, with the options kind's docker
# provider gives a node (kind v0.30, pkg/cluster/internal/providers/docker) plus OPTIONs; its
# /var is the folder VAR, or a fresh volume when VAR is empty. A docker run that hangs exits 75.
start_node() {
    image=$1; var=$2; shift 2
    timeout "$NODE_WAIT" docker run --detach --tty --name "$NODE" --privileged --init=false \
        --cgroupns=private --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --tmpfs /tmp --tmpfs /run --volume "${var:+$var:}/var" --volume /lib/modules:/lib/modules:ro \
        "$@" "$image" >/dev/null
    status=$?
    if [ $status -ne 0 ]; then
        echo "docker run of the node: exit $status (124: not done after ${NODE_WAIT}s)"; diagnose
        [ $status -eq 124 ] && exit 75   # hung once under emulation: the host boots the guest again
        exit 11
    fi
}
