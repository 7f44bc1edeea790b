/* A resolved local target: packed into frame fields for a worker, and becoming its owner. */

#define _DEFAULT_SOURCE

#include <grp.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#include <ferry/frame.h>

#include "local.h"

int local_target_pack (stralloc *sa, ferry_local_target const *t)
{
  return ferry_field_cat(sa, &t->kind, 1)
      && ferry_field_catu64(sa, t->become)
      && ferry_field_catu64(sa, t->uid)
      && ferry_field_catu64(sa, t->gid)
      && ferry_field_cats(sa, ferry_local_target_str(t, user))
      && ferry_field_cats(sa, ferry_local_target_str(t, home))
      && ferry_field_cats(sa, ferry_local_target_str(t, local))
      && ferry_field_cats(sa, ferry_local_target_str(t, host))
      && ferry_field_cats(sa, ferry_local_target_str(t, ext))
      && stralloc_catb(sa, ferry_local_target_str(t, lines), strlen(ferry_local_target_str(t, lines)) + 1) ;
}

int local_target_unpack (ferry_local_target *t, char const *const *f, unsigned int n)
{
  uint64_t become, uid, gid ;
  size_t off[6] ;
  unsigned int i ;
  if (n != LOCAL_TARGET_FIELDS) return 0 ;
  if ((f[0][0] != 'u' && f[0][0] != 'v') || f[0][1]) return 0 ;
  if (!uint640_scan(f[1], &become) || !uint640_scan(f[2], &uid) || !uint640_scan(f[3], &gid)) return 0 ;
  t->kind = f[0][0] ;
  t->become = !!become ;
  t->uid = uid ;
  t->gid = gid ;
  t->sa.len = 0 ;
  for (i = 0 ; i < 6 ; i++)
  {
    off[i] = t->sa.len ;
    if (!stralloc_catb(&t->sa, f[4 + i], strlen(f[4 + i]) + 1)) return 0 ;
  }
  t->user = off[0] ; t->home = off[1] ; t->local = off[2] ;
  t->host = off[3] ; t->ext = off[4] ; t->lines = off[5] ;
  return 1 ;
}

int local_become (ferry_local_target const *t)
{
  if (!t->become) return 1 ;
  if (!t->uid) return 0 ;
  if (initgroups(ferry_local_target_str(t, user), t->gid) < 0)
  {
    gid_t g = t->gid ;
    if (setgroups(1, &g) < 0) return 0 ;
  }
  if (setgid(t->gid) < 0) return 0 ;
  if (setuid(t->uid) < 0) return 0 ;
  return getuid() == t->uid && geteuid() == t->uid ;
}
