/* ferry_pool_put, ferry_pool_init, ferry_pool_take, ferry_pool_end: the queue's pools of files
   kept for reuse. Why: on ext4 without a journal, each new inode passes over every inode freed in
   the last minute of its block group (recently_deleted in fs/ext4/ialloc.c), so a queue that makes
   and removes three files a message pays more for each file the faster it runs; and freeing a
   file's blocks is a discard on a file system mounted with it. A file moved into a pool and
   overwritten in place costs two renames. */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/types.h>

#include <ferry/pool.h>

#define PROBES 3             /* slots tried before the file is removed instead */
#define SKIP_MAX 64          /* puts at most that a full pool lets go by untried */
#define READ_MAX 256         /* names taken from one read of the directory */

 /* A full pool is not tried again at every file: after a put whose slots were all taken, the
    next put of that pool is not tried, after a second in a row the next two, and so on up to
    SKIP_MAX; a put that finds a slot ends it. A drain of a queue larger than the pool removes
    each file at once, not after three taken names tried, or six (ferry-clean, then a remover);
    while injection takes files out, a free slot is found again within SKIP_MAX files. */
typedef struct skip_s skip ;
struct skip_s
{
  char const *dir ;
  unsigned int left, next ;   /* puts still let go by; how many the next failure lets go by */
} ;
static skip skips[2] = { { .dir = FERRY_POOL_INJECT }, { .dir = FERRY_POOL_PREPARE } } ;

static skip *skip_of (char const *dir)
{
  unsigned int i ;
  for (i = 0 ; i < 2 ; i++) if (!strcmp(dir, skips[i].dir)) return skips + i ;
  return 0 ;
}

 /* 1 when the file went into a slot; 0 when every slot tried was taken, while the pool is let
    go by, or on another failure (a missing pool directory) */
static int slot_put (char const *dir, char const *fn, uint64_t id, unsigned int which)
{
  size_t n = strlen(dir) ;
  char pfn[n + 2 + UINT_FMT] ;
  skip *k = skip_of(dir) ;
  unsigned int i ;
  if (k && k->left) { k->left-- ; return 0 ; }
  memcpy(pfn, dir, n) ;
  pfn[n++] = '/' ;
  for (i = 0 ; i < PROBES ; i++)
  {
    /* the slots tried for one kind all have its parity (FERRY_POOL_SLOTS is even) */
    unsigned int slot = (unsigned int)((id * 4 + which + i * 1022) % FERRY_POOL_SLOTS) ;
    pfn[n + uint_fmt(pfn + n, slot)] = 0 ;
    if (renameat2(AT_FDCWD, fn, AT_FDCWD, pfn, RENAME_NOREPLACE) == 0)
    {
      if (k) k->next = 0 ;
      return 1 ;
    }
    if (errno != EEXIST) return 0 ;
  }
  if (k)
  {
    k->next = !k->next ? 1 : 2 * k->next > SKIP_MAX ? SKIP_MAX : 2 * k->next ;
    k->left = k->next ;
  }
  return 0 ;
}

int ferry_pool_put (char const *dir, char const *fn, uint64_t id, unsigned int which, int light)
{
  struct stat st ;
  if (lstat(fn, &st) < 0) return errno == ENOENT ;
  if (S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_size <= FERRY_POOL_KEEP && slot_put(dir, fn, id, which)) return 1 ;
  /* a removal that frees blocks: the caller may leave it to a process that can wait */
  if (light && ferry_pool_frees(&st)) return -1 ;
  return unlink(fn) == 0 || errno == ENOENT ;
}

int ferry_pool_frees (struct stat const *st)
{
  return S_ISREG(st->st_mode) && st->st_nlink == 1 && st->st_blocks ;
}

void ferry_pool_init (ferry_pool *p, char const *dir, unsigned int mode)
{
  p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  p->mode = mode ;
  p->uid = geteuid() ;
  p->gid = getegid() ;
  p->names[0].len = p->names[1].len = 0 ;
  p->pos[0] = p->pos[1] = 0 ;
  p->emptyat = 0 ;
}

 /* Fills p->names from the directory, the even slots and the odd ones apart: 1 when it found
    some. After a read that found none, the directory is read again only once it has changed
    (its modification time). */
static int pool_read (ferry_pool *p)
{
  struct stat st ;
  uint64_t stamp ;
  int fd ;
  DIR *d ;
  unsigned int n = 0 ;
  p->names[0].len = p->names[1].len = 0 ;
  p->pos[0] = p->pos[1] = 0 ;
  if (fstat(p->dirfd, &st) < 0) return 0 ;
  stamp = (uint64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ;
  if (p->emptyat && stamp == p->emptyat) return 0 ;
  fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  d = fdopendir(fd) ;
  if (!d) { close(fd) ; return 0 ; }
  while (n < READ_MAX)
  {
    struct dirent *e = readdir(d) ;
    size_t len ;
    if (!e) break ;
    if (e->d_name[0] == '.') continue ;
    len = strlen(e->d_name) ;
    /* a name that is no slot number is in one list or the other, and is dealt with there */
    if (!stralloc_catb(&p->names[(e->d_name[len - 1] - '0') & 1], e->d_name, len + 1)) break ;
    n++ ;
  }
  closedir(d) ;
  p->emptyat = n ? 0 : stamp ;
  return n > 0 ;
}

int ferry_pool_take (ferry_pool *p, unsigned int which, char *fn, ferry_pool_name_func *mkname, void *data, uint64_t *ino, uint64_t *size)
{
  int read = 0 ;
  unsigned int k = which & 1 ;
  if (p->dirfd < 0) return -1 ;
  for (;;)
  {
    char const *name ;
    struct stat st ;
    int fd ;
    /* the wanted kind first, then the other; the directory is read at most once a call: names
       that all fail end it */
    if (p->pos[k] >= p->names[k].len && p->pos[!k] >= p->names[!k].len && (read++ || !pool_read(p))) return -1 ;
    if (p->pos[k] >= p->names[k].len) k = !k ;
    name = p->names[k].s + p->pos[k] ;
    p->pos[k] += strlen(name) + 1 ;
    fd = openat(p->dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC) ;
    if (fd < 0)
    {
      /* gone, or something that is not ours to write (a link, a FIFO, a directory): it goes (a
         directory when it is empty) */
      if (errno == EISDIR) unlinkat(p->dirfd, name, AT_REMOVEDIR) ;
      else if (errno != ENOENT) unlinkat(p->dirfd, name, 0) ;
      continue ;
    }
    if (fstat(fd, &st) < 0) { close(fd) ; continue ; }
    /* (O_NONBLOCK stays: it changes nothing for a regular file) */
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != p->uid || st.st_gid != p->gid
     || (st.st_mode & 07777) != p->mode)
    {
      /* not a file this process could have made: it leaves the pool, unread */
      close(fd) ;
      unlinkat(p->dirfd, name, 0) ;
      continue ;
    }
    (*mkname)(fn, (uint64_t)st.st_ino, data) ;
    if (renameat(p->dirfd, name, AT_FDCWD, fn) < 0) { close(fd) ; continue ; }
    *ino = st.st_ino ;
    *size = st.st_size ;
    return fd ;
  }
}

int ferry_pool_end (int fd, uint64_t size, uint64_t len)
{
  return size > len ? ftruncate(fd, (off_t)len) : 0 ;
}
