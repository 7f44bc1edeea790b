/* ferry_prom_*: families, samples and labels in the Prometheus text format 0.0.4. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/metrics.h>

 /* s escaped into sa: a backslash and a newline always, a double quote when quote is set. */
static int escaped (stralloc *sa, char const *s, int quote)
{
  for (; *s ; s++)
  {
    char const *e = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '"' && quote ? "\\\"" : 0 ;
    if (e ? !stralloc_cats(sa, e) : !stralloc_catb(sa, s, 1)) return 0 ;
  }
  return 1 ;
}

int ferry_prom_family (stralloc *sa, char const *name, char const *type, char const *help)
{
  return stralloc_cats(sa, "# HELP ") && stralloc_cats(sa, name) && stralloc_catb(sa, " ", 1)
    && escaped(sa, help, 0) && stralloc_cats(sa, "\n# TYPE ") && stralloc_cats(sa, name)
    && stralloc_catb(sa, " ", 1) && stralloc_cats(sa, type) && stralloc_catb(sa, "\n", 1) ;
}

static int sample_start (stralloc *sa, char const *name, char const *labels)
{
  if (!stralloc_cats(sa, name)) return 0 ;
  if (labels && *labels && !(stralloc_catb(sa, "{", 1) && stralloc_cats(sa, labels) && stralloc_catb(sa, "}", 1))) return 0 ;
  return stralloc_catb(sa, " ", 1) ;
}

int ferry_prom_sample (stralloc *sa, char const *name, char const *labels, uint64_t v)
{
  char fmt[UINT64_FMT] ;
  return sample_start(sa, name, labels) && stralloc_catb(sa, fmt, uint64_fmt(fmt, v)) && stralloc_catb(sa, "\n", 1) ;
}

 /* A double as Go's and Python's parsers read it: +Inf, -Inf, NaN, else the shortest of %.15g
    and %.17g that reads back the same. */
static size_t double_fmt (char *s, size_t max, double v)
{
  int n ;
  if (isnan(v)) return (size_t)snprintf(s, max, "NaN") ;
  if (isinf(v)) return (size_t)snprintf(s, max, v > 0 ? "+Inf" : "-Inf") ;
  n = snprintf(s, max, "%.15g", v) ;
  if (n > 0 && (size_t)n < max && strtod(s, 0) == v) return (size_t)n ;
  n = snprintf(s, max, "%.17g", v) ;
  return n > 0 && (size_t)n < max ? (size_t)n : 0 ;
}

int ferry_prom_sample_double (stralloc *sa, char const *name, char const *labels, double v)
{
  char fmt[40] ;
  return sample_start(sa, name, labels) && stralloc_catb(sa, fmt, double_fmt(fmt, sizeof(fmt), v)) && stralloc_catb(sa, "\n", 1) ;
}

int ferry_prom_label (stralloc *sa, char const *key, char const *value)
{
  return stralloc_cats(sa, key) && stralloc_catb(sa, "=\"", 2) && escaped(sa, value, 1) && stralloc_catb(sa, "\"", 1) ;
}
