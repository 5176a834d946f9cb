/* Exec instances: POST /containers/{id}/exec, /exec/{id}/start, resize, inspect, and the
 * daemon's own probes (health checks).
 *
 * Lock: execs_lock (engine-wide mutex, in exec.c) guards the map and every instance's
 * state; instances are referenced while in use. */
#ifndef ARCA_ENGINE_EXECS_H
#define ARCA_ENGINE_EXECS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "runtime/driver.h"

struct engine;
typedef struct exec_inst exec_inst;

int execs_open(struct engine *e, arca_err *err);
void execs_close(struct engine *e);

/* body: ExecConfig (Cmd, Env, User, WorkingDir, Tty, AttachStdin/Stdout/Stderr,
 * DetachKeys, Privileged, ConsoleSize). 409 when the container is not running or paused,
 * with Docker's texts. internal: a daemon probe (no events, not listed in ExecIDs). */
int exec_create(struct engine *e, const char *container, const json_t *body, bool internal, char id_out[65],
                arca_err *err);
/* Looks up and references an instance (404 "No such exec instance: x"). */
int exec_get(struct engine *e, const char *id, exec_inst **out, arca_err *err);
void exec_put(struct engine *e, exec_inst *x);

/* Starts it: *stdio receives the process's ends (caller owns and closes them). 409 when it
 * ran already ("... is already running" / has exited); a missing binary fails here with
 * err->exit_code 126/127 and the instance records that exit code. */
int exec_start(struct engine *e, exec_inst *x, bool tty_override, const int console[2], rt_stdio *stdio,
               arca_err *err);
/* Waits for the exit (timeout_ms < 0: forever; cancel_fd or -1); returns 0 with *code, 1 on
 * timeout or cancel. */
int exec_wait(struct engine *e, exec_inst *x, int timeout_ms, int cancel_fd, int *code);
int exec_resize(struct engine *e, const char *id, int rows, int cols, arca_err *err);
json_t *exec_inspect_json(struct engine *e, exec_inst *x);
bool exec_tty(const exec_inst *x);
bool exec_attach_stdin(const exec_inst *x);
bool exec_attach_stdout(const exec_inst *x);
bool exec_attach_stderr(const exec_inst *x);
const char *exec_detach_keys(const exec_inst *x);
const char *exec_container_id(const exec_inst *x);
/* Forgets the instances of a removed container. */
void execs_forget_container(struct engine *e, const char *container_id);

/* A probe: runs argv in the container, collects up to 4 KiB of output, waits up to
 * timeout_ms. Returns 0 with the exit code, 1 on timeout; -1 when it could not start. */
int exec_probe(struct engine *e, const char *container, char *const *argv, size_t argc, int timeout_ms, int *code,
               char **output, arca_err *err);

#endif
