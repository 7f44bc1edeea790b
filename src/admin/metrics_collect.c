/* metrics_collect: ferry-metrics' page, the snapshots of the programs (metrics/PROG/metrics.prom)
   and whether each program runs (doc/ferry-metrics.html). */

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <ferry/metrics.h>

#include "admin.h"

typedef struct prog_s prog ;
struct prog_s
{
  char name[64] ;
  int have ;          /* its snapshot was read */
  double age ;        /* seconds since it was written */
} ;

static int byname (void const *a, void const *b)
{
  return strcmp(((prog const *)a)->name, ((prog const *)b)->name) ;
}

 /* The subdirectories of metrics/, by name; -1 and errno on failure. */
static int progs_list (prog **v, unsigned int *n)
{
  DIR *dh = opendir("metrics") ;
  struct dirent *de ;
  unsigned int cap = 0 ;
  *v = 0 ;
  *n = 0 ;
  if (!dh) return -1 ;
  while (errno = 0, (de = readdir(dh)))
  {
    char fn[8 + sizeof(de->d_name)] ;
    struct stat st ;
    size_t len = strlen(de->d_name) ;
    if (de->d_name[0] == '.' || len >= sizeof((*v)->name)) continue ;
    memcpy(fn, "metrics/", 8) ;
    memcpy(fn + 8, de->d_name, len + 1) ;
    if (stat(fn, &st) < 0 || !S_ISDIR(st.st_mode)) continue ;
    if (*n == cap)
    {
      prog *w = realloc(*v, (cap = cap ? 2 * cap : 8) * sizeof(prog)) ;
      if (!w) { int e = errno ; closedir(dh) ; free(*v) ; *v = 0 ; errno = e ; return -1 ; }
      *v = w ;
    }
    memcpy((*v)[*n].name, de->d_name, len + 1) ;
    (*v)[*n].have = 0 ;
    (*n)++ ;
  }
  {
    int e = errno ;
    closedir(dh) ;
    if (e) { free(*v) ; *v = 0 ; errno = e ; return -1 ; }
  }
  if (*n) qsort(*v, *n, sizeof(prog), &byname) ;
  return 0 ;
}

 /* Its snapshot, appended to sa (a line end added if it lacks one): 1, 0 absent, -1 nomem. */
static int snapshot_cat (stralloc *sa, prog *p, struct timespec const *now)
{
  char fn[8 + sizeof(p->name) + 14] ;
  size_t len = strlen(p->name), start = sa->len ;
  struct stat st ;
  int fd ;
  memcpy(fn, "metrics/", 8) ;
  memcpy(fn + 8, p->name, len) ;
  memcpy(fn + 8 + len, "/metrics.prom", 14) ;
  fd = open_readb(fn) ;
  if (fd < 0)
  {
    if (errno != ENOENT) strerr_warnwu2sys("read ", fn) ;
    return 0 ;
  }
  if (fstat(fd, &st) < 0 || !slurp(sa, fd))
  {
    int e = errno ;
    fd_close(fd) ;
    sa->len = start ;
    if (e == ENOMEM) return -1 ;
    errno = e ;
    strerr_warnwu2sys("read ", fn) ;
    return 0 ;
  }
  fd_close(fd) ;
  if (sa->len > start && sa->s[sa->len - 1] != '\n' && !stralloc_catb(sa, "\n", 1)) return -1 ;
  p->have = 1 ;
  p->age = (double)(now->tv_sec - st.st_mtim.tv_sec) + (double)(now->tv_nsec - st.st_mtim.tv_nsec) / 1e9 ;
  if (p->age < 0) p->age = 0 ;
  return 1 ;
}

int metrics_collect (stralloc *sa)
{
  prog *v ;
  unsigned int n, i ;
  struct timespec now ;
  stralloc lab = STRALLOC_ZERO ;
  int ok = 1 ;
  if (progs_list(&v, &n) < 0) return errno == ENOMEM ? -1 : 0 ;
  clock_gettime(CLOCK_REALTIME, &now) ;
  for (i = 0 ; i < n ; i++) if (snapshot_cat(sa, v + i, &now) < 0) { ok = 0 ; break ; }
  ok = ok && ferry_prom_family(sa, "ferry_up", "gauge", "1 when the program's snapshot is younger than 10 seconds (it runs), else 0") ;
  for (i = 0 ; ok && i < n ; i++)
  {
    lab.len = 0 ;
    ok = ferry_prom_label(&lab, "program", v[i].name) && stralloc_0(&lab)
      && ferry_prom_sample(sa, "ferry_up", lab.s, v[i].have && v[i].age < METRICS_UP_SECONDS) ;
  }
  ok = ok && ferry_prom_family(sa, "ferry_snapshot_age_seconds", "gauge", "seconds since the program last wrote its snapshot") ;
  for (i = 0 ; ok && i < n ; i++)
  {
    if (!v[i].have) continue ;
    lab.len = 0 ;
    ok = ferry_prom_label(&lab, "program", v[i].name) && stralloc_0(&lab)
      && ferry_prom_sample_double(sa, "ferry_snapshot_age_seconds", lab.s, v[i].age) ;
  }
  stralloc_free(&lab) ;
  free(v) ;
  return ok ? 1 : -1 ;
}
