/* The event bus: every engine module publishes Docker events here; GET /events replays
 * the ring buffer for `since` and follows new events.
 *
 * Lock: bus->lock guards the ring and the subscriber list. Publishing never blocks on a
 * subscriber: each subscriber has an eventfd that publish makes readable. */
#ifndef ARCA_ENGINE_EVENTS_H
#define ARCA_ENGINE_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#define EVENTS_RING_SIZE 1024

typedef struct event_bus event_bus;
typedef struct event_sub event_sub;

typedef struct arca_event {
  uint64_t seq;
  char *type;       /* container, image, network, volume, daemon, plugin, builder */
  char *action;     /* create, start, die, exec_start: sh ... */
  char *actor_id;
  json_t *attributes; /* object of strings */
  char *scope;      /* "local" */
  int64_t time_ns;
} arca_event;

event_bus *events_new(void);
void events_free(event_bus *bus);
/* Publishes an event; attrs (object of strings, may be NULL) is stolen. */
void events_publish(event_bus *bus, const char *type, const char *action, const char *actor_id,
                    json_t *attrs);

/* A subscriber starts at the oldest event in the ring (to replay `since`). */
event_sub *events_subscribe(event_bus *bus);
void events_unsubscribe(event_bus *bus, event_sub *sub);
/* Readable when new events may be there. */
int events_sub_fd(event_sub *sub);
/* Sequence number of the first event published after the subscription: events before it
 * are the replayed past. */
uint64_t events_sub_live_seq(event_sub *sub);
/* Copies the next event into *out (caller frees with event_clear); 1 when one was there, 0
 * when the subscriber is up to date. Events older than the ring are lost (as in Docker). */
int events_next(event_bus *bus, event_sub *sub, arca_event *out);
void event_clear(arca_event *e);
size_t events_subscriber_count(event_bus *bus);
/* Docker's JSON message for an event (with the legacy status/id/from fields). */
json_t *event_to_json(const arca_event *e);

#endif
