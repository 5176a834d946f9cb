/* Prerequisites of the runtime on this host, for `arcad doctor` and for the refusal to start
 * when one is missing. */
#ifndef ARCA_RUNTIME_PREREQ_H
#define ARCA_RUNTIME_PREREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

typedef struct prereq_item {
  char name[48];
  bool ok;
  bool required;     /* a missing required item stops arcad from starting */
  char detail[512];  /* version and path, or what is wrong */
  char fix[512];     /* the exact command that fixes it */
} prereq_item;

typedef struct prereq_report {
  prereq_item *items;
  size_t n;
  char runtime_path[256], runtime_version[64];
  char conmon_path[256], conmon_version[64];
  char netavark_path[256], aardvark_path[256];
} prereq_report;

void prereq_check(const arca_config *cfg, prereq_report *r);
void prereq_report_free(prereq_report *r);
/* Prints every item; returns the number of missing required items. */
int prereq_print(const prereq_report *r, FILE *out);

#endif
