# Sourced INSIDE the AppArmor VM by kubelet_node.sh and learner_host.sh, after $NODE and $SHARE
# are set ($KUBELET_LOG too when the node's kubelet runs standalone and logs to that file).
# watch_node (run it in the background) appends to $SHARE/node-watch.log every 90 s: the
# guest's busiest processes (over 3 s, so a process spinning on the vCPUs is named), the kind
# node's containers with state and restart count, the kubelet's last line, and once per exited
# container its exit code and last log lines, so a control-plane component that keeps
# restarting says why. Each docker exec has a time limit: a wedged containerd must not silence
# the watch. diagnose writes $SHARE/node-diag.log after a failed step.
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
