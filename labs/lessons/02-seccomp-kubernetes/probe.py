"""Call three syscalls that RuntimeDefault blocks and print the outcomes as one JSON line.

Runs inside a pod (``python3 -c``), so it uses only the standard library. Each syscall is
called directly through libc: "blocked (EPERM)" is what a seccomp denial looks like, any
other errno means the call reached the kernel and was judged there.
"""
import ctypes
import errno
import json
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
KEYCTL = {"x86_64": 250, "aarch64": 219}[platform.machine()]


def outcome(ret, err):
    if ret != -1:
        return "allowed"
    if err == errno.EPERM:
        return "blocked (EPERM)"
    return f"reached the kernel ({errno.errorcode.get(err, err)})"


def in_child(action):
    """Run ``action`` in a child so namespaces do not leak into this process."""
    pid = os.fork()
    if pid == 0:
        try:
            ret, err = action(), ctypes.get_errno()
        except OSError as exc:
            ret, err = -1, exc.errno
        os._exit(0 if ret != -1 else 100 + err)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return (0, 0) if status == 0 else (-1, status - 100)


def new_userns():
    return libc.unshare(CLONE_NEWUSER)


def mount_tmpfs():
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == -1:
        return -1
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)


results = {
    "unshare": outcome(*in_child(new_userns)),
    "mount": outcome(*in_child(mount_tmpfs)),
    "keyctl": outcome(libc.syscall(KEYCTL, 0, -3, 0), ctypes.get_errno()),
}
print(json.dumps(results))
