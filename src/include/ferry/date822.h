/* RFC 5322 dates. */
#ifndef FERRY_DATE822_H
#define FERRY_DATE822_H

#include <stddef.h>
#include <time.h>

#define FERRY_DATE822_MAX 40

 /* "Mon, 23 Nov 2026 05:56:48 +0000" (UTC) into s, not terminated; returns the length. */
extern size_t ferry_date822_fmt (char *s, time_t t) ;

#endif
