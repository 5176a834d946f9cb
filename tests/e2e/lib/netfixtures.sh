#!/usr/bin/env bash
# Application images for the network, compose and Node tests, built from Debian packages
# without a Docker daemon: the debian fixture (debootstrap, fixtures.sh) as the one base
# layer, then two layers made by apt-get in a chroot over overlayfs (the upper directory is
# the layer, its whiteouts turned into OCI ones):
#   layer "web": nginx-light redis-server curl iperf3 socat
#   layer "wp":  mariadb-server apache2 libapache2-mod-php php-mysql wordpress (over "web")
# and one OCI layout, CACHE/oci/netapps, naming six images that share those layers:
#   nginx, redis, netclient (curl, redis-cli), iperf3     base + web
#   mariadb, wordpress                                    base + web + wp
# Rebuilt only when the inputs change (this script, the debian fixture, the package
# versions of the mirror are not pinned: the stamp holds the date's week so a stale cache
# is refreshed weekly). Downloaded .debs are kept in CACHE/apt-archives.
#
# Sourced:
#   netfx_build CACHE          build (or reuse) the layout
#   netfx_push CACHE IMAGE...  copy images to $REGISTRY_ADDR (default: all six)
# Run: tests/e2e/lib/netfixtures.sh build CACHE

_NFX_SELF=$(readlink -f "${BASH_SOURCE[0]}")
_NFX_DIR=$(dirname "$_NFX_SELF")
_NFX_WEB_PKGS="nginx-light redis-server curl iperf3 socat"
_NFX_WP_PKGS="mariadb-server apache2 libapache2-mod-php php-mysql wordpress"
_NFX_IMAGES="nginx redis netclient iperf3 mariadb wordpress"

netfx_build() { bash "$_NFX_SELF" build "$@"; }

netfx_push() {
  local cache=$1 img
  shift
  local imgs=("$@")
  [ ${#imgs[@]} -gt 0 ] || read -r -a imgs <<<"$_NFX_IMAGES"
  for img in "${imgs[@]}"; do
    skopeo --insecure-policy copy --quiet --retry-times 2 --dest-tls-verify=false --preserve-digests \
      "oci:$cache/oci/netapps:$img" "docker://$REGISTRY_ADDR/$img:latest" || return 1
  done
}

# ---------------------------------------------------------------------------------------------

_nfx_mounted_under() { awk '{print $5}' /proc/self/mountinfo | grep -q "^$1"; }

# Runs apt-get in ROOT (an overlay mount) with the host's resolver, no service starts, and
# the shared .deb cache; undoes all of it afterwards, leaving only what the packages put.
_nfx_apt() {
  local root=$1 archives=$2
  shift 2
  mkdir -p "$archives/partial"
  mount -t proc proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind "$archives" "$root/var/cache/apt/archives"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  local rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C \
    sh -c 'apt-get -q update && apt-get -q -y --no-install-recommends install "$@"' apt "$@" \
    >"$root.apt.log" 2>&1 || rc=$?
  umount "$root/var/cache/apt/archives" "$root/dev" "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d"
  : >"$root/etc/resolv.conf"
  find "$root/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f ! -name lock -delete
  find "$root/var/log" -type f \( -name '*.log' -o -name '*.log.*' -o -name 'eipp.*' \) -delete
  rm -f "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
  if [ $rc -ne 0 ]; then
    tail -n 30 "$root.apt.log" >&2
    _fx_die "apt-get install $* failed"
  fi
}

# Overlay whiteouts (char 0/0, opaque xattr) of an upper dir become OCI ones, in place.
_nfx_oci_whiteouts() {
  /usr/bin/python3 - "$1" <<'PY'
import os, stat, sys
top = sys.argv[1]
for d, dirs, files in os.walk(top):
    for name in list(dirs) + list(files):
        p = os.path.join(d, name)
        st = os.lstat(p)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            os.unlink(p)
            open(os.path.join(d, ".wh." + name), "w").close()
    try:
        if os.getxattr(d, "trusted.overlay.opaque", follow_symlinks=False) == b"y":
            open(os.path.join(d, ".wh..wh..opq"), "w").close()
    except OSError:
        pass
PY
}

_nfx_file() { # path mode content
  mkdir -p "$(dirname "$1")"
  printf '%s' "$3" >"$1"
  chmod "$2" "$1"
}

# Configuration and entry points of the web layer.
_nfx_web_files() {
  local r=$1
  _nfx_file "$r/var/www/html/index.html" 0644 $'hello from nginx\n'
  _nfx_file "$r/etc/nginx/sites-available/default" 0644 'server {
  listen 80 default_server;
  root /var/www/html;
  index index.html;
  location / { try_files $uri $uri/ =404; }
}
'
  ln -sf /etc/nginx/sites-available/default "$r/etc/nginx/sites-enabled/default"
}

# The MariaDB and WordPress entry points: the docker-library images' environment names.
_nfx_wp_files() {
  local r=$1
  _nfx_file "$r/usr/local/bin/arca-mariadb" 0755 '#!/bin/sh
# First start: the system tables come with the image (copied into a new volume); create the
# database and user the environment asks for, once.
set -e
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld /var/lib/mysql
[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --skip-test-db >/dev/null
if [ ! -f /var/lib/mysql/.arca-initialized ]; then
  mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  i=0; until mariadb --socket=/run/mysqld/init.sock -e "SELECT 1" >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done
  {
    [ -z "$MYSQL_ROOT_PASSWORD" ] || echo "ALTER USER '"'"'root'"'"'@'"'"'localhost'"'"' IDENTIFIED BY '"'"'$MYSQL_ROOT_PASSWORD'"'"';"
    [ -z "$MYSQL_DATABASE" ] || echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    if [ -n "$MYSQL_USER" ]; then
      echo "CREATE USER IF NOT EXISTS '"'"'$MYSQL_USER'"'"'@'"'"'%'"'"' IDENTIFIED BY '"'"'$MYSQL_PASSWORD'"'"';"
      [ -z "$MYSQL_DATABASE" ] || echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '"'"'$MYSQL_USER'"'"'@'"'"'%'"'"';"
    fi
  } | mariadb --socket=/run/mysqld/init.sock
  kill "$pid"; wait "$pid" || true
  touch /var/lib/mysql/.arca-initialized
fi
exec mariadbd --user=mysql --bind-address=0.0.0.0 --skip-name-resolve "$@"
'
  _nfx_file "$r/usr/local/bin/arca-wordpress" 0755 '#!/bin/sh
set -e
cat >/etc/wordpress/config-default.php <<EOF
<?php
define('"'"'DB_NAME'"'"', '"'"'${WORDPRESS_DB_NAME:-wordpress}'"'"');
define('"'"'DB_USER'"'"', '"'"'${WORDPRESS_DB_USER:-wordpress}'"'"');
define('"'"'DB_PASSWORD'"'"', '"'"'${WORDPRESS_DB_PASSWORD}'"'"');
define('"'"'DB_HOST'"'"', '"'"'${WORDPRESS_DB_HOST:-db}'"'"');
define('"'"'WP_CONTENT_DIR'"'"', '"'"'/var/lib/wordpress/wp-content'"'"');
?>
EOF
chown root:www-data /etc/wordpress/config-default.php
chmod 640 /etc/wordpress/config-default.php
. /etc/apache2/envvars
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
exec apache2 -DFOREGROUND
'
  _nfx_file "$r/etc/apache2/sites-available/000-default.conf" 0644 '<VirtualHost *:80>
  DocumentRoot /usr/share/wordpress
  Alias /wp-content /var/lib/wordpress/wp-content
  <Directory /usr/share/wordpress>
    Options FollowSymLinks
    AllowOverride Limit Options FileInfo
    DirectoryIndex index.php
    Require all granted
  </Directory>
  <Directory /var/lib/wordpress/wp-content>
    Options FollowSymLinks
    Require all granted
  </Directory>
  ErrorLog /dev/stderr
  CustomLog /dev/stdout combined
</VirtualHost>
'
}

_nfx_inputs() {
  {
    cat "$_NFX_SELF"
    cat "$1/oci/.debian.inputs" 2>/dev/null
    echo "$_NFX_WEB_PKGS / $_NFX_WP_PKGS"
    date -u +%G-%V
  } | _fx_sha256
}

_nfx_config() { # the image's config from named jq arguments (Cmd, Entrypoint, ExposedPorts ...)
  jq -cn --arg Path "$_FX_PATH" "$@" '$ARGS.named + {Env: [$Path]} | del(.Path)'
}

_nfx_build_apps() {
  local work=$1 layout=$2 cache=$3 base_layout base manifest config lw lp layerA layerB web wp
  base_layout=$cache/oci/debian
  manifest=$(fixtures_manifest_digest "$base_layout")
  config=$(jq -r '.config.digest' "$base_layout/blobs/sha256/${manifest#sha256:}")
  base=$(jq -c --slurpfile cfg "$base_layout/blobs/sha256/${config#sha256:}" \
    '{digest: .layers[0].digest, size: .layers[0].size, diff_id: $cfg[0].rootfs.diff_ids[0]}' \
    "$base_layout/blobs/sha256/${manifest#sha256:}")
  _fx_blob_copy "$base_layout" "$layout" "$(jq -r .digest <<<"$base")"

  mkdir -p "$work/base" "$work/web" "$work/wp" "$work/w1" "$work/w2" "$work/m"
  # shellcheck disable=SC2064 # the work dir is fixed now
  trap "_fx_umount_under '$work'" EXIT
  tar -C "$work/base" --numeric-owner --xattrs --xattrs-include='*' -pxzf \
    "$base_layout/blobs/sha256/$(jq -r '.digest | ltrimstr("sha256:")' <<<"$base")"

  _fx_log "apt-get install $_NFX_WEB_PKGS"
  mount -t overlay overlay -o "lowerdir=$work/base,upperdir=$work/web,workdir=$work/w1" "$work/m"
  # shellcheck disable=SC2086 # a list of packages
  _nfx_apt "$work/m" "$cache/apt-archives" $_NFX_WEB_PKGS
  _nfx_web_files "$work/m"
  umount "$work/m"

  _fx_log "apt-get install $_NFX_WP_PKGS"
  mount -t overlay overlay -o "lowerdir=$work/web:$work/base,upperdir=$work/wp,workdir=$work/w2" "$work/m"
  # shellcheck disable=SC2086
  _nfx_apt "$work/m" "$cache/apt-archives" $_NFX_WP_PKGS
  _nfx_wp_files "$work/m"
  umount "$work/m"

  _nfx_oci_whiteouts "$work/web"
  _nfx_oci_whiteouts "$work/wp"
  layerA=$(_fx_layer --keep-owners --xattrs --fast "$layout" "$work/web")
  layerB=$(_fx_layer --keep-owners --xattrs --fast "$layout" "$work/wp")
  rm -rf --one-file-system "$work/base" "$work/web" "$work/wp"

  local hist_base hist_web hist_wp descs=() d
  hist_base=$(_fx_history "debootstrap --variant=minbase $_FX_DEBIAN_SUITE")
  hist_web=$(_fx_history "apt-get install $_NFX_WEB_PKGS")
  hist_wp=$(_fx_history "apt-get install $_NFX_WP_PKGS")
  web="[$base,$layerA]"
  wp="[$base,$layerA,$layerB]"
  lw="[$hist_base,$hist_web]"
  lp="[$hist_base,$hist_web,$hist_wp]"
  # shellcheck disable=SC2016
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Cmd '["nginx","-g","daemon off;"]' \
    --argjson ExposedPorts '{"80/tcp":{}}' --arg StopSignal SIGQUIT)" "$lw" "$web")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "nginx"}}' <<<"$d")")
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Cmd \
    '["redis-server","--protected-mode","no","--bind","0.0.0.0","--save","","--appendonly","no"]' \
    --argjson ExposedPorts '{"6379/tcp":{}}')" "$lw" "$web")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "redis"}}' <<<"$d")")
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Cmd '["bash"]')" "$lw" "$web")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "netclient"}}' <<<"$d")")
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Entrypoint '["iperf3"]' --argjson Cmd '["-s"]' \
    --argjson ExposedPorts '{"5201/tcp":{}}')" "$lw" "$web")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "iperf3"}}' <<<"$d")")
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Entrypoint '["/usr/local/bin/arca-mariadb"]' \
    --argjson ExposedPorts '{"3306/tcp":{}}' --argjson Volumes '{"/var/lib/mysql":{}}')" "$lp" "$wp")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "mariadb"}}' <<<"$d")")
  d=$(_fx_image "$layout" amd64 "" "$(_nfx_config --argjson Entrypoint '["/usr/local/bin/arca-wordpress"]' \
    --argjson ExposedPorts '{"80/tcp":{}}')" "$lp" "$wp")
  descs+=("$(jq -c '. + {annotations: {"org.opencontainers.image.ref.name": "wordpress"}}' <<<"$d")")
  printf '%s\n' "${descs[@]}" | jq -cjs --arg mt "$_FX_MT_INDEX" '{schemaVersion: 2, mediaType: $mt, manifests: .}' \
    >"$layout/index.json"
}

_nfx_main() {
  case "${1:-}" in
    build)
      [ $# -eq 2 ] || { echo "usage: netfixtures.sh build CACHE" >&2; exit 2; }
      # shellcheck source=/dev/null
      . "$_NFX_DIR/fixtures.sh"
      _fx_need debootstrap tar gzip jq skopeo flock chroot
      local cache
      cache=$(mkdir -p "$2" && readlink -f "$2")
      fixtures_build_debian "$cache" || exit 1
      _fx_lock "$cache"
      _fx_cached "$cache" netapps "$(_nfx_inputs "$cache")" _nfx_build_apps
      ;;
    *) echo "usage: netfixtures.sh build CACHE" >&2; exit 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  umask 022
  _nfx_main "$@"
fi
