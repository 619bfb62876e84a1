"""Data files shipped with ``labs``: syscall tables, notes and containerd's RuntimeDefault list.

The JSON files are read by :mod:`labs.syscalls` and :mod:`labs.seccomp`; the x86_64/aarch64/compat
tables are made by ``python -m labs.data.regenerate_syscalls`` and the table of every name
libseccomp knows on any architecture (``libseccomp-syscalls.json``) by
``python -m labs.data.regenerate_libseccomp_names`` (see those modules for the sources).
"""
