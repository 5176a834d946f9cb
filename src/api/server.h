/* The API server: one libmicrohttpd daemon per listener (unix sockets, TCP, TCP+TLS),
 * thread per connection. Started after the engine, stopped before it. */
#ifndef ARCA_API_SERVER_H
#define ARCA_API_SERVER_H

#include "common/err.h"
#include "config/config.h"

struct engine;
typedef struct api_server api_server;

int api_server_start(struct engine *eng, const arca_config *cfg, api_server **out, arca_err *err);
/* Stops accepting, ends every stream and hijacked session, waits for their threads, removes
 * the unix sockets (and the docker.sock symlink it made). */
void api_server_stop(api_server *s);

#endif
