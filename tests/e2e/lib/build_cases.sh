# The build repertoire (tests/e2e/build/NN-name/): each case is a context directory with a
# Dockerfile and an `expect` file of directives, read by sourcing it with the directives
# defined as shell functions. Used by tests/e2e/t_build.sh (which checks them against Arca)
# and scripts/compare-build.sh (which builds them on Arca and dockerd and diffs the image
# configs).
#
# Directives of the build phase (bc_load):
#   flags ARGS...          extra `docker build` arguments ($REGISTRY_ADDR may be used)
#   pre SUBDIR TAG         build SUBDIR of the case first, tagged TAG (ONBUILD parents)
#   fails TEXT             the build must fail and print TEXT
#   exitcode N             ... with this exit status of the CLI
#   norun                  the image cannot run here (other platform, scratch)
# Directives of the check phase (the caller defines check_<directive> functions):
#   inspect TEMPLATE VALUE    docker image inspect -f TEMPLATE
#   layers N / nhistory N      RootFS layers / history entries
#   createdby I TEXT          history entry I (0 = newest) CreatedBy, exactly
#   createdbymatch I REGEX    ... matching an extended regex
#   file PATH CONTENT         the file's content in a container of the image
#   fstat PATH FORMAT VALUE   busybox stat -c FORMAT PATH in a container
#   shell CMD VALUE           output of sh -c CMD in a container
#   run VALUE                 output of the image's default command
#   exported PATH CONTENT     PATH through docker cp (images that cannot run)
#   imagefile PATH CONTENT    PATH as the image's layers hold it (docker save)
#   out TEXT / noout TEXT     the build output contains / does not contain TEXT
# shellcheck shell=bash

BC_CHECKS="inspect layers nhistory createdby createdbymatch file fstat shell run exported imagefile out noout"

bc_cases() { # dir: the case directories in order
  local d
  for d in "$1"/[0-9][0-9]-*/; do printf '%s\n' "${d%/}"; done
}

bc_load() { # case dir: the build-phase directives into BC_*
  BC_FLAGS=() BC_PRE=() BC_FAILS="" BC_EXIT="" BC_NORUN=""
  flags() { BC_FLAGS+=("$@"); }
  pre() { BC_PRE+=("$1" "$2"); }
  fails() { BC_FAILS=$1; }
  exitcode() { BC_EXIT=$1; }
  norun() { BC_NORUN=1; }
  local f
  for f in $BC_CHECKS; do eval "$f() { :; }"; done
  # shellcheck source=/dev/null
  . "$1/expect"
}

bc_checks() { # case dir: sources the expect file again with the caller's check functions
  flags() { :; }
  pre() { :; }
  fails() { :; }
  exitcode() { :; }
  norun() { :; }
  local f
  for f in $BC_CHECKS; do eval "$f() { check_$f \"\$@\"; }"; done
  # shellcheck source=/dev/null
  . "$1/expect"
}

bc_build() { # case dir, image [extra build args...]: BC_OUT and BC_RC
  local dir=$1 img=$2 i
  shift 2
  for ((i = 0; i < ${#BC_PRE[@]}; i += 2)); do
    if ! "${DOCKER_BIN:-docker}" build -q -t "${BC_PRE[i + 1]}" "$dir/${BC_PRE[i]}" >/dev/null 2>&1; then
      BC_OUT="building the parent ${BC_PRE[i]} failed"
      BC_RC=99
      return
    fi
  done
  BC_OUT=$(cd "$dir" && "${DOCKER_BIN:-docker}" build -t "$img" "${BC_FLAGS[@]}" "$@" . 2>&1)
  BC_RC=$?
}
