/* Libraries loaded on first use. libcurl (registry), libarchive (layers, tars) and libcrypto
 * (digests) pull in a dozen more libraries (Kerberos, LDAP, ICU, libxml2, libstdc++...)
 * whose relocated pages would otherwise sit in arcad's memory from start-up, idle or not.
 * Each lazy_<lib>.h lists the functions Arca calls; the first call dlopens the library and
 * resolves them all, once. */
#ifndef ARCA_LAZY_H
#define ARCA_LAZY_H

/* dlopen(soname) and dlsym of each name into table[i]; on failure, logs why and aborts:
 * the daemon cannot go on without a library its packages install. */
void lazy_resolve(const char *soname, const char *const *names, void **table, unsigned n);

#endif
