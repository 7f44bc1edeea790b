/* prom_line, prom_label: the sample lines of a Prometheus text snapshot (the queue manager's
   metrics/schedule/metrics.prom), as ferry-qstat and ferry-qctl read them. */

#include <stdlib.h>
#include <string.h>

#include "admin.h"

static int namechar (char c, int first)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9') ;
}

 /* Past a quoted label value at s (after its opening quote): the closing quote's position, or 0. */
static char *quoted_end (char *s)
{
  for (; *s && *s != '"' ; s++) if (*s == '\\' && !*++s) return 0 ;
  return *s ? s : 0 ;
}

int prom_line (char *line, prom_sample *p)
{
  char *s = line, *end ;
  while (*s == ' ' || *s == '\t') s++ ;
  if (!*s || *s == '#' || *s == '\n') return 0 ;
  if (!namechar(*s, 1)) return -1 ;
  p->name = s ;
  while (namechar(*s, 0)) s++ ;
  p->labels = "" ;
  if (*s == '{')
  {
    *s++ = 0 ;
    p->labels = s ;
    while (*s != '}')
    {
      while (namechar(*s, 0)) s++ ;
      if (*s++ != '=' || *s++ != '"' || !(s = quoted_end(s))) return -1 ;
      s++ ;
      if (*s == ',') s++ ;
      else if (*s != '}') return -1 ;
    }
    *s++ = 0 ;
  }
  if (*s != ' ' && *s != '\t') return -1 ;
  *s++ = 0 ;
  while (*s == ' ' || *s == '\t') s++ ;
  if (!strncmp(s, "+Inf", 4)) { p->value = 1e300 ; return 1 ; }
  p->value = strtod(s, &end) ;
  if (end == s || (*end && *end != ' ' && *end != '\n')) return -1 ;
  return 1 ;
}

int prom_label (char const *labels, char const *key, stralloc *value)
{
  size_t klen = strlen(key) ;
  char const *s = labels ;
  while (*s)
  {
    int match = !strncmp(s, key, klen) && s[klen] == '=' ;
    while (*s && *s != '=') s++ ;
    if (s[0] != '=' || s[1] != '"') return -1 ;
    s += 2 ;
    value->len = 0 ;
    for (; *s && *s != '"' ; s++)
    {
      char c = *s ;
      if (c == '\\') { c = *++s ; if (c == 'n') c = '\n' ; else if (!c) return -1 ; }
      if (match && !stralloc_catb(value, &c, 1)) return -1 ;
    }
    if (!*s) return -1 ;
    if (match) return stralloc_0(value) ? 1 : -1 ;
    s++ ;
    if (*s == ',') s++ ;
  }
  return 0 ;
}
