/* Which events a GET /events subscriber wants: moby daemon/events/filter.go semantics. */
#ifndef ARCA_ENGINE_EVENTS_FILTER_H
#define ARCA_ENGINE_EVENTS_FILTER_H

#include <stdbool.h>

#include "common/filters.h"
#include "engine/events.h"

bool events_filter_include(const filters *f, const arca_event *e);

#endif
