/* shaping_read: the shaping keys of the queue manager's metrics snapshot, for ferry-qstat and
   ferry-qctl suspended. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "admin.h"

#define SNAPSHOT "metrics/schedule/metrics.prom"

typedef struct keylist_s keylist ;
struct keylist_s
{
  shapekey *a ;
  unsigned int n, cap, last ;
} ;

 /* The families come one after the other, each with the keys in the same order: the next
    after the last one found is tried first. */
static shapekey *key_of (keylist *l, char const *name)
{
  unsigned int i ;
  if (l->n && ++l->last < l->n && !strcmp(l->a[l->last].key, name)) return l->a + l->last ;
  for (i = 0 ; i < l->n ; i++) if (!strcmp(l->a[i].key, name)) { l->last = i ; return l->a + i ; }
  if (l->n == l->cap)
  {
    shapekey *a = realloc(l->a, (l->cap ? l->cap * 2 : 16) * sizeof(shapekey)) ;
    if (!a) return 0 ;
    l->a = a ;
    l->cap = l->cap ? l->cap * 2 : 16 ;
  }
  memset(l->a + l->n, 0, sizeof(shapekey)) ;
  l->a[l->n].key = strdup(name) ;
  if (!l->a[l->n].key) return 0 ;
  l->last = l->n ;
  return l->a + l->n++ ;
}

static void take (shapekey *k, char const *family, double v)
{
  uint64_t u = v < 0 ? 0 : (uint64_t)v ;
  if (!strcmp(family, "inflight")) k->inflight = u ;
  else if (!strcmp(family, "waiting")) k->waiting = u ;
  else if (!strcmp(family, "connections")) k->conn = u ;
  else if (!strcmp(family, "connections_configured")) k->conf = u ;
  else if (!strcmp(family, "suspended")) k->suspended = u != 0 ;
  else if (!strcmp(family, "daily_sent")) { k->dailysent = u ; k->hasdaily = 1 ; }
  else if (!strcmp(family, "daily_cap")) { k->dailycap = u ; k->hascap = 1 ; }
  else if (!strcmp(family, "rate_limit_per_second")) { k->ratelimit = v ; k->hasratelimit = 1 ; }
  else if (!strcmp(family, "rate_per_second")) { k->rate = v ; k->hasrate = 1 ; }
}

int shaping_read (shapekey **keys, unsigned int *n, uint64_t *age)
{
  stralloc sa = STRALLOC_ZERO, label = STRALLOC_ZERO ;
  keylist l = { 0, 0, 0, 0 } ;
  struct stat st ;
  size_t pos = 0 ;
  time_t now = time(0) ;
  if (stat(SNAPSHOT, &st) < 0 || !openreadfileclose(SNAPSHOT, &sa, 1 << 28)) { stralloc_free(&sa) ; return 0 ; }
  if (!stralloc_0(&sa)) goto nomem ;
  *age = now > st.st_mtime ? now - st.st_mtime : 0 ;
  while (pos < sa.len - 1)
  {
    char *line = sa.s + pos, *eol = strchr(line, '\n') ;
    prom_sample p ;
    if (eol) { *eol = 0 ; pos = eol + 1 - sa.s ; } else pos = sa.len - 1 ;
    if (prom_line(line, &p) != 1 || strncmp(p.name, "ferry_shaping_", 14)) continue ;
    if (prom_label(p.labels, "key", &label) != 1) continue ;
    {
      shapekey *k = key_of(&l, label.s) ;
      if (!k) goto nomem ;
      take(k, p.name + 14, p.value) ;
    }
  }
  stralloc_free(&sa) ;
  stralloc_free(&label) ;
  *keys = l.a ;
  *n = l.n ;
  return 1 ;
 nomem:
  stralloc_free(&sa) ;
  stralloc_free(&label) ;
  shaping_free(l.a, l.n) ;
  errno = ENOMEM ;
  return 0 ;
}

void shaping_free (shapekey *keys, unsigned int n)
{
  unsigned int i ;
  for (i = 0 ; i < n ; i++) free(keys[i].key) ;
  free(keys) ;
}
