/* qwalk: every message of the queue, read-only, as the hand tools show it. Messages not prepared
   yet are found by their todo entry; prepared messages by their recipient files, local/ and
   remote/, as the queue manager finds them, and read with their envelope in intd/ and defer/,
   hold/, bounce/, delete/. Nothing is locked: a message that finishes while it is read is
   skipped. The todo walk goes first, so that a message prepared during the walk is seen either
   in todo/ or in local/ or remote/, and shown once: the ids the todo walk showed are skipped
   after. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <ferry/array.h>
#include <ferry/defer.h>
#include <ferry/dsn.h>
#include <ferry/envelope.h>
#include <ferry/queue.h>

#include "admin.h"


typedef struct walk_s walk ;
struct walk_s
{
  stralloc env, recs[2], defer ;
  qrcpt *r ;
  unsigned int ar ;
  uint64_t *both ;              /* messages shown from local/ that had a remote file too */
  unsigned int nboth, aboth ;
  uint64_t *new ;               /* messages shown from their todo entry */
  unsigned int nnew, anew ;
} ;

static int listed (uint64_t const *ids, unsigned int n, uint64_t id)
{
  return n && bsearch(&id, ids, n, sizeof(uint64_t), &ferry_id_cmp) ;
}

static int rcpt_room (walk *w, unsigned int n)
{
  if (n < w->ar) return 1 ;
  {
    unsigned int a = w->ar ? w->ar * 2 : 16 ;
    qrcpt *p ;
    while (a <= n) a *= 2 ;
    p = realloc(w->r, a * sizeof(qrcpt)) ;
    if (!p) return 0 ;
    w->r = p ;
    w->ar = a ;
  }
  return 1 ;
}

 /* 1 read, 0 gone (ENOENT), -1 error, -2 not a regular file (a FIFO, a symbolic link: never
    opened through, *what says which) */
static int slurp_path (stralloc *sa, char const *fn, char const **what)
{
  int r ;
  sa->len = 0 ;
  r = ferry_queue_slurp(sa, fn, what) ;
  if (r > 0) return 1 ;
  if (r < 0) return -2 ;
  return errno == ENOENT ? 0 : -1 ;
}

 /* The envelope's sender, birth, and (for a todo entry) its recipients. */
static char const *envelope_parse (walk *w, qmsg *m, int rcpts)
{
  size_t pos = 0, k ;
  char const *rec ;
  char const *bad = ferry_envelope_head(w->env.s, w->env.len, &m->birth, &m->sender) ;
  if (bad) return bad ;
  if (rcpts) while (ferry_envelope_next(w->env.s, w->env.len, &pos, &rec, &k) == 1)
  {
    if (rec[0] == 'T')
    {
      if (!rcpt_room(w, m->n)) return "out of memory" ;
      memset(w->r + m->n, 0, sizeof(qrcpt)) ;
      w->r[m->n].addr = rec + 1 ;
      w->r[m->n].channel = '?' ;
      w->r[m->n].status = 'T' ;
      w->r[m->n].index = m->n ;
      m->n++ ;
    }
  }
  return 0 ;
}

static char const *records_parse (walk *w, qmsg *m, int c)
{
  stralloc *sa = &w->recs[c] ;
  size_t i = 0 ;
  for (;;)
  {
    ferry_rcpt_record rec ;
    qrcpt *r ;
    int got = ferry_rcpt_record_take(sa->s, sa->len, &i, &rec) ;
    if (!got) break ;
    if (got == -1) return "a truncated recipient record" ;
    if (got < 0) return "a garbled recipient record" ;
    if (!rcpt_room(w, m->n)) return "out of memory" ;
    r = w->r + m->n++ ;
    memset(r, 0, sizeof(qrcpt)) ;
    r->addr = rec.addr ;
    r->channel = c ? 'R' : 'L' ;
    r->status = rec.status ;
    r->next = rec.next ;
    r->index = rec.index ;
  }
  return 0 ;
}

static int exists (char const *fn)
{
  /* by the effective ids: mailq runs ferry-qread set-id in a root install */
  return faccessat(AT_FDCWD, fn, F_OK, AT_EACCESS) == 0 ;
}

 /* 1 shown, 0 gone, -1 error */
static int one (walk *w, uint64_t id, unsigned int split, int prepared, int (*f)(qmsg const *, void *), void *data, int *stop)
{
  qmsg m ;
  char const *what ;
  char fn[FERRY_QUEUE_PATH_MAX + 8] ;
  struct stat st ;
  int c, got ;
  memset(&m, 0, sizeof(m)) ;
  m.id = id ;
  m.prepared = prepared ;
  if (prepared)
  {
    unsigned int nfiles = 0 ;
    /* shown from its todo entry already, or with its todo entry still there, not prepared yet */
    if (listed(w->new, w->nnew, id)) return 0 ;
    ferry_queue_path(fn, "todo", id, split) ;
    if (exists(fn)) return 0 ;
    for (c = 0 ; c < 2 ; c++)
    {
      ferry_queue_path(fn, c ? "remote" : "local", id, split) ;
      got = slurp_path(&w->recs[c], fn, &what) ;
      if (got == -2) { m.damage = c ? "its remote recipient file is not a regular file" : "its local recipient file is not a regular file" ; w->recs[c].len = 0 ; got = 1 ; }
      if (got < 0) return -1 ;
      if (got) nfiles++ ;
    }
    if (!nfiles) return 0 ;   /* finished meanwhile */
    if (nfiles == 2)
    {
      /* the remote walk must not show it again, even if its local file goes meanwhile */
      if (w->nboth == w->aboth) w->both = ferry_array_grow(w->both, &w->aboth, sizeof(uint64_t)) ;
      w->both[w->nboth++] = id ;
    }
    w->env.len = 0 ;
    if (!ferry_queue_envelope_read(&w->env, id, split, fn))
    {
      if (errno == EINVAL) { if (!m.damage) m.damage = "its envelope (queue/intd) is not a regular file" ; }
      else
      {
        if (errno != ENOENT) return -1 ;
        /* finished while it was read (its recipient files go before its envelope)? */
        c = ferry_queue_has_message(id, split) ;
        if (c <= 0) return c ;
        m.damage = "its envelope (queue/intd) is missing" ;
      }
    }
    else if (!m.damage) m.damage = envelope_parse(w, &m, 0) ;
    for (c = 0 ; c < 2 && !m.damage ; c++) if (w->recs[c].len) m.damage = records_parse(w, &m, c) ;
    m.unloadable = !!m.damage ;
  }
  else
  {
    ferry_queue_path(fn, "todo", id, split) ;
    got = slurp_path(&w->env, fn, &what) ;
    if (got == -2) m.damage = "its todo entry is not a regular file" ;
    else if (got <= 0) return got ;
    else m.damage = envelope_parse(w, &m, 1) ;
    if (w->nnew == w->anew) w->new = ferry_array_grow(w->new, &w->anew, sizeof(uint64_t)) ;
    w->new[w->nnew++] = id ;
  }
  if (!m.sender) m.sender = "" ;
  if (prepared)
  {
    ferry_queue_path(fn, "defer", id, split) ;
    got = slurp_path(&w->defer, fn, &what) ;
    if (got > 0)
    {
      size_t pos = 0 ;
      ferry_defer_record dr ;
      while (ferry_defer_record_take(w->defer.s, w->defer.len, &pos, &dr) == 1)
      {
        unsigned int i, k ;
        for (k = 0 ; k < dr.nranges ; k++)
        {
          uint32_t first, last ;
          ferry_defer_record_range(&dr, k, &first, &last) ;
          for (i = 0 ; i < m.n ; i++) if (w->r[i].index >= first && w->r[i].index <= last && w->r[i].channel == dr.channel)
          {
            w->r[i].lasterr = dr.text ;
            w->r[i].lasttime = dr.when ;
            w->r[i].attempts++ ;
          }
        }
      }
    }
  }
  ferry_queue_path(fn, "mess", id, split) ;
  if (stat(fn, &st) == 0) { m.size = st.st_size ; m.stamp = ferry_msgname_stamp(&st) ; }
  else if (!m.damage) m.damage = "its message file is missing" ;
  ferry_msgname_fmt(m.name, id, m.stamp) ;
  ferry_queue_path(fn, "hold", id, 0) ;
  m.held = exists(fn) ;
  ferry_queue_path(fn, "bounce", id, 0) ;
  m.bounce = exists(fn) ;
  ferry_queue_path(fn, "delete", id, 0) ;
  m.deleting = exists(fn) ;
  m.r = w->r ;
  if ((*f)(&m, data)) *stop = 1 ;
  return 1 ;
}

static int dir_walk (walk *w, char const *dir, unsigned int split, int prepared, int (*f)(qmsg const *, void *), void *data)
{
  unsigned int d ;
  int stop = 0, second = !strcmp(dir, "remote") ;
  if (second && w->nboth) qsort(w->both, w->nboth, sizeof(uint64_t), &ferry_id_cmp) ;
  for (d = 0 ; d < split && !stop ; d++)
  {
    char dn[FERRY_QUEUE_PATH_MAX] ;
    DIR *dh ;
    struct dirent *de ;
    ferry_queue_subdir(dn, dir, d, split) ;   /* subdirectory d: the one of id d */
    dh = opendir(dn) ;
    if (!dh) return -1 ;
    while (!stop && (de = readdir(dh)))
    {
      uint64_t id ;
      char fn[FERRY_QUEUE_PATH_MAX] ;
      if (de->d_name[0] == '.' || uint640_scan(de->d_name, &id) != strlen(de->d_name)) continue ;
      if (second)
      {
        /* a message with both recipient files is shown from the local one */
        ferry_queue_path(fn, "local", id, split) ;
        if (exists(fn) || listed(w->both, w->nboth, id)) continue ;
      }
      if (one(w, id, split, prepared, f, data, &stop) < 0) { closedir(dh) ; return -1 ; }
    }
    closedir(dh) ;
  }
  return stop ? 0 : 1 ;
}

int qwalk_id (unsigned int split, uint64_t id, int (*f)(qmsg const *, void *), void *data)
{
  walk w = { .env = STRALLOC_ZERO, .recs = { STRALLOC_ZERO, STRALLOC_ZERO }, .defer = STRALLOC_ZERO } ;
  int stop = 0, r ;
  /* its todo entry first: one being prepared meanwhile is then found in one place or the other */
  r = one(&w, id, split, 0, f, data, &stop) ;
  if (!r) r = one(&w, id, split, 1, f, data, &stop) ;
  stralloc_free(&w.env) ; stralloc_free(&w.recs[0]) ; stralloc_free(&w.recs[1]) ; stralloc_free(&w.defer) ;
  free(w.r) ;
  free(w.both) ;
  free(w.new) ;
  return r ;
}

int qwalk (unsigned int split, int (*f)(qmsg const *, void *), void *data)
{
  walk w = { .env = STRALLOC_ZERO, .recs = { STRALLOC_ZERO, STRALLOC_ZERO }, .defer = STRALLOC_ZERO } ;
  int r = dir_walk(&w, "todo", split, 0, f, data) ;
  if (r == 1 && w.nnew) qsort(w.new, w.nnew, sizeof(uint64_t), &ferry_id_cmp) ;
  if (r == 1) r = dir_walk(&w, "local", split, 1, f, data) ;
  if (r == 1) r = dir_walk(&w, "remote", split, 1, f, data) ;
  stralloc_free(&w.env) ; stralloc_free(&w.recs[0]) ; stralloc_free(&w.recs[1]) ; stralloc_free(&w.defer) ;
  free(w.r) ;
  free(w.both) ;
  free(w.new) ;
  return r ;
}
