"""Data files shipped with ``labs``: syscall tables, notes and containerd's RuntimeDefault list.

The JSON files are read by :mod:`labs.syscalls` and :mod:`labs.seccomp`; the tables are made by
``python -m labs.data.regenerate_syscalls`` (see that module for the sources).
"""
