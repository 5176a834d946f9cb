#!/bin/sh
# arcad manages mounts, namespaces and cgroups: it needs root.
if [ "$(id -u)" -ne 0 ]; then
  echo "arcad must run as root (it mounts overlay filesystems and creates namespaces); try: sudo make run" >&2
  exit 1
fi
