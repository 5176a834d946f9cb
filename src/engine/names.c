#include "engine/names.h"

#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/random.h>

/* Our own lists, in the spirit of Docker's: a mood, then someone who shaped computing or
 * science. */
static const char *const moods[] = {
    "agile",   "bold",     "brave",   "bright",   "calm",     "careful", "cheerful", "clever",
    "curious", "daring",   "eager",   "earnest",  "elated",   "fervent", "focused",  "friendly",
    "gallant", "gentle",   "glad",    "graceful", "happy",    "hardy",   "honest",   "hopeful",
    "humble",  "jolly",    "keen",    "kind",     "lively",   "loyal",   "lucid",    "merry",
    "modest",  "nimble",   "noble",   "patient",  "peaceful", "plucky",  "polite",   "quick",
    "quiet",   "radiant",  "serene",  "sharp",    "sincere",  "spirited", "steady",  "sunny",
    "swift",   "tender",   "thoughtful", "tidy",  "upbeat",   "valiant", "vibrant",  "vigilant",
    "warm",    "wise",     "witty",   "zealous",
};
static const char *const people[] = {
    "allen",     "babbage",   "backus",    "bartik",   "bohr",      "boole",    "brahe",
    "cerf",      "church",    "clarke",    "codd",     "conway",    "curie",    "darwin",
    "dijkstra",  "einstein",  "engelbart", "euler",    "faraday",   "fermat",   "feynman",
    "franklin",  "gauss",     "goldberg",  "hamilton", "hawking",   "heisenberg", "hertz",
    "hoare",     "hodgkin",   "hopper",    "jemison",  "johnson",   "kahan",    "kepler",
    "knuth",     "kowalevski", "lamarr",   "lamport",  "leakey",    "liskov",   "lovelace",
    "maxwell",   "mccarthy",  "meitner",   "mendel",   "minsky",    "morse",    "newton",
    "noether",   "pascal",    "perlman",   "planck",   "ramanujan", "ritchie",  "sammet",
    "shannon",   "spence",    "tesla",     "thompson", "torvalds",  "turing",   "wilson",
    "wing",      "wozniak",   "yalow",
};

void names_generate(char *out, size_t n, int retry) {
  unsigned int r[2] = {0, 0};
  if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) r[0] = r[1] = (unsigned)retry * 7919u;
  const char *a = moods[r[0] % (sizeof moods / sizeof moods[0])];
  const char *b = people[r[1] % (sizeof people / sizeof people[0])];
  if (retry > 0) snprintf(out, n, "%s_%s%u", a, b, r[0] % 10);
  else snprintf(out, n, "%s_%s", a, b);
}

int names_valid(const char *name) {
  if (name[0] == '/') name++;
  size_t len = strlen(name);
  if (len < 2) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (i == 0 ? !alnum : !(alnum || c == '_' || c == '.' || c == '-')) return 0;
  }
  return 1;
}
