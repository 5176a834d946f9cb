#include "engine/events.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/util.h"

struct event_sub {
  event_sub *next;
  uint64_t next_seq;
  uint64_t live_seq;
  int fd;
};

struct event_bus {
  pthread_mutex_t lock;
  arca_event ring[EVENTS_RING_SIZE];
  uint64_t next_seq; /* seq of the next event published; ring holds [next_seq-N, next_seq) */
  event_sub *subs;
};

event_bus *events_new(void) {
  event_bus *bus = xcalloc(1, sizeof *bus);
  pthread_mutex_init(&bus->lock, NULL);
  bus->next_seq = 1;
  return bus;
}

void event_clear(arca_event *e) {
  free(e->type);
  free(e->action);
  free(e->actor_id);
  free(e->scope);
  if (e->attributes) json_decref(e->attributes);
  memset(e, 0, sizeof *e);
}

void events_free(event_bus *bus) {
  if (!bus) return;
  for (size_t i = 0; i < EVENTS_RING_SIZE; i++) event_clear(&bus->ring[i]);
  while (bus->subs) {
    event_sub *s = bus->subs;
    bus->subs = s->next;
    close(s->fd);
    free(s);
  }
  pthread_mutex_destroy(&bus->lock);
  free(bus);
}

void events_publish(event_bus *bus, const char *type, const char *action, const char *actor_id,
                    json_t *attrs) {
  int64_t t = now_ns();
  pthread_mutex_lock(&bus->lock);
  arca_event *e = &bus->ring[bus->next_seq % EVENTS_RING_SIZE];
  event_clear(e);
  e->seq = bus->next_seq++;
  e->type = xstrdup(type);
  e->action = xstrdup(action);
  e->actor_id = xstrdup(actor_id ? actor_id : "");
  e->attributes = attrs ? attrs : json_object();
  e->scope = xstrdup("local");
  e->time_ns = t;
  uint64_t one = 1;
  for (event_sub *s = bus->subs; s; s = s->next) (void)!write(s->fd, &one, sizeof one);
  pthread_mutex_unlock(&bus->lock);
}

event_sub *events_subscribe(event_bus *bus) {
  event_sub *s = xcalloc(1, sizeof *s);
  s->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_lock(&bus->lock);
  s->next_seq = bus->next_seq > EVENTS_RING_SIZE ? bus->next_seq - EVENTS_RING_SIZE : 1;
  s->live_seq = bus->next_seq;
  s->next = bus->subs;
  bus->subs = s;
  pthread_mutex_unlock(&bus->lock);
  return s;
}

void events_unsubscribe(event_bus *bus, event_sub *sub) {
  pthread_mutex_lock(&bus->lock);
  for (event_sub **p = &bus->subs; *p; p = &(*p)->next)
    if (*p == sub) {
      *p = sub->next;
      break;
    }
  pthread_mutex_unlock(&bus->lock);
  close(sub->fd);
  free(sub);
}

int events_sub_fd(event_sub *sub) { return sub->fd; }
uint64_t events_sub_live_seq(event_sub *sub) { return sub->live_seq; }

int events_next(event_bus *bus, event_sub *sub, arca_event *out) {
  uint64_t drain;
  (void)!read(sub->fd, &drain, sizeof drain);
  pthread_mutex_lock(&bus->lock);
  uint64_t oldest = bus->next_seq > EVENTS_RING_SIZE ? bus->next_seq - EVENTS_RING_SIZE : 1;
  if (sub->next_seq < oldest) sub->next_seq = oldest;
  if (sub->next_seq >= bus->next_seq) {
    pthread_mutex_unlock(&bus->lock);
    return 0;
  }
  const arca_event *e = &bus->ring[sub->next_seq % EVENTS_RING_SIZE];
  out->seq = e->seq;
  out->type = xstrdup(e->type);
  out->action = xstrdup(e->action);
  out->actor_id = xstrdup(e->actor_id);
  out->attributes = json_deep_copy(e->attributes);
  out->scope = xstrdup(e->scope);
  out->time_ns = e->time_ns;
  sub->next_seq++;
  bool more = sub->next_seq < bus->next_seq;
  pthread_mutex_unlock(&bus->lock);
  if (more) {
    uint64_t one = 1;
    (void)!write(sub->fd, &one, sizeof one);
  }
  return 1;
}

json_t *event_to_json(const arca_event *e) {
  json_t *j = json_object();
  /* Legacy fields, still sent by dockerd for container and image events. */
  if (!strcmp(e->type, "container") || !strcmp(e->type, "image")) {
    json_object_set_new(j, "status", json_string(e->action));
    json_object_set_new(j, "id", json_string(e->actor_id));
    json_t *image = json_object_get(e->attributes, "image");
    if (!strcmp(e->type, "container") && json_is_string(image))
      json_object_set(j, "from", image);
  }
  json_object_set_new(j, "Type", json_string(e->type));
  json_object_set_new(j, "Action", json_string(e->action));
  json_object_set_new(j, "Actor", json_pack("{s:s,s:O}", "ID", e->actor_id, "Attributes", e->attributes));
  json_object_set_new(j, "scope", json_string(e->scope));
  json_object_set_new(j, "time", json_integer(e->time_ns / 1000000000LL));
  json_object_set_new(j, "timeNano", json_integer(e->time_ns));
  return j;
}

size_t events_subscriber_count(event_bus *bus) {
  size_t n = 0;
  pthread_mutex_lock(&bus->lock);
  for (event_sub *s = bus->subs; s; s = s->next) n++;
  pthread_mutex_unlock(&bus->lock);
  return n;
}
