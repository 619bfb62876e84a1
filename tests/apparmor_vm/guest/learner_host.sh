#!/bin/sh
# Runs INSIDE the AppArmor VM: make it a learner's Debian laptop (Docker on the baked disk, the
# project and its virtualenv from the host's read-only share), then run learner_host.py with
# Debian's python3. "STEP <name> <uptime>" lines mark the shell's steps for the host test;
# node-watch.log gets the kind node's containers every 90 s while Python runs, node-diag.log
# the node's state when Python failed.
SHARE=/mnt/course
NODE=seccomp-course-control-plane
. $SHARE/docker_up.sh
mkdir -p /mnt/src
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 src /mnt/src \
    || { echo "the project share (mount tag src) did not mount"; exit 9; }
step project-mounted
export COURSE_ROOT=/mnt/src COURSE_STATE_DIR=/root/course-state COURSE_WORKSPACE=/root/workspace
export HOME=/root PYTHONDONTWRITEBYTECODE=1
mkdir -p "$COURSE_STATE_DIR" "$COURSE_WORKSPACE"
. $SHARE/node_watch.sh  # watch_node
watch_node &
WATCH=$!
python3 -u $SHARE/learner_host.py
status=$?
kill $WATCH
[ $status -eq 0 ] || diagnose
step done
exit $status
